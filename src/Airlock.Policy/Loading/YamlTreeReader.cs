using System.Buffers;
using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Airlock.Policy.Loading;

/// <summary>
/// Reads YAML into a <see cref="PolicyNode"/> tree with YamlDotNet's event parser (no object mapping, no
/// reflection). Refuses what a policy never needs and an attacker might use: control characters, anchors and
/// aliases (exponential expansion), tags, more than one document, duplicate keys, and nesting deeper than
/// <see cref="PolicyLoader.MaxNestingDepth"/> (which stops reading).
/// </summary>
internal sealed class YamlTreeReader
{
    /// <summary>Characters YAML does not allow in a stream (outside c-printable), tab, LF and CR aside.</summary>
    private static readonly SearchValues<char> ForbiddenCharacters = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000B\u000C\u000E\u000F"
        + "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F"
        + "\u007F\u0080\u0081\u0082\u0083\u0084\u0086\u0087\u0088\u0089\u008A\u008B\u008C\u008D\u008E\u008F"
        + "\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009A\u009B\u009C\u009D\u009E\u009F"
        + "\uFFFE\uFFFF");

    private readonly string _text;
    private readonly Parser _parser;
    private readonly DiagnosticList _diagnostics;
    private bool _tooDeep;

    private YamlTreeReader(string text, DiagnosticList diagnostics)
    {
        _text = text;
        _parser = new Parser(new StringReader(text));
        _diagnostics = diagnostics;
    }

    private ParsingEvent Current => _parser.Current ?? throw new InvalidOperationException("the YAML parser has no current event");

    /// <summary>Returns the document's root, or null when there is no document or the YAML is malformed.</summary>
    public static PolicyNode? Read(string text, DiagnosticList diagnostics)
    {
        // YamlDotNet drops some control characters silently (a\u0001b reads as ab); YAML does not allow them.
        var control = text.AsSpan().IndexOfAny(ForbiddenCharacters);
        if (control >= 0)
        {
            var (line, column) = PositionOf(text, control);
            diagnostics.Error(
                line,
                column,
                string.Create(CultureInfo.InvariantCulture, $"the policy contains the control character U+{(int)text[control]:X4}"),
                "remove it; write special characters in double quotes as escapes");
            return null;
        }

        return new YamlTreeReader(text, diagnostics).ReadStream();
    }

    private PolicyNode? ReadStream()
    {
        try
        {
            Next(); // StreamStart
            Next();
            if (Current is not DocumentStart)
            {
                return null;
            }

            Next();
            var root = ReadNode(depth: 1);
            if (_tooDeep)
            {
                return null;
            }

            Next(); // DocumentEnd
            Next();
            if (Current is DocumentStart second)
            {
                _diagnostics.Error(
                    ClampLine(second.Start.Line),
                    ClampColumn(second.Start.Column),
                    "a policy is one YAML document; found a second one",
                    "remove the '---' line and what follows, or put the second policy in its own file");
            }

            return root;
        }
        catch (YamlException ex)
        {
            ReportSyntaxError(ex);
            return null;
        }
    }

    private void Next()
    {
        bool moved;
        try
        {
            moved = _parser.MoveNext();
        }
        catch (InvalidOperationException ex)
        {
            // YamlDotNet 18 throws this rather than a YamlException on some malformed flow collections
            // (": [\ns]"); it is still the input's fault, so it becomes a syntax error after the last good event.
            var at = _parser.Current?.End ?? Mark.Empty;
            throw new YamlException(at, at, "could not read what follows", ex);
        }

        if (!moved)
        {
            throw new InvalidOperationException("the YAML parser ended before the end of the stream");
        }
    }

    /// <summary>Reads the node at the current event and leaves the parser on the node's last event.</summary>
    private PolicyNode ReadNode(int depth)
    {
        var start = Current.Start;
        var (line, column) = (ClampLine(start.Line), ClampColumn(start.Column));
        if (Current is AnchorAlias alias)
        {
            _diagnostics.Error(line, column, "anchors and aliases are not supported", AliasSuggestion(alias));
            return new InvalidNode(line, column);
        }

        if (Current is NodeEvent node)
        {
            if (!node.Anchor.IsEmpty)
            {
                _diagnostics.Error(line, column, "anchors and aliases are not supported", "write the value out in full");
            }

            if (!node.Tag.IsEmpty)
            {
                _diagnostics.Error(line, column, "YAML tags are not supported", "remove the tag; quote the value if it must be a string");
            }
        }

        switch (Current)
        {
            case Scalar scalar:
                return ReadScalar(scalar, line, column);
            case SequenceStart or MappingStart when depth > PolicyLoader.MaxNestingDepth:
                // Stop reading: YamlDotNet's cost grows with the nesting depth, so skipping the rest would let
                // a file of brackets take minutes.
                _tooDeep = true;
                _diagnostics.Error(line, column, $"the document nests deeper than {PolicyLoader.MaxNestingDepth} levels");
                return new InvalidNode(line, column);
            case SequenceStart:
                var sequence = new SequenceNode(line, column);
                for (Next(); !_tooDeep && Current is not SequenceEnd; Next())
                {
                    sequence.Items.Add(ReadNode(depth + 1));
                }

                return sequence;
            case MappingStart:
                return ReadMapping(line, column, depth);
            default:
                throw new InvalidOperationException($"unexpected YAML event {Current.GetType().Name}");
        }
    }

    private MappingNode ReadMapping(int line, int column, int depth)
    {
        var mapping = new MappingNode(line, column);
        for (Next(); !_tooDeep && Current is not MappingEnd; Next())
        {
            var key = ReadNode(depth + 1);
            if (_tooDeep)
            {
                break;
            }

            Next();
            var value = ReadNode(depth + 1);
            if (key is ScalarNode scalarKey)
            {
                if (!mapping.TryAdd(scalarKey, value, out var earlier))
                {
                    _diagnostics.Error(
                        key,
                        $"duplicate key {Text.Quote(scalarKey.Value)} (first at line {earlier!.Line}, column {earlier.Column})",
                        "keep one of them");
                }
            }
            else if (key is not InvalidNode)
            {
                _diagnostics.Error(key, "mapping keys must be strings");
            }
        }

        return mapping;
    }

    private ScalarNode ReadScalar(Scalar scalar, int line, int column)
    {
        var quoted = scalar.Style != ScalarStyle.Plain;
        var startIndex = scalar.Start.Index;
        var length = scalar.End.Index - startIndex;
        var verbatim = false;
        var contentColumn = column;
        if (startIndex >= 0 && length >= 0 && startIndex + length <= _text.Length)
        {
            var source = _text.AsSpan((int)startIndex, (int)length);
            switch (scalar.Style)
            {
                case ScalarStyle.Plain:
                    verbatim = source.SequenceEqual(scalar.Value);
                    break;
                case ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted when source.Length >= 2:
                    verbatim = source[1..^1].SequenceEqual(scalar.Value);
                    contentColumn = column + 1;
                    break;
            }
        }

        return new ScalarNode(line, column, scalar.Value, quoted, contentColumn, verbatim);
    }

    private void ReportSyntaxError(YamlException ex)
    {
        var (line, column) = (ClampLine(ex.Start.Line), ClampColumn(ex.Start.Column));
        var message = "invalid YAML: " + LowerFirst(ex.Message.TrimEnd('.'));
        string? suggestion = null;
        if (ex.Message.Contains("tab", StringComparison.OrdinalIgnoreCase) && FirstIndentingTab(_text) is { } tab)
        {
            // YamlDotNet reports where the enclosing mapping starts; the tab is what the user must fix.
            (line, column) = PositionOf(_text, tab);
            suggestion = "indent with spaces";
        }

        _diagnostics.Error(line, column, message, suggestion);
    }

    /// <summary>The index of the first tab in a line's leading whitespace.</summary>
    private static int? FirstIndentingTab(string text)
    {
        var lineStart = 0;
        while (lineStart < text.Length)
        {
            var i = lineStart;
            while (i < text.Length && text[i] is ' ' or '\t')
            {
                if (text[i] == '\t')
                {
                    return i;
                }

                i++;
            }

            var next = text.IndexOf('\n', i);
            if (next < 0)
            {
                return null;
            }

            lineStart = next + 1;
        }

        return null;
    }

    private static (int Line, int Column) PositionOf(string text, int index)
    {
        var before = text.AsSpan(0, index);
        var lineStart = before.LastIndexOf('\n') + 1;
        return (before.Count('\n') + 1, index - lineStart + 1);
    }

    /// <summary>An unquoted <c>*.example.com</c> is YAML for "the node anchored as <c>.example.com</c>".</summary>
    private static string AliasSuggestion(AnchorAlias alias) =>
        $"if this is a host pattern, quote it: \"*{alias.Value.Value}\"";

    private static string LowerFirst(string message) =>
        message.Length > 0 && char.IsUpper(message[0]) ? char.ToLowerInvariant(message[0]) + message[1..] : message;

    private static int ClampLine(long line) => (int)Math.Clamp(line, 1, int.MaxValue);

    private static int ClampColumn(long column) => (int)Math.Clamp(column, 1, int.MaxValue);
}
