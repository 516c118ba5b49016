using System.Globalization;
using System.Text;

namespace Airlock.Policy.Hosts;

/// <summary>
/// The checks behind <see cref="HostPattern.TryParse"/> that are about how a pattern is written rather than
/// which host it names: URL parts in a host, wildcard placement, and wildcards too broad to be meant.
/// Messages say what is wrong and what to write instead.
/// </summary>
internal static class HostPatternSyntax
{
    /// <summary>Checks URL parts and wildcard placement; the fixed part is checked by the canonicaliser.</summary>
    /// <param name="text">The pattern as written.</param>
    /// <returns>An error, or <see langword="null"/> when the shape is acceptable.</returns>
    public static string? CheckShape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "host pattern is empty; write a host such as 'api.example.com' or '*.example.com'";
        }

        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            return $"{Quote(text)} has a scheme; write the host only{Suggest(text[(scheme + 3)..])}";
        }

        if (text.Contains('@', StringComparison.Ordinal))
        {
            return $"{Quote(text)} has userinfo ('@'); write the host only{Suggest(text)}";
        }

        if (text.AsSpan().IndexOfAny('/', '?', '#') >= 0)
        {
            return $"{Quote(text)} has a path; write the host only{Suggest(text)} and restrict paths with 'http' rules";
        }

        if (TrySplitPort(text, out var host, out var port))
        {
            return $"{Quote(text)} has a port; write the host only{Suggest(host)} and use 'ports: [{port}]'";
        }

        return CheckWildcards(text);
    }

    /// <summary>Checks that a wildcard's canonical fixed part is narrow enough to be meant.</summary>
    /// <param name="text">The pattern as written.</param>
    /// <param name="fixedPart">The canonical part after the wildcard label.</param>
    /// <returns>An error, or <see langword="null"/>.</returns>
    public static string? CheckWildcardSuffix(string text, CanonicalHost fixedPart)
    {
        var suffix = fixedPart.Value;
        if (fixedPart.IsIPAddress)
        {
            return $"{Quote(text)} puts a wildcard on an IP address; wildcards match domain names only, write the address itself: '{suffix}'";
        }

        var wildcard = text.StartsWith("**.", StringComparison.Ordinal) ? "**" : "*";
        if (!suffix.Contains('.', StringComparison.Ordinal))
        {
            return $"{Quote(text)} matches every name in the top-level domain '{suffix}'; name a domain you mean, such as '{wildcard}.example.{suffix}'";
        }

        var list = PublicSuffixList.Icann;
        if (list.IsPublicSuffix(suffix))
        {
            return $"{Quote(text)} matches every name under the public suffix '{suffix}'; name a domain you mean, such as '{wildcard}.example.{suffix}'";
        }

        if (list.HasPublicSuffixBelow(suffix))
        {
            return $"{Quote(text)} matches public suffixes below '{suffix}' (see the Public Suffix List); name a domain registered under one of them";
        }

        return null;
    }

    /// <summary>Quotes a pattern for a message, escaping control characters so they stay visible.</summary>
    /// <param name="text">Any text.</param>
    public static string Quote(string text)
    {
        var builder = new StringBuilder(text.Length + 2).Append('\'');
        foreach (var c in text)
        {
            if (char.IsControl(c))
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.Append('\'').ToString();
    }

    private static string? CheckWildcards(string text)
    {
        var star = text.IndexOf('*', StringComparison.Ordinal);
        if (star < 0 || text == "**")
        {
            return null;
        }

        if (text == "*")
        {
            return "'*' matches every host; use '**' in a deny or ask rule";
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var first = dot < 0 ? text : text[..dot];
        var rest = dot < 0 ? string.Empty : text[(dot + 1)..];
        if (first is "*" or "**")
        {
            if (rest.Length == 0)
            {
                return $"{Quote(text)} has nothing after the wildcard; write a domain after it, such as '{first}.example.com'";
            }

            if (rest.Contains('*', StringComparison.Ordinal))
            {
                return $"{Quote(text)} has a wildcard after the first label; only the first label may be '*' or '**'";
            }

            return null;
        }

        if (star < first.Length)
        {
            return $"{Quote(text)} has '*' inside a label; a wildcard must be a whole first label, as in '*.example.com' (one label) or '**.example.com' (any depth)";
        }

        return $"{Quote(text)} has a wildcard after the first label; only the first label may be '*' or '**'";
    }

    // "host:port" and "[v6]:port" with a decimal port. Bare IPv6 has several colons and is not split.
    private static bool TrySplitPort(string text, out string host, out string port)
    {
        host = text;
        port = string.Empty;
        int colon;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf("]:", StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }

            colon = close + 1;
        }
        else
        {
            colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || colon != text.LastIndexOf(':'))
            {
                return false;
            }
        }

        var digits = text.AsSpan(colon + 1);
        if (digits.IsEmpty || digits.Length > 5 || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            return false;
        }

        host = text[..colon];
        port = digits.ToString();
        return true;
    }

    // Reduces a URL-ish string to its host and suggests it when that is a valid pattern.
    private static string Suggest(string candidate)
    {
        var end = candidate.AsSpan().IndexOfAny('/', '?', '#');
        if (end >= 0)
        {
            candidate = candidate[..end];
        }

        var at = candidate.LastIndexOf('@');
        if (at >= 0)
        {
            candidate = candidate[(at + 1)..];
        }

        if (TrySplitPort(candidate, out var host, out _))
        {
            candidate = host;
        }

        return candidate.Length > 0 && HostPattern.TryParse(candidate, out _, out _) ? $": '{candidate}'" : string.Empty;
    }
}
