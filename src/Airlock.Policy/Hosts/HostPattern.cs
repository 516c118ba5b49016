using System.Buffers;
using System.Diagnostics.CodeAnalysis;

namespace Airlock.Policy.Hosts;

/// <summary>The shape of a host pattern.</summary>
public enum HostPatternKind
{
    /// <summary><c>example.com</c> or an IP literal: that host only.</summary>
    Exact,

    /// <summary><c>*.example.com</c>: exactly one extra label.</summary>
    OneLabel,

    /// <summary><c>**.example.com</c>: one or more extra labels.</summary>
    AnyDepth,

    /// <summary><c>**</c>: every domain name (never IP literals).</summary>
    Any,
}

/// <summary>A validated host pattern. Wildcards never match the apex and never match IP literals.</summary>
public sealed record HostPattern
{
    internal HostPattern(HostPatternKind kind, string suffix, string text)
    {
        Kind = kind;
        Suffix = suffix;
        Text = text;
    }

    /// <summary>The pattern's shape.</summary>
    public HostPatternKind Kind { get; }

    /// <summary>The canonical fixed part: the host for <see cref="HostPatternKind.Exact"/>, the suffix after the wildcard otherwise, empty for <see cref="HostPatternKind.Any"/>.</summary>
    public string Suffix { get; }

    /// <summary>The pattern as written.</summary>
    public string Text { get; }

    /// <summary>Parses and validates a pattern.</summary>
    /// <param name="text">The pattern as written in a policy.</param>
    /// <param name="pattern">The pattern on success.</param>
    /// <param name="error">What is wrong and, where obvious, what to write instead.</param>
    public static bool TryParse(string text, [NotNullWhen(true)] out HostPattern? pattern, [NotNullWhen(false)] out string? error)
    {
        pattern = null;
        error = HostPatternSyntax.CheckShape(text);
        if (error is not null)
        {
            return false;
        }

        if (text == "**")
        {
            pattern = new HostPattern(HostPatternKind.Any, string.Empty, text);
            return true;
        }

        var (kind, fixedPart) = text.StartsWith("**.", StringComparison.Ordinal) ? (HostPatternKind.AnyDepth, text[3..])
            : text.StartsWith("*.", StringComparison.Ordinal) ? (HostPatternKind.OneLabel, text[2..])
            : (HostPatternKind.Exact, text);

        if (!HostCanonicalizer.TryCanonicalize(fixedPart, out var host, out var hostError))
        {
            error = $"{HostPatternSyntax.Quote(text)}: {hostError}";
            return false;
        }

        if (kind != HostPatternKind.Exact)
        {
            error = HostPatternSyntax.CheckWildcardSuffix(text, host);
            if (error is not null)
            {
                return false;
            }
        }

        pattern = new HostPattern(kind, host.Value, text);
        return true;
    }

    /// <summary>Whether the pattern matches a canonical host (the reference semantics; the engine compiles the same).</summary>
    /// <param name="host">A canonical host.</param>
    public bool Matches(CanonicalHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return Kind switch
        {
            HostPatternKind.Exact => string.Equals(host.Value, Suffix, StringComparison.Ordinal),
            HostPatternKind.Any => host.Kind == HostKind.DomainName,
            _ => host.Kind == HostKind.DomainName && IsBelow(host.Value, Suffix, oneLabel: Kind == HostPatternKind.OneLabel),
        };
    }

    /// <summary>Whether every host this pattern's <paramref name="other"/> matches is also matched by this one.</summary>
    /// <param name="other">Another pattern.</param>
    public bool Covers(HostPattern other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return (Kind, other.Kind) switch
        {
            (HostPatternKind.Exact, HostPatternKind.Exact) => string.Equals(Suffix, other.Suffix, StringComparison.Ordinal),
            (HostPatternKind.Exact, _) => false,
            (HostPatternKind.Any, HostPatternKind.Exact) => !other.IsIPLiteral,
            (HostPatternKind.Any, _) => true,
            (_, HostPatternKind.Any) => false,
            (HostPatternKind.OneLabel, HostPatternKind.Exact) => !other.IsIPLiteral && IsBelow(other.Suffix, Suffix, oneLabel: true),
            (HostPatternKind.OneLabel, HostPatternKind.OneLabel) => string.Equals(Suffix, other.Suffix, StringComparison.Ordinal),
            (HostPatternKind.OneLabel, _) => false,
            (HostPatternKind.AnyDepth, HostPatternKind.Exact) => !other.IsIPLiteral && IsBelow(other.Suffix, Suffix, oneLabel: false),
            (HostPatternKind.AnyDepth, _) => string.Equals(Suffix, other.Suffix, StringComparison.Ordinal) || IsBelow(other.Suffix, Suffix, oneLabel: false),
            _ => false,
        };
    }

    // Canonical IPv4 is digits and dots only, canonical IPv6 has ':'; no canonical domain name is either,
    // because a name whose last label is a number must be an IPv4 address.
    private bool IsIPLiteral => Kind == HostPatternKind.Exact && (Suffix.Contains(':', StringComparison.Ordinal) || !Suffix.AsSpan().ContainsAnyExcept(IPv4Characters));

    private static readonly SearchValues<char> IPv4Characters = SearchValues.Create("0123456789.");

    // Whether name is suffix plus at least one label ("x.suffix"), or exactly one label when oneLabel is set.
    // The '.' check before the suffix is the label boundary: "evilexample.com" is not below "example.com".
    private static bool IsBelow(string name, string suffix, bool oneLabel)
    {
        var prefixLength = name.Length - suffix.Length - 1;
        if (prefixLength < 1 || name[prefixLength] != '.' || !name.AsSpan(prefixLength + 1).SequenceEqual(suffix))
        {
            return false;
        }

        return !oneLabel || name.AsSpan(0, prefixLength).IndexOf('.') < 0;
    }

    /// <inheritdoc/>
    public override string ToString() => Text;
}
