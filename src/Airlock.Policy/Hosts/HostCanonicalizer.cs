using System.Diagnostics.CodeAnalysis;

namespace Airlock.Policy.Hosts;

/// <summary>Turns any spelling of a host into its canonical form, or says why it is malformed.</summary>
public static class HostCanonicalizer
{
    /// <summary>Canonicalises <paramref name="input"/> (a bare host; IPv6 may be bracketed).</summary>
    /// <param name="input">The host as received.</param>
    /// <param name="host">The canonical host on success.</param>
    /// <param name="error">A user-readable reason on failure.</param>
    public static bool TryCanonicalize(ReadOnlySpan<char> input, [NotNullWhen(true)] out CanonicalHost? host, [NotNullWhen(false)] out string? error)
    {
        throw new NotImplementedException();
    }
}
