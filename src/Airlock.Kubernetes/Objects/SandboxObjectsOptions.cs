using System.Collections.Immutable;

namespace Airlock.Kubernetes.Objects;

/// <summary>Server-wide settings of the object builder (not per session).</summary>
public sealed record SandboxObjectsOptions
{
    /// <summary>The defaults: overrides allowed, kube-dns in kube-system.</summary>
    public static SandboxObjectsOptions Default { get; } = new();

    /// <summary>Whether a session may replace the template's NetworkPolicy settings; when false, an override is an error.</summary>
    public bool AllowNetworkPolicyOverride { get; init; } = true;

    /// <summary>The cluster's DNS pods (CoreDNS keeps the <c>k8s-app: kube-dns</c> label).</summary>
    public PeerSelector ClusterDns { get; init; } = new(
        "kube-system", ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create("k8s-app", "kube-dns")]));
}
