using System.Collections.Immutable;
using k8s.Models;

namespace Airlock.Kubernetes.Objects;

/// <summary>How a sandbox's egress is forced through its proxy.</summary>
public enum SandboxTopology
{
    /// <summary>
    /// The proxy runs in the sandbox's own pod as a native sidecar; an init container with NET_ADMIN installs
    /// nftables rules that redirect every TCP connection of the workload to it (transparent mode).
    /// </summary>
    Sidecar,

    /// <summary>
    /// The proxy runs in a paired pod of its own; NetworkPolicies let the workload reach nothing but that pod,
    /// and the workload uses it as an explicit proxy. Needs no capability, but needs an enforcing CNI.
    /// </summary>
    ProxyPod,
}

/// <summary>What runs the workload.</summary>
public enum WorkloadKind
{
    /// <summary>A plain <c>v1</c> Pod.</summary>
    Pod,

    /// <summary>An agent-sandbox <c>agents.x-k8s.io/v1beta1</c> <c>Sandbox</c>.</summary>
    Sandbox,

    /// <summary>An agent-sandbox <c>extensions.agents.x-k8s.io/v1beta1</c> <c>SandboxClaim</c> against a warm pool.</summary>
    Claim,
}

/// <summary>How much NetworkPolicy Airlock writes for a sandbox.</summary>
public enum NetworkMode
{
    /// <summary>No NetworkPolicy at all (only allowed where the topology does not rely on one).</summary>
    None,

    /// <summary>Deny everything except what the topology needs (the default).</summary>
    Restricted,

    /// <summary><see cref="Restricted"/> plus the raw ingress and egress rules given in the settings.</summary>
    Custom,
}

/// <summary>Pods allowed to connect to a sandbox (a control plane, a router): a pod selector in a namespace.</summary>
/// <param name="Namespace">The namespace of those pods, matched through <c>kubernetes.io/metadata.name</c>.</param>
/// <param name="PodLabels">The labels those pods carry (all must match).</param>
public sealed record PeerSelector(string Namespace, ImmutableSortedDictionary<string, string> PodLabels);

/// <summary>The NetworkPolicy settings of a sandbox template or of one session (which replaces, never merges with, the template's).</summary>
public sealed record NetworkPolicySettings
{
    /// <summary>The restricted default: DNS allowed, no extra ingress.</summary>
    public static NetworkPolicySettings Default { get; } = new();

    /// <summary>How much policy to write.</summary>
    public NetworkMode Mode { get; init; } = NetworkMode.Restricted;

    /// <summary>Whether the workload may query the cluster's DNS resolver (kube-dns / CoreDNS).</summary>
    public bool Dns { get; init; } = true;

    /// <summary>Pods (a control plane, a router) allowed to connect to the workload and its proxy; empty: none.</summary>
    public ImmutableArray<PeerSelector> IngressFrom { get; init; } = [];

    /// <summary>Extra ingress rules of the workload's policy (<see cref="NetworkMode.Custom"/> only).</summary>
    public ImmutableArray<V1NetworkPolicyIngressRule> CustomIngress { get; init; } = [];

    /// <summary>Extra egress rules of the workload's policy (<see cref="NetworkMode.Custom"/> only).</summary>
    public ImmutableArray<V1NetworkPolicyEgressRule> CustomEgress { get; init; } = [];
}

/// <summary>CPU and memory of one container (Kubernetes quantities such as <c>250m</c>, <c>512Mi</c>).</summary>
/// <param name="CpuRequest">The CPU request.</param>
/// <param name="MemoryRequest">The memory request.</param>
/// <param name="CpuLimit">The CPU limit.</param>
/// <param name="MemoryLimit">The memory limit.</param>
public sealed record ContainerResources(string CpuRequest, string MemoryRequest, string CpuLimit, string MemoryLimit)
{
    /// <summary>The workload's defaults: 250m / 512Mi requested, 2 CPUs / 4Gi at most.</summary>
    public static ContainerResources WorkloadDefault { get; } = new("250m", "512Mi", "2", "4Gi");

    /// <summary>The proxy's defaults: 50m / 64Mi requested, 1 CPU / 256Mi at most.</summary>
    public static ContainerResources ProxyDefault { get; } = new("50m", "64Mi", "1", "256Mi");

    /// <summary>Small helpers (init containers): 10m / 16Mi requested, 100m / 64Mi at most.</summary>
    public static ContainerResources HelperDefault { get; } = new("10m", "16Mi", "100m", "64Mi");
}

/// <summary>Size limits of the writable emptyDir volumes of the workload (the root filesystem is read-only).</summary>
/// <param name="Workspace">Size of <c>/workspace</c>.</param>
/// <param name="Home">Size of the home directory.</param>
/// <param name="Cache">Size of <c>~/.cache</c>.</param>
/// <param name="Tmp">Size of <c>/tmp</c>.</param>
public sealed record VolumeSizes(string Workspace, string Home, string Cache, string Tmp)
{
    /// <summary>8Gi workspace, 1Gi home, 2Gi cache, 1Gi tmp.</summary>
    public static VolumeSizes Default { get; } = new("8Gi", "1Gi", "2Gi", "1Gi");
}

/// <summary>
/// Everything that describes one sandbox on Kubernetes: the input of <see cref="SandboxObjects.Build"/>.
/// Immutable; the builder is a pure function of it and the session's CA.
/// </summary>
public sealed record KubernetesSandboxSpec
{
    /// <summary>The proxy image used when none is given.</summary>
    public const string DefaultProxyImage = "ghcr.io/airlock-dev/airlock:latest";

    /// <summary>The session id: a valid label value (at most 63 characters of letters, digits, '-', '_', '.').</summary>
    public required string SessionId { get; init; }

    /// <summary>The namespace every object is created in.</summary>
    public required string Namespace { get; init; }

    /// <summary>The policy text (YAML or JSON), already validated by the caller; handed to the proxy only.</summary>
    public required string PolicyText { get; init; }

    /// <summary>The workload's image.</summary>
    public required string Image { get; init; }

    /// <summary>The proxy's image: carries <c>airlock</c>, <c>nft</c>, a static <c>tini</c> and a system CA bundle.</summary>
    public string ProxyImage { get; init; } = DefaultProxyImage;

    /// <summary>
    /// The workload's command. Empty: a keepalive (<c>tini -s -- sleep infinity</c>, with the static tini copied in
    /// from the proxy image) so commands can be exec'd into a long-lived sandbox.
    /// </summary>
    public ImmutableArray<string> Command { get; init; } = [];

    /// <summary>Extra environment of the workload (never secrets: those are for <see cref="InjectionSecrets"/>).</summary>
    public ImmutableSortedDictionary<string, string> Env { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>Secrets the proxy injects into requests (<c>{{secret:NAME}}</c> in the policy); the workload never sees them.</summary>
    public ImmutableSortedDictionary<string, string> InjectionSecrets { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>The uid the workload runs as: never 0, never <see cref="SandboxObjects.ProxyUid"/>.</summary>
    public long RunAsUser { get; init; } = 1000;

    /// <summary>The gid the workload runs as (also the pod's fsGroup).</summary>
    public long RunAsGroup { get; init; } = 1000;

    /// <summary>The workload container's resources.</summary>
    public ContainerResources Resources { get; init; } = ContainerResources.WorkloadDefault;

    /// <summary>The proxy container's resources.</summary>
    public ContainerResources ProxyResources { get; init; } = ContainerResources.ProxyDefault;

    /// <summary>Size limits of the workload's writable volumes.</summary>
    public VolumeSizes Volumes { get; init; } = VolumeSizes.Default;

    /// <summary>The RuntimeClass (gVisor, Kata) of the workload's pod, or null for the cluster default.</summary>
    public string? RuntimeClassName { get; init; }

    /// <summary>Names of image pull Secrets for the workload's and the proxy's pods.</summary>
    public ImmutableArray<string> ImagePullSecrets { get; init; } = [];

    /// <summary>Extra labels on every object (Airlock's own keys win).</summary>
    public ImmutableSortedDictionary<string, string> Labels { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>Extra annotations on every object (Airlock's own keys win).</summary>
    public ImmutableSortedDictionary<string, string> Annotations { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>When the session was created: with <see cref="Ttl"/>, when it ends.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>How long the sandbox may live at most.</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromHours(24);

    /// <summary>How long the sandbox may stay idle before the reconciler collects it.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How egress is forced through the proxy.</summary>
    public SandboxTopology Topology { get; init; } = SandboxTopology.Sidecar;

    /// <summary>What runs the workload.</summary>
    public WorkloadKind Workload { get; init; } = WorkloadKind.Pod;

    /// <summary>The <c>SandboxWarmPool</c> a <see cref="WorkloadKind.Claim"/> claims from.</summary>
    public string? WarmPool { get; init; }

    /// <summary>The template's NetworkPolicy settings.</summary>
    public NetworkPolicySettings NetworkPolicy { get; init; } = NetworkPolicySettings.Default;

    /// <summary>This session's NetworkPolicy settings: when set, they replace <see cref="NetworkPolicy"/> entirely.</summary>
    public NetworkPolicySettings? NetworkPolicyOverride { get; init; }

    /// <summary>Where the proxy dials its control plane (<c>HOST:PORT</c>), or null for none.</summary>
    public string? ControlEndpoint { get; init; }

    /// <summary>The control plane's pods, so the proxy may reach <see cref="ControlEndpoint"/> through the NetworkPolicy.</summary>
    public PeerSelector? ControlPlane { get; init; }
}
