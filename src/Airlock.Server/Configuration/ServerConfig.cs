using Airlock.Kubernetes.Objects;

namespace Airlock.Server.Configuration;

/// <summary>Which sandbox driver the gateway runs sandboxes with.</summary>
public enum GatewayDriver
{
    /// <summary>bubblewrap sandboxes on this machine.</summary>
    Local,

    /// <summary>Pods or agent-sandbox workloads in a cluster.</summary>
    Kubernetes,
}

/// <summary>The gateway's settings: the config file (<c>--config</c>), then flags and environment over it.</summary>
public sealed record ServerConfig
{
    /// <summary>Where the API listens unless told otherwise: loopback only.</summary>
    public const string DefaultListen = "127.0.0.1:8080";

    /// <summary>Where proxies dial in unless told otherwise: loopback only.</summary>
    public const string DefaultControlListen = "127.0.0.1:7070";

    /// <summary>The API's address, <c>HOST:PORT</c> (port 0: any free port, printed at start).</summary>
    public string Listen { get; init; } = DefaultListen;

    /// <summary>The control channel's address proxies connect to, <c>HOST:PORT</c>.</summary>
    public string ControlListen { get; init; } = DefaultControlListen;

    /// <summary>What a sandbox's proxy dials, when that differs from <see cref="ControlListen"/> (a Service name in a cluster).</summary>
    public string? ControlEndpoint { get; init; }

    /// <summary>The store URL (<c>sqlite:PATH</c> or <c>postgres://…</c>); null: the default SQLite file.</summary>
    public string? Store { get; init; }

    /// <summary>local or kubernetes.</summary>
    public GatewayDriver Driver { get; init; } = GatewayDriver.Local;

    /// <summary>The Kubernetes driver's settings (used when <see cref="Driver"/> is kubernetes).</summary>
    public KubernetesGatewayConfig Kubernetes { get; init; } = new();

    /// <summary>API requests a token may make per second, sustained (<c>limits.requestsPerSecond</c>).</summary>
    public int RequestsPerSecond { get; init; } = 50;

    /// <summary>API requests a token may make at once above the sustained rate (<c>limits.burst</c>).</summary>
    public int RequestBurst { get; init; } = 200;
}

/// <summary>The <c>kubernetes:</c> section.</summary>
public sealed record KubernetesGatewayConfig
{
    /// <summary>A kubeconfig file; null: in-cluster credentials when running in a pod, else the default kubeconfig.</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>The namespace sandboxes are created in.</summary>
    public string? Namespace { get; init; }

    /// <summary>The default workload image.</summary>
    public string? Image { get; init; }

    /// <summary>The proxy image.</summary>
    public string ProxyImage { get; init; } = KubernetesSandboxSpec.DefaultProxyImage;

    /// <summary>sidecar or proxy-pod.</summary>
    public SandboxTopology Topology { get; init; } = SandboxTopology.Sidecar;

    /// <summary>pod, sandbox or claim.</summary>
    public WorkloadKind Workload { get; init; } = WorkloadKind.Pod;

    /// <summary>The warm pool claims are made against.</summary>
    public string? WarmPool { get; init; }

    /// <summary>How long a workload has to become ready.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>A sandbox's lifetime when its request names none.</summary>
    public TimeSpan DefaultTtl { get; init; } = TimeSpan.FromHours(24);

    /// <summary>A sandbox with no egress for this long is collected.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Time between reconciler passes.</summary>
    public TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The sandboxes' NetworkPolicy settings.</summary>
    public NetworkPolicySettings NetworkPolicy { get; init; } = NetworkPolicySettings.Default;

    /// <summary>Whether a session may replace <see cref="NetworkPolicy"/> with its own.</summary>
    public bool AllowSessionOverride { get; init; } = true;

    /// <summary>The control plane's own pods, which the proxies are allowed to reach.</summary>
    public PeerSelector? ControlPlane { get; init; }
}
