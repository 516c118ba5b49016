using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Airlock.Policy.Loading;

/// <summary>
/// Reads YAML into a <see cref="PolicyNode"/> tree with YamlDotNet's event parser (no object mapping, no
/// reflection). Refuses what a policy never needs and an attacker might use: anchors and aliases (exponential
/// expansion), tags, more than one document, duplicate keys and nesting deeper than
/// <see cref="PolicyLoader.MaxNestingDepth"/>.
/// </summary>
internal sealed class YamlTreeReader
{
    private readonly string _text;
    private readonly Parser _parser;
    private readonly DiagnosticList _diagnostics;
    private bool _reportedDepth;

    private YamlTreeReader(string text, DiagnosticList diagnostics)
    {
        _text = text;
        _parser = new Parser(new StringReader(text));
        _diagnostics = diagnostics;
    }

    private ParsingEvent Current => _parser.Current ?? throw new InvalidOperationException("the YAML parser has no current event");

    /// <summary>Returns the document's root, or null when there is no document or the YAML is malformed.</summary>
    public static PolicyNode? Read(string text, DiagnosticList diagnostics) => new YamlTreeReader(text, diagnostics).ReadStream();

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
            Next(); // DocumentEnd
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
            _diagnostics.Error(ClampLine(ex.Start.Line), ClampColumn(ex.Start.Column), "invalid YAML: " + LowerFirst(ex.Message));
            return null;
        }
    }

    private void Next()
    {
        if (!_parser.MoveNext())
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
            case SequenceStart when depth > PolicyLoader.MaxNestingDepth:
            case MappingStart when depth > PolicyLoader.MaxNestingDepth:
                ReportDepth(line, column);
                SkipCollection();
                return new InvalidNode(line, column);
            case SequenceStart:
                var sequence = new SequenceNode(line, column);
                for (Next(); Current is not SequenceEnd; Next())
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
        for (Next(); Current is not MappingEnd; Next())
        {
            var key = ReadNode(depth + 1);
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

    private void SkipCollection()
    {
        var level = 0;
        while (true)
        {
            if (Current is SequenceStart or MappingStart)
            {
                level++;
            }
            else if (Current is SequenceEnd or MappingEnd)
            {
                level--;
            }

            if (level == 0)
            {
                return;
            }

            Next();
        }
    }

    private void ReportDepth(int line, int column)
    {
        if (!_reportedDepth)
        {
            _reportedDepth = true;
            _diagnostics.Error(line, column, $"the document nests deeper than {PolicyLoader.MaxNestingDepth} levels");
        }
    }

    /// <summary>An unquoted <c>*.example.com</c> is YAML for "the node anchored as <c>.example.com</c>".</summary>
    private static string AliasSuggestion(AnchorAlias alias) =>
        $"if this is a host pattern, quote it: \"*{alias.Value.Value}\"";

    private static string LowerFirst(string message) =>
        message.Length > 0 && char.IsUpper(message[0]) ? char.ToLowerInvariant(message[0]) + message[1..] : message;

    private static int ClampLine(long line) => (int)Math.Clamp(line, 1, int.MaxValue);

    private static int ClampColumn(long column) => (int)Math.Clamp(column, 1, int.MaxValue);
}
