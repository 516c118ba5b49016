using System.Collections.Immutable;
using Airlock.Policy.Addresses;

namespace Airlock.Policy.Model;

/// <summary>
/// A loaded, validated policy. Immutable: hot reload swaps the whole instance.
/// </summary>
public sealed record EgressPolicy
{
    /// <summary>The policy language version; always 1.</summary>
    public int Version { get; init; } = 1;

    /// <summary>Optional human name of the policy.</summary>
    public string? Name { get; init; }

    /// <summary>Enforce or audit.</summary>
    public PolicyMode Mode { get; init; } = PolicyMode.Enforce;

    /// <summary>The action for destinations no rule matched.</summary>
    public DefaultAction Default { get; init; } = DefaultAction.Deny;

    /// <summary>The TLS mode of rules that do not set one.</summary>
    public TlsMode Tls { get; init; } = TlsMode.Inspect;

    /// <summary>The egress rules in source order; <see cref="EgressRule.Index"/> is the position here.</summary>
    public ImmutableArray<EgressRule> Egress { get; init; } = [];

    /// <summary>Exceptions to, and additions to, the built-in address block list.</summary>
    public AddressPolicy Addresses { get; init; } = AddressPolicy.Empty;

    /// <summary>File system view for the local sandbox driver.</summary>
    public FilesystemPolicy Filesystem { get; init; } = FilesystemPolicy.Empty;

    /// <summary>Patterns whose matches are replaced by <c>[REDACTED]</c> in logged values.</summary>
    public ImmutableArray<string> Redact { get; init; } = [];

    /// <summary>Where the policy was loaded from (a file name or a label).</summary>
    public string Source { get; init; } = "<inline>";

    /// <summary>An empty deny-everything policy.</summary>
    public static EgressPolicy DenyAll { get; } = new();
}
