using System.Collections.Immutable;
using Airlock.Policy.Hosts;

namespace Airlock.Policy.Model;

/// <summary>One entry of a policy's <c>egress</c> list.</summary>
public sealed record EgressRule
{
    /// <summary>0-based position in the policy's <c>egress</c> list.</summary>
    public required int Index { get; init; }

    /// <summary>Allow, deny or ask.</summary>
    public required RuleKind Kind { get; init; }

    /// <summary>Optional name shown in events and denials.</summary>
    public string? Name { get; init; }

    /// <summary>The destination host pattern.</summary>
    public required HostPattern Host { get; init; }

    /// <summary>
    /// Ports the rule applies to. Allow rules default to 80 and 443; deny and ask rules default to every port.
    /// </summary>
    public required PortSet Ports { get; init; }

    /// <summary>HTTP (the default) or opaque TCP.</summary>
    public RuleProtocol Protocol { get; init; } = RuleProtocol.Http;

    /// <summary>The rule's TLS mode (the policy's <c>tls</c> when the rule does not set one).</summary>
    public TlsMode Tls { get; init; } = TlsMode.Inspect;

    /// <summary>L7 rules; when non-empty, each request must match one of them.</summary>
    public ImmutableArray<HttpRule> Http { get; init; } = [];

    /// <summary>Headers the proxy sets on every request that this rule allowed.</summary>
    public ImmutableArray<HeaderInjection> Inject { get; init; } = [];

    /// <summary>For ask rules: how long to wait for the control plane before denying.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Where the rule starts in the policy source, when loaded from text.</summary>
    public SourceLocation? Location { get; init; }

    /// <summary>The kind as written in policies and events: <c>allow</c>, <c>deny</c> or <c>ask</c>.</summary>
    public string KindName => Kind switch
    {
        RuleKind.Allow => "allow",
        RuleKind.Deny => "deny",
        _ => "ask",
    };
}
