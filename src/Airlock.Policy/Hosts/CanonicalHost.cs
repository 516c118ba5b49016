using System.Net;

namespace Airlock.Policy.Hosts;

/// <summary>What a canonical host is.</summary>
public enum HostKind
{
    /// <summary>A DNS name: lower case, ASCII (punycode), no trailing dot.</summary>
    DomainName,

    /// <summary>An IPv4 address in dotted-quad form (IPv4-mapped IPv6 is canonicalised to this).</summary>
    IPv4,

    /// <summary>An IPv6 address in RFC 5952 compressed form, without brackets.</summary>
    IPv6,
}

/// <summary>
/// A host in its one canonical spelling. Produced only by <see cref="HostCanonicalizer"/>; it is the only
/// form of a host that matching and dialling may use.
/// </summary>
public sealed record CanonicalHost
{
    internal CanonicalHost(string value, HostKind kind, IPAddress? address)
    {
        Value = value;
        Kind = kind;
        Address = address;
    }

    /// <summary>The canonical text (no brackets for IPv6).</summary>
    public string Value { get; }

    /// <summary>Domain name, IPv4 or IPv6.</summary>
    public HostKind Kind { get; }

    /// <summary>The address, for IP literals.</summary>
    public IPAddress? Address { get; }

    /// <summary>Whether the host is an IP literal.</summary>
    public bool IsIPAddress => Kind != HostKind.DomainName;

    /// <summary>The host as it appears in a URL authority (IPv6 in brackets).</summary>
    public string UriHost => Kind == HostKind.IPv6 ? $"[{Value}]" : Value;

    /// <inheritdoc/>
    public override string ToString() => Value;
}
