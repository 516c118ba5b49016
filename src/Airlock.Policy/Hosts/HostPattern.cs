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
        throw new NotImplementedException();
    }

    /// <summary>Whether the pattern matches a canonical host (the reference semantics; the engine compiles the same).</summary>
    /// <param name="host">A canonical host.</param>
    public bool Matches(CanonicalHost host)
    {
        throw new NotImplementedException();
    }

    /// <summary>Whether every host this pattern's <paramref name="other"/> matches is also matched by this one.</summary>
    /// <param name="other">Another pattern.</param>
    public bool Covers(HostPattern other)
    {
        throw new NotImplementedException();
    }

    /// <inheritdoc/>
    public override string ToString() => Text;
}
