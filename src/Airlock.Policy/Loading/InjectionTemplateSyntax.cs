using System.Buffers;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Airlock.Policy.Model;

namespace Airlock.Policy.Loading;

/// <summary>
/// Header value templates: literal text with <c>{{secret:NAME}}</c> placeholders, NAME being
/// <c>[A-Za-z_][A-Za-z0-9_]*</c>. Anything else between <c>{{</c> and <c>}}</c> is an error rather than
/// literal text, so a typo never sends a placeholder upstream in place of a secret.
/// </summary>
internal static class InjectionTemplateSyntax
{
    private const string SecretPrefix = "secret:";

    private static readonly SearchValues<char> ControlCharacters = SearchValues.Create(
        "\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000B\u000C\u000E\u000F"
        + "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\u007F");
    private const string Hint = "write '{{secret:NAME}}'";

    public static bool TryParse(string text, [NotNullWhen(true)] out InjectionTemplate? template, [NotNullWhen(false)] out SyntaxError? error)
    {
        template = null;
        var forbidden = text.AsSpan().IndexOfAny('\r', '\n', '\0');
        if (forbidden >= 0)
        {
            error = new SyntaxError("header values cannot contain CR, LF or NUL", Index: forbidden);
            return false;
        }

        // RFC 9110 §5.5: a field value is visible characters, spaces and tabs.
        var control = text.AsSpan().IndexOfAny(ControlCharacters);
        if (control >= 0)
        {
            error = new SyntaxError(
                string.Create(CultureInfo.InvariantCulture, $"header values cannot contain control characters (U+{(int)text[control]:X4})"),
                Index: control);
            return false;
        }

        var parts = ImmutableArray.CreateBuilder<TemplatePart>();
        var literal = new StringBuilder();
        var position = 0;
        while (position < text.Length)
        {
            var open = text.IndexOf("{{", position, StringComparison.Ordinal);
            var stray = text.IndexOf("}}", position, StringComparison.Ordinal);
            if (stray >= 0 && (open < 0 || stray < open))
            {
                error = new SyntaxError("malformed placeholder: '}}' without a matching '{{'", Hint, stray);
                return false;
            }

            if (open < 0)
            {
                literal.Append(text, position, text.Length - position);
                break;
            }

            literal.Append(text, position, open - position);
            var close = text.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                error = new SyntaxError("malformed placeholder: '{{' is not closed by '}}'", Hint, open);
                return false;
            }

            var placeholder = text[open..(close + 2)];
            var inner = text[(open + 2)..close];
            if (!TryParseSecretName(inner, placeholder, open, out var name, out error))
            {
                return false;
            }

            if (literal.Length > 0)
            {
                parts.Add(new TemplatePart(literal.ToString(), IsSecret: false));
                literal.Clear();
            }

            parts.Add(new TemplatePart(name, IsSecret: true));
            position = close + 2;
        }

        if (literal.Length > 0)
        {
            parts.Add(new TemplatePart(literal.ToString(), IsSecret: false));
        }

        template = new InjectionTemplate { Parts = parts.ToImmutable(), Text = text };
        error = null;
        return true;
    }

    private static bool TryParseSecretName(
        string inner,
        string placeholder,
        int index,
        [NotNullWhen(true)] out string? name,
        [NotNullWhen(false)] out SyntaxError? error)
    {
        name = null;
        if (!inner.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            var trimmed = inner.Trim();
            if (trimmed.StartsWith(SecretPrefix, StringComparison.Ordinal) && IsSecretName(trimmed[SecretPrefix.Length..].Trim()))
            {
                error = new SyntaxError(
                    $"malformed placeholder {Text.Quote(placeholder)}",
                    $"did you mean '{{{{secret:{trimmed[SecretPrefix.Length..].Trim()}}}}}'?",
                    index);
            }
            else if (trimmed.Length == 0)
            {
                error = new SyntaxError($"malformed placeholder {Text.Quote(placeholder)}: it names no secret", Hint, index);
            }
            else
            {
                error = new SyntaxError($"unknown placeholder {Text.Quote(placeholder)}", "only {{secret:NAME}} is supported", index);
            }

            return false;
        }

        var candidate = inner[SecretPrefix.Length..];
        if (candidate.Length == 0)
        {
            error = new SyntaxError($"malformed placeholder {Text.Quote(placeholder)}: the secret name is empty", Hint, index);
            return false;
        }

        if (!IsSecretName(candidate))
        {
            error = new SyntaxError(
                $"malformed placeholder {Text.Quote(placeholder)}: a secret name is letters, digits and '_', not starting with a digit",
                Index: index);
            return false;
        }

        name = candidate;
        error = null;
        return true;
    }

    private static bool IsSecretName(string name) =>
        name.Length > 0
        && (char.IsAsciiLetter(name[0]) || name[0] == '_')
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
