using System.Text;
using System.Text.Json;

namespace Airlock.Policy.Loading;

/// <summary>
/// Reads JSON into a <see cref="PolicyNode"/> tree with <see cref="Utf8JsonReader"/> (no reflection), computing
/// 1-based line and column from byte offsets. Duplicate keys are errors; nesting deeper than
/// <see cref="PolicyLoader.MaxNestingDepth"/> is an error that stops reading.
/// </summary>
internal ref struct JsonTreeReader
{
    private readonly DiagnosticList _diagnostics;
    private Utf8JsonReader _reader;
    private Utf8PositionTracker _positions;
    private bool _tooDeep;

    private JsonTreeReader(ReadOnlySpan<byte> utf8, DiagnosticList diagnostics)
    {
        _diagnostics = diagnostics;
        // Depth is bounded below with a readable error; the reader itself must not stop first.
        _reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = int.MaxValue });
        _positions = new Utf8PositionTracker(utf8);
    }

    /// <summary>Returns the document's root, or null when the JSON is malformed.</summary>
    /// <param name="utf8">The JSON text, valid UTF-8 with at least one non-whitespace character.</param>
    /// <param name="diagnostics">Where errors go.</param>
    public static PolicyNode? Read(ReadOnlySpan<byte> utf8, DiagnosticList diagnostics)
    {
        var reader = new JsonTreeReader(utf8, diagnostics);
        return reader.ReadDocument();
    }

    private PolicyNode? ReadDocument()
    {
        try
        {
            _reader.Read();
            var root = ReadValue(depth: 1);
            if (_tooDeep)
            {
                return null;
            }

            // Throws on anything but whitespace after the value.
            _reader.Read();
            return root;
        }
        catch (JsonException ex)
        {
            var (line, column) = _positions.PositionOfLineByte(ex.LineNumber ?? 0, ex.BytePositionInLine ?? 0);
            _diagnostics.Error(line, column, "invalid JSON: " + WithoutPosition(ex.Message));
            return null;
        }
    }

    /// <summary>Reads the value at the current token and leaves the reader on its last token.</summary>
    private PolicyNode ReadValue(int depth)
    {
        var (line, column) = _positions.PositionOf(_reader.TokenStartIndex);
        switch (_reader.TokenType)
        {
            case JsonTokenType.StartObject or JsonTokenType.StartArray when depth > PolicyLoader.MaxNestingDepth:
                // Stop reading, as the YAML reader does: nothing after this is worth reporting.
                _tooDeep = true;
                _diagnostics.Error(line, column, $"the document nests deeper than {PolicyLoader.MaxNestingDepth} levels");
                return new InvalidNode(line, column);
            case JsonTokenType.StartObject:
                return ReadObject(line, column, depth);
            case JsonTokenType.StartArray:
                var sequence = new SequenceNode(line, column);
                while (!_tooDeep && _reader.Read() && _reader.TokenType != JsonTokenType.EndArray)
                {
                    sequence.Items.Add(ReadValue(depth + 1));
                }

                return sequence;
            case JsonTokenType.String:
                return ReadString(line, column);
            case JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null:
                var raw = Encoding.UTF8.GetString(_reader.ValueSpan);
                return new ScalarNode(line, column, raw, quoted: false, column, verbatim: true);
            default:
                throw new InvalidOperationException($"unexpected JSON token {_reader.TokenType}");
        }
    }

    private MappingNode ReadObject(int line, int column, int depth)
    {
        var mapping = new MappingNode(line, column);
        while (!_tooDeep && _reader.Read() && _reader.TokenType != JsonTokenType.EndObject)
        {
            var (keyLine, keyColumn) = _positions.PositionOf(_reader.TokenStartIndex);
            var key = ReadString(keyLine, keyColumn);
            _reader.Read();
            var value = ReadValue(depth + 1);
            if (!mapping.TryAdd(key, value, out var earlier))
            {
                _diagnostics.Error(
                    key,
                    $"duplicate key {Text.Quote(key.Value)} (first at line {earlier!.Line}, column {earlier.Column})",
                    "keep one of them");
            }
        }

        return mapping;
    }

    private ScalarNode ReadString(int line, int column) =>
        new(line, column, _reader.GetString() ?? string.Empty, quoted: true, column + 1, verbatim: !_reader.ValueIsEscaped);

    /// <summary>Drops the " LineNumber: 0 | BytePositionInLine: 3." the reader appends; the diagnostic has the position.</summary>
    private static string WithoutPosition(string message)
    {
        var at = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (at < 0 ? message : message[..at]).TrimEnd('.');
    }
}

/// <summary>
/// Turns increasing byte offsets into 1-based line and UTF-16 column, scanning each byte once, so a
/// 16 MiB one-line JSON file costs linear time.
/// </summary>
internal ref struct Utf8PositionTracker(ReadOnlySpan<byte> utf8)
{
    private readonly ReadOnlySpan<byte> _utf8 = utf8;
    private int _offset;
    private int _line = 1;
    private int _column = 1;
    private int _lineStart;

    /// <summary>The position of <paramref name="offset"/>; offsets must not decrease between calls.</summary>
    public (int Line, int Column) PositionOf(long offset)
    {
        var target = (int)Math.Clamp(offset, _offset, _utf8.Length);
        for (; _offset < target; _offset++)
        {
            var b = _utf8[_offset];
            if (b == (byte)'\n')
            {
                _line++;
                _column = 1;
                _lineStart = _offset + 1;
            }
            else if ((b & 0xC0) != 0x80)
            {
                // A lead byte starts a character; four-byte sequences are surrogate pairs in UTF-16.
                _column += b >= 0xF0 ? 2 : 1;
            }
        }

        return (_line, _column);
    }

    /// <summary>The position of a 0-based line and byte-in-line, as <see cref="JsonException"/> reports them.</summary>
    public (int Line, int Column) PositionOfLineByte(long zeroBasedLine, long byteInLine)
    {
        while (_line <= zeroBasedLine && _offset < _utf8.Length)
        {
            var next = _utf8[_offset..].IndexOf((byte)'\n');
            if (next < 0)
            {
                break;
            }

            PositionOf(_offset + next + 1);
        }

        return PositionOf(_lineStart + byteInLine);
    }
}
