using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Airlock.Kubernetes.Objects;

/// <summary>
/// Objects as multi-document YAML (<c>---</c> between documents) for review and GitOps. Written from the JSON
/// trees of <see cref="ManifestJson"/> by a small emitter: block style, strings quoted whenever plain YAML could
/// read them as anything but the same string, multi-line strings (scripts) as literal blocks.
/// </summary>
public static class ManifestYaml
{
    /// <summary>Every object, one YAML document each, in the given order.</summary>
    public static string Write(IEnumerable<IKubernetesObject<V1ObjectMeta>> objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        var builder = new StringBuilder();
        foreach (var value in objects)
        {
            builder.Append("---\n");
            WriteMapping(builder, ManifestJson.ToJson(value), 0);
        }

        return builder.ToString();
    }

    private static void WriteMapping(StringBuilder builder, JsonObject mapping, int indent, bool firstInline = false)
    {
        var first = true;
        foreach (var (key, node) in mapping)
        {
            if (!(first && firstInline))
            {
                builder.Append(' ', indent);
            }

            first = false;
            builder.Append(Scalar(key, indent)).Append(':');
            WriteValue(builder, node, indent);
        }
    }

    private static void WriteValue(StringBuilder builder, JsonNode? node, int indent)
    {
        switch (node)
        {
            case JsonObject { Count: 0 }:
                builder.Append(" {}\n");
                break;
            case JsonObject mapping:
                builder.Append('\n');
                WriteMapping(builder, mapping, indent + 2);
                break;
            case JsonArray { Count: 0 }:
                builder.Append(" []\n");
                break;
            case JsonArray sequence:
                builder.Append('\n');
                WriteSequence(builder, sequence, indent);
                break;
            default:
                builder.Append(' ').Append(ScalarValue(node, indent)).Append('\n');
                break;
        }
    }

    private static void WriteSequence(StringBuilder builder, JsonArray sequence, int indent)
    {
        foreach (var item in sequence)
        {
            builder.Append(' ', indent).Append("- ");
            switch (item)
            {
                case JsonObject { Count: > 0 } mapping:
                    WriteMapping(builder, mapping, indent + 2, firstInline: true);
                    break;
                case JsonArray { Count: > 0 } inner:
                    builder.Append('\n');
                    WriteSequence(builder, inner, indent + 2);
                    break;
                case JsonObject:
                    builder.Append("{}\n");
                    break;
                case JsonArray:
                    builder.Append("[]\n");
                    break;
                default:
                    builder.Append(ScalarValue(item, indent + 2)).Append('\n');
                    break;
            }
        }
    }

    private static string ScalarValue(JsonNode? node, int indent)
    {
        if (node is null)
        {
            return "null";
        }

        return node.GetValueKind() switch
        {
            JsonValueKind.String => Scalar(node.GetValue<string>(), indent),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            JsonValueKind.Number => node.ToJsonString(),
            _ => "null",
        };
    }

    private static string Scalar(string text, int indent)
    {
        if (IsPlain(text))
        {
            return text;
        }

        if (IsLiteralBlock(text))
        {
            var body = text.EndsWith('\n') ? text[..^1] : text;
            var block = new StringBuilder(text.EndsWith('\n') ? "|" : "|-");
            foreach (var line in body.Split('\n'))
            {
                block.Append('\n');
                if (line.Length > 0)
                {
                    block.Append(' ', indent + 2).Append(line);
                }
            }

            return block.ToString();
        }

        return Quoted(text);
    }

    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "true", "false", "yes", "no", "y", "n", "on", "off", "null", "~",
    };

    private static bool IsPlain(string text)
    {
        if (text.Length == 0 || !char.IsAsciiLetter(text[0]) && text[0] != '/' || Reserved.Contains(text))
        {
            return false;
        }

        if (text.Contains(": ", StringComparison.Ordinal) || text.Contains(" #", StringComparison.Ordinal) || text[^1] is ':' or ' ')
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is ' ' or '/' or '.' or '_' or ':' or '=' or ',' or '@' or '+' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsLiteralBlock(string text)
    {
        if (!text.Contains('\n', StringComparison.Ordinal) || text.StartsWith(' ') || text.StartsWith('\n') || text.EndsWith("\n\n", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var line in text.TrimEnd('\n').Split('\n'))
        {
            if (line.EndsWith(' ') || line.Contains('\t', StringComparison.Ordinal) || line.Contains('\r', StringComparison.Ordinal)
                || line.Any(c => char.IsControl(c)))
            {
                return false;
            }
        }

        return true;
    }

    private static string Quoted(string text)
    {
        var builder = new StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"':
                    builder.Append("\\\"");
                    break;
                case '\\':
                    builder.Append("\\\\");
                    break;
                case '\n':
                    builder.Append("\\n");
                    break;
                case '\t':
                    builder.Append("\\t");
                    break;
                default:
                    if (char.IsControl(c) || c is '\u2028' or '\u2029' or '\uFEFF')
                    {
                        builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        return builder.Append('"').ToString();
    }
}
