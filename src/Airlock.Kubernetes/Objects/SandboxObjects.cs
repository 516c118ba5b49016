using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace Airlock.Kubernetes.Objects;

/// <summary>
/// Builds every Kubernetes object of one sandbox from its spec: a pure function (no I/O, no clock), so what
/// Airlock would create can be rendered, reviewed and tested without a cluster.
/// </summary>
public static partial class SandboxObjects
{
    /// <summary>The uid (and gid) of the proxy. A workload can never run as it: the redirect rules exempt it.</summary>
    public const long ProxyUid = 65532;

    /// <summary>The proxy's explicit port (<c>HTTP_PROXY</c>): loopback in a sidecar, the Service port of a proxy pod.</summary>
    public const int ExplicitProxyPort = 3128;

    /// <summary>The port redirected connections arrive on (sidecar topology).</summary>
    public const int TransparentProxyPort = 15001;

    /// <summary>The proxy's metrics and <c>/healthz</c> port.</summary>
    public const int MetricsPort = 9464;

    private const int MaxSessionIdLength = 63;

    /// <summary>Builds the objects of a sandbox, in create order.</summary>
    /// <param name="spec">The sandbox.</param>
    /// <param name="ca">The session CA (the key goes to the proxy's Secret only).</param>
    /// <param name="options">Server-wide settings; <see cref="SandboxObjectsOptions.Default"/> when null.</param>
    /// <exception cref="SandboxSpecException">The spec cannot be built; the message says why and what to do.</exception>
    public static SandboxObjectSet Build(KubernetesSandboxSpec spec, SessionCaMaterial ca, SandboxObjectsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(ca);
        options ??= SandboxObjectsOptions.Default;
        Validate(spec);
        var network = EffectiveNetworkPolicy(spec, options);
        ValidateCombination(spec, network);

        var context = new BuildContext(spec, SandboxObjectNames.For(spec.SessionId), network, options);
        var objects = ImmutableArray.CreateBuilder<IKubernetesObject<V1ObjectMeta>>();
        objects.AddRange(SandboxNetworkPolicies.Build(context));
        objects.Add(ProxySecret(context, ca));
        objects.Add(CaSecret(context, ca));
        if (spec.Topology == SandboxTopology.ProxyPod)
        {
            objects.Add(SandboxPods.ProxyPod(context));
            objects.Add(SandboxPods.ProxyService(context));
        }

        objects.Add(spec.Workload switch
        {
            WorkloadKind.Pod => SandboxPods.WorkloadPod(context),
            WorkloadKind.Sandbox => SandboxPods.WorkloadSandbox(context),
            _ => SandboxPods.WorkloadClaim(context),
        });

        return new SandboxObjectSet { Names = context.Names, NetworkPolicy = network, Objects = objects.ToImmutable() };
    }

    /// <summary>
    /// The NetworkPolicy settings in effect: the session's override replaces the template's settings entirely (no
    /// field is merged); an override is an error when the server forbids them.
    /// </summary>
    /// <exception cref="SandboxSpecException">An override was given and <see cref="SandboxObjectsOptions.AllowNetworkPolicyOverride"/> is false.</exception>
    public static NetworkPolicySettings EffectiveNetworkPolicy(KubernetesSandboxSpec spec, SandboxObjectsOptions options)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        if (spec.NetworkPolicyOverride is not { } sessionSettings)
        {
            return spec.NetworkPolicy;
        }

        if (!options.AllowNetworkPolicyOverride)
        {
            throw new SandboxSpecException(
                $"session {spec.SessionId}: a per-session NetworkPolicy override was given, but this server forbids them "
                + "(AllowNetworkPolicyOverride is false); remove the override or change the template's networkPolicy settings.");
        }

        return sessionSettings;
    }

    private static void Validate(KubernetesSandboxSpec spec)
    {
        if (spec.SessionId.Length is 0 or > MaxSessionIdLength || !LabelValue().IsMatch(spec.SessionId))
        {
            throw new SandboxSpecException(
                $"session id '{spec.SessionId}' is not usable as a label value: 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit.");
        }

        if (spec.Namespace.Length is 0 or > 63 || !DnsLabel().IsMatch(spec.Namespace))
        {
            throw new SandboxSpecException($"namespace '{spec.Namespace}' is not a DNS-1123 label (lower-case letters, digits and '-', at most 63).");
        }

        if (string.IsNullOrWhiteSpace(spec.Image) || string.IsNullOrWhiteSpace(spec.ProxyImage))
        {
            throw new SandboxSpecException("an image and a proxy image are required.");
        }

        if (spec.RunAsUser is 0 or ProxyUid || spec.RunAsGroup is 0 or ProxyUid)
        {
            throw new SandboxSpecException(
                string.Create(CultureInfo.InvariantCulture, $"the workload cannot run as uid/gid {spec.RunAsUser}/{spec.RunAsGroup}: neither may be 0 (root) nor {ProxyUid} (the proxy's, which the redirect rules exempt)."));
        }

        if (spec.Ttl <= TimeSpan.Zero || spec.IdleTimeout <= TimeSpan.Zero)
        {
            throw new SandboxSpecException("ttl and idle timeout must be positive.");
        }

        foreach (var name in spec.InjectionSecrets.Keys)
        {
            if (!SecretName().IsMatch(name))
            {
                throw new SandboxSpecException($"injection secret name '{name}' must be letters, digits and '_' (as in {{{{secret:NAME}}}}).");
            }
        }

        foreach (var name in spec.Env.Keys)
        {
            if (SandboxPods.ReservedEnv.Contains(name))
            {
                throw new SandboxSpecException($"env {name} is set by Airlock (proxy and CA trust variables); remove it from the sandbox's env.");
            }
        }

        if (spec.ControlEndpoint is { } endpoint && ControlPort(endpoint) is null)
        {
            throw new SandboxSpecException($"control endpoint '{endpoint}' is not HOST:PORT.");
        }
    }

    private static void ValidateCombination(KubernetesSandboxSpec spec, NetworkPolicySettings network)
    {
        if (spec.Workload == WorkloadKind.Claim && string.IsNullOrWhiteSpace(spec.WarmPool))
        {
            throw new SandboxSpecException("workload 'claim' needs a warm pool name (--warm-pool).");
        }

        if (spec.Workload != WorkloadKind.Claim && spec.WarmPool is not null)
        {
            throw new SandboxSpecException($"a warm pool is only used by workload 'claim', not '{spec.Workload.ToString().ToLowerInvariant()}'.");
        }

        if (network.Mode != NetworkMode.Custom && (network.CustomIngress.Length > 0 || network.CustomEgress.Length > 0))
        {
            throw new SandboxSpecException("custom ingress/egress rules are only used with network mode 'custom'.");
        }

        if (spec.Topology != SandboxTopology.ProxyPod)
        {
            return;
        }

        if (network.Mode == NetworkMode.None)
        {
            throw new SandboxSpecException(
                "topology proxy-pod relies on NetworkPolicies to force the workload through its proxy; network mode 'none' would let it bypass the proxy. "
                + "Use mode 'restricted' or 'custom', or the sidecar topology.");
        }

        if (!network.Dns)
        {
            throw new SandboxSpecException(
                "topology proxy-pod: the workload finds its proxy through the Service's DNS name, so dns cannot be false; use the sidecar topology for a sandbox without DNS.");
        }

        if (spec.Workload == WorkloadKind.Claim)
        {
            throw new SandboxSpecException(
                "workload 'claim' needs the sidecar topology: a warm-pool pod exists before its session, so it cannot be told its paired proxy's address "
                + "(claim env would bypass the warm pool). Use --topology sidecar, or workload 'sandbox' or 'pod' with proxy-pod.");
        }
    }

    internal static int? ControlPort(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        return colon > 0 && int.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : null;
    }

    private static V1Secret ProxySecret(BuildContext context, SessionCaMaterial ca)
    {
        var data = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [SandboxPods.CaCertificateKey] = ca.CertificatePem,
            [SandboxPods.CaKeyKey] = ca.PrivateKeyPem,
            [SandboxPods.PolicyKey] = context.Spec.PolicyText,
        };
        foreach (var (name, value) in context.Spec.InjectionSecrets)
        {
            data[SandboxPods.InjectionSecretKey(name)] = value;
        }

        return new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = context.Metadata(context.Names.ProxySecret),
            Type = "Opaque",
            Immutable = true,
            StringData = data,
        };
    }

    private static V1Secret CaSecret(BuildContext context, SessionCaMaterial ca) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = context.Metadata(context.Names.CaSecret),
        Type = "Opaque",
        Immutable = true,
        StringData = new Dictionary<string, string>(StringComparer.Ordinal) { [SandboxPods.CaCertificateKey] = ca.CertificatePem },
    };

    [GeneratedRegex("^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")]
    private static partial Regex LabelValue();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex SecretName();
}

/// <summary>What every part of one build shares: the spec, the names, the labels, the settings in effect.</summary>
internal sealed class BuildContext(KubernetesSandboxSpec spec, SandboxObjectNames names, NetworkPolicySettings network, SandboxObjectsOptions options)
{
    public KubernetesSandboxSpec Spec { get; } = spec;

    public SandboxObjectNames Names { get; } = names;

    public NetworkPolicySettings Network { get; } = network;

    public SandboxObjectsOptions Options { get; } = options;

    public DateTimeOffset ExpiresAt => Spec.CreatedAt + Spec.Ttl;

    /// <summary>The labels on every object: the spec's, then Airlock's (which win).</summary>
    public Dictionary<string, string> Labels()
    {
        var labels = new Dictionary<string, string>(Spec.Labels, StringComparer.Ordinal)
        {
            [KubernetesLabels.ManagedBy] = KubernetesLabels.ManagedByValue,
            [KubernetesLabels.Session] = Spec.SessionId,
        };
        return labels;
    }

    /// <summary>The labels of a pod in the session: <see cref="Labels"/> and its role.</summary>
    public Dictionary<string, string> PodLabels(string role)
    {
        var labels = Labels();
        labels[KubernetesLabels.Role] = role;
        return labels;
    }

    /// <summary>What selects a pod of the session by role (the session label and the role, nothing the template controls).</summary>
    public Dictionary<string, string> Selector(string role) => new(StringComparer.Ordinal)
    {
        [KubernetesLabels.Session] = Spec.SessionId,
        [KubernetesLabels.Role] = role,
    };

    public Dictionary<string, string> Annotations()
    {
        var annotations = new Dictionary<string, string>(Spec.Annotations, StringComparer.Ordinal)
        {
            [KubernetesAnnotations.ExpiresAt] = ExpiresAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            [KubernetesAnnotations.IdleTimeoutSeconds] = ((long)Spec.IdleTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture),
        };
        return annotations;
    }

    public V1ObjectMeta Metadata(string name) => new()
    {
        Name = name,
        NamespaceProperty = Spec.Namespace,
        Labels = Labels(),
        Annotations = Annotations(),
    };
}
