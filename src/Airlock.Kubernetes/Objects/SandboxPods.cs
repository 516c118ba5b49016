using System.Collections.Immutable;
using System.Globalization;
using k8s.Models;

namespace Airlock.Kubernetes.Objects;

/// <summary>The pods of a sandbox: the workload's pod (any workload kind, either topology) and the paired proxy pod.</summary>
internal static class SandboxPods
{
    public const string CaCertificateKey = "ca.crt";
    public const string CaKeyKey = "ca.key";
    public const string PolicyKey = "policy.yaml";
    public const string CaBundleFile = "ca-bundle.crt";
    public const string ProxyConfigPath = "/etc/airlock/proxy";
    public const string CaPath = "/airlock/ca";
    public const string TrustPath = "/airlock/trust";
    public const string ToolsPath = "/airlock/bin";
    public const string SystemBundlePath = "/etc/ssl/certs/ca-certificates.crt";
    public const string WorkspacePath = "/workspace";
    public const string HomePath = "/home/agent";
    public const string AgentContainer = "agent";
    public const string ProxyContainer = "airlock-proxy";
    public const string RedirectContainer = "airlock-redirect";
    public const string SetupContainer = "airlock-setup";
    public const string WaitContainer = "airlock-wait-proxy";

    /// <summary>Where the proxy image keeps a statically linked tini, copied in for the keepalive.</summary>
    public const string ProxyImageTini = "/usr/bin/tini-static";

    /// <summary>The volumes holding the proxy's configuration: the workload's containers must never mount them.</summary>
    public const string ProxyConfigVolume = "airlock-proxy-config";

    private const string CaVolume = "airlock-ca";
    private const string TrustVolume = "airlock-trust";
    private const string ToolsVolume = "airlock-bin";
    private const string ProxyTmpVolume = "airlock-proxy-tmp";
    private const int ProxySecretMode = 0b100_100_000; // 0440: root and the pod's fsGroup (the proxy) only
    private const int CaSecretMode = 0b100_100_100; // 0444: a certificate is public

    /// <summary>Variables Airlock sets in the workload; a spec's env may not set them.</summary>
    public static readonly ImmutableHashSet<string> ReservedEnv = ImmutableHashSet.Create(
        StringComparer.Ordinal,
        "HOME", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "PIP_CERT",
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy");

    public static string InjectionSecretKey(string name) => "secret-" + name;

    public static V1Pod WorkloadPod(BuildContext context)
    {
        var spec = WorkloadPodSpec(context, forPool: false);
        spec.RestartPolicy = "Never";
        spec.ActiveDeadlineSeconds = (long)Math.Ceiling(context.Spec.Ttl.TotalSeconds);
        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = PodMetadata(context, context.Names.Workload, KubernetesLabels.RoleAgent),
            Spec = spec,
        };
    }

    public static V1beta1Sandbox WorkloadSandbox(BuildContext context)
    {
        var podMetadata = PodMetadata(context, context.Names.Workload, KubernetesLabels.RoleAgent);
        var spec = WorkloadPodSpec(context, forPool: false);
        spec.RestartPolicy = "Always";
        return new V1beta1Sandbox
        {
            Metadata = context.Metadata(context.Names.Workload),
            Spec = new V1beta1SandboxSpec
            {
                PodTemplate = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = podMetadata.Labels, Annotations = podMetadata.Annotations },
                    Spec = spec,
                },
                ShutdownTime = context.ExpiresAt,
                ShutdownPolicy = AgentSandboxApi.ShutdownPolicyDelete,
            },
        };
    }

    public static V1beta1SandboxClaim WorkloadClaim(BuildContext context) => new()
    {
        Metadata = context.Metadata(context.Names.Workload),
        Spec = new V1beta1SandboxClaimSpec
        {
            WarmPoolName = context.Spec.WarmPool!,
            AdditionalPodLabels = context.PodLabels(KubernetesLabels.RoleAgent).ToImmutableSortedDictionary(StringComparer.Ordinal),
            AdditionalPodAnnotations = context.Annotations().ToImmutableSortedDictionary(StringComparer.Ordinal),
            ShutdownTime = context.ExpiresAt,
            ShutdownPolicy = AgentSandboxApi.ShutdownPolicyDelete,
        },
    };

    /// <summary>
    /// The workload's pod spec under the Pod Security <c>restricted</c> baseline, with the topology's init
    /// containers. <paramref name="forPool"/>: for a warm pool's template (the proxy reads the pool's Secrets).
    /// </summary>
    public static V1PodSpec WorkloadPodSpec(BuildContext context, bool forPool, string? proxySecret = null, string? caSecret = null)
    {
        var spec = context.Spec;
        var sidecar = spec.Topology == SandboxTopology.Sidecar;
        var keepalive = spec.Command.IsDefaultOrEmpty;
        var init = new List<V1Container>();
        if (sidecar)
        {
            init.Add(RedirectInit(context));
        }

        init.Add(SetupInit(context, keepalive));
        if (sidecar)
        {
            init.Add(ProxySidecar(context, forPool));
        }
        else
        {
            init.Add(WaitForProxyContainer(context));
        }

        var volumes = new List<V1Volume>
        {
            EmptyDir("workspace", spec.Volumes.Workspace),
            EmptyDir("home", spec.Volumes.Home),
            EmptyDir("cache", spec.Volumes.Cache),
            EmptyDir("tmp", spec.Volumes.Tmp),
            new() { Name = CaVolume, Secret = new V1SecretVolumeSource { SecretName = caSecret ?? context.Names.CaSecret, DefaultMode = CaSecretMode } },
            EmptyDir(TrustVolume, "1Mi"),
            EmptyDir(ToolsVolume, "16Mi"),
        };
        if (sidecar)
        {
            volumes.Add(new V1Volume { Name = ProxyConfigVolume, Secret = new V1SecretVolumeSource { SecretName = proxySecret ?? context.Names.ProxySecret, DefaultMode = ProxySecretMode } });
            volumes.Add(EmptyDir(ProxyTmpVolume, "256Mi"));
        }

        return new V1PodSpec
        {
            AutomountServiceAccountToken = false,
            EnableServiceLinks = false,
            ShareProcessNamespace = false,
            HostNetwork = false,
            HostPID = false,
            HostIPC = false,
            TerminationGracePeriodSeconds = 10,
            RuntimeClassName = spec.RuntimeClassName,
            ImagePullSecrets = PullSecrets(spec),
            SecurityContext = PodSecurity(spec.RunAsUser, spec.RunAsGroup),
            InitContainers = init,
            Containers = [AgentContainerFor(context, keepalive)],
            Volumes = volumes,
        };
    }

    public static V1Pod ProxyPod(BuildContext context)
    {
        var spec = context.Spec;
        var proxy = ProxyContainerFor(context, ProxyArguments(context, sidecar: false, forPool: false));
        proxy.Ports = [new V1ContainerPort { Name = "proxy", ContainerPort = SandboxObjects.ExplicitProxyPort, Protocol = "TCP" }, MetricsContainerPort()];
        proxy.ReadinessProbe = HealthProbe(periodSeconds: 5, failureThreshold: 3);
        proxy.StartupProbe = HealthProbe(periodSeconds: 1, failureThreshold: 60);
        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = PodMetadata(context, context.Names.Proxy, KubernetesLabels.RoleProxy),
            Spec = new V1PodSpec
            {
                AutomountServiceAccountToken = false,
                EnableServiceLinks = false,
                TerminationGracePeriodSeconds = 10,
                RestartPolicy = "Always",
                ActiveDeadlineSeconds = (long)Math.Ceiling(spec.Ttl.TotalSeconds),
                ImagePullSecrets = PullSecrets(spec),
                SecurityContext = PodSecurity(SandboxObjects.ProxyUid, SandboxObjects.ProxyUid),
                Containers = [proxy],
                Volumes =
                [
                    new V1Volume { Name = ProxyConfigVolume, Secret = new V1SecretVolumeSource { SecretName = context.Names.ProxySecret, DefaultMode = ProxySecretMode } },
                    EmptyDir(ProxyTmpVolume, "256Mi"),
                ],
            },
        };
    }

    public static V1Service ProxyService(BuildContext context) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = context.Metadata(context.Names.Proxy),
        Spec = new V1ServiceSpec
        {
            ClusterIP = "None",
            Selector = context.Selector(KubernetesLabels.RoleProxy),
            Ports = [new V1ServicePort { Name = "proxy", Port = SandboxObjects.ExplicitProxyPort, TargetPort = SandboxObjects.ExplicitProxyPort, Protocol = "TCP" }],
        },
    };

    /// <summary>The address the workload of a proxy-pod sandbox uses as its explicit proxy.</summary>
    public static string ProxyServiceAddress(BuildContext context) =>
        string.Create(CultureInfo.InvariantCulture, $"{context.Names.Proxy}.{context.Spec.Namespace}.svc:{SandboxObjects.ExplicitProxyPort}");

    /// <summary>
    /// The nftables rules a sidecar pod's init container installs (POSIX sh; the resolver is read from
    /// /etc/resolv.conf at start): every TCP connection leaving the pod, IPv4 and IPv6, is redirected to the
    /// proxy's transparent port, except the proxy's own (by uid) and loopback; everything else leaving the pod is
    /// dropped, except DNS to the cluster resolver when allowed and IPv6 neighbour discovery.
    /// </summary>
    public static string RedirectScript(bool dns)
    {
        var uid = SandboxObjects.ProxyUid.ToString(CultureInfo.InvariantCulture);
        var port = SandboxObjects.TransparentProxyPort.ToString(CultureInfo.InvariantCulture);
        var resolver = dns
            ? """
              resolver=
              while read -r key value _; do
                if [ "$key" = nameserver ]; then resolver=$value; break; fi
              done < /etc/resolv.conf
              [ -n "$resolver" ] || { echo "airlock-redirect: no nameserver in /etc/resolv.conf" >&2; exit 1; }
              case "$resolver" in *:*) family=ip6 ;; *) family=ip ;; esac
              dns_nat="$family daddr $resolver tcp dport 53 return"
              dns_filter="$family daddr $resolver meta l4proto { udp, tcp } th dport 53 accept"

              """
            : """
              dns_nat=
              dns_filter=

              """;
        return "set -eu\n" + resolver + $$"""
            nft -f - <<EOF
            table inet airlock {
              chain workload_nat {
                type nat hook output priority -100; policy accept;
                oifname "lo" return
                meta skuid {{uid}} return
                $dns_nat
                meta l4proto tcp redirect to :{{port}}
              }
              chain workload_filter {
                type filter hook output priority filter; policy drop;
                oifname "lo" accept
                meta skuid {{uid}} accept
                ct status dnat tcp dport {{port}} accept
                ct state established,related accept
                icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept
                $dns_filter
              }
            }
            EOF
            """ + "\n";
    }

    private static V1ObjectMeta PodMetadata(BuildContext context, string name, string role)
    {
        var metadata = context.Metadata(name);
        metadata.Labels = context.PodLabels(role);
        return metadata;
    }

    private static V1Container RedirectInit(BuildContext context) => new()
    {
        Name = RedirectContainer,
        Image = context.Spec.ProxyImage,
        ImagePullPolicy = "IfNotPresent",
        Command = ["/bin/sh", "-c", RedirectScript(context.Network.Dns)],
        Resources = Resources(ContainerResources.HelperDefault),
        SecurityContext = new V1SecurityContext
        {
            // nft needs CAP_NET_ADMIN in the pod's network namespace, and only that: no NET_RAW, nothing else.
            RunAsUser = 0,
            RunAsGroup = 0,
            RunAsNonRoot = false,
            AllowPrivilegeEscalation = false,
            ReadOnlyRootFilesystem = true,
            Privileged = false,
            Capabilities = new V1Capabilities { Drop = ["ALL"], Add = ["NET_ADMIN"] },
            SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
        },
    };

    private static V1Container SetupInit(BuildContext context, bool keepalive)
    {
        var script = $"set -eu\ncat {SystemBundlePath} {CaPath}/{CaCertificateKey} > {TrustPath}/{CaBundleFile}\n";
        if (keepalive)
        {
            script += $"cp {ProxyImageTini} {ToolsPath}/tini\n";
        }

        return new V1Container
        {
            Name = SetupContainer,
            Image = context.Spec.ProxyImage,
            ImagePullPolicy = "IfNotPresent",
            Command = ["/bin/sh", "-c", script],
            Resources = Resources(ContainerResources.HelperDefault),
            SecurityContext = Restricted(context.Spec.RunAsUser, context.Spec.RunAsGroup),
            VolumeMounts =
            [
                new V1VolumeMount { Name = CaVolume, MountPath = CaPath, ReadOnlyProperty = true },
                new V1VolumeMount { Name = TrustVolume, MountPath = TrustPath },
                new V1VolumeMount { Name = ToolsVolume, MountPath = ToolsPath },
            ],
        };
    }

    private static V1Container WaitForProxyContainer(BuildContext context) => new()
    {
        Name = WaitContainer,
        Image = context.Spec.ProxyImage,
        ImagePullPolicy = "IfNotPresent",
        Command = ["airlock", "k8s", "wait-proxy", "--address", ProxyServiceAddress(context), "--timeout", "120s"],
        Resources = Resources(ContainerResources.HelperDefault),
        SecurityContext = Restricted(context.Spec.RunAsUser, context.Spec.RunAsGroup),
    };

    private static V1Container ProxySidecar(BuildContext context, bool forPool)
    {
        var proxy = ProxyContainerFor(context, ProxyArguments(context, sidecar: true, forPool));

        // A native sidecar: an init container that keeps running, started (and ready) before the workload.
        proxy.RestartPolicy = "Always";
        proxy.Ports = [MetricsContainerPort()];
        proxy.StartupProbe = HealthProbe(periodSeconds: 1, failureThreshold: 60);
        proxy.ReadinessProbe = HealthProbe(periodSeconds: 5, failureThreshold: 3);
        if (forPool)
        {
            // A warm pod has no session yet: its proxy names its events after the pod until the claim maps it.
            proxy.Env.Add(new V1EnvVar { Name = "AIRLOCK_POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } });
        }

        return proxy;
    }

    private static V1Container ProxyContainerFor(BuildContext context, List<string> arguments) => new()
    {
        Name = ProxyContainer,
        Image = context.Spec.ProxyImage,
        ImagePullPolicy = "IfNotPresent",
        Command = ["airlock"],
        Args = arguments,
        Resources = Resources(context.Spec.ProxyResources),
        SecurityContext = Restricted(SandboxObjects.ProxyUid, SandboxObjects.ProxyUid),
        Env = [new V1EnvVar { Name = "TMPDIR", Value = "/tmp" }],
        VolumeMounts =
        [
            new V1VolumeMount { Name = ProxyConfigVolume, MountPath = ProxyConfigPath, ReadOnlyProperty = true },
            new V1VolumeMount { Name = ProxyTmpVolume, MountPath = "/tmp" },
        ],
    };

    private static List<string> ProxyArguments(BuildContext context, bool sidecar, bool forPool)
    {
        var spec = context.Spec;
        var arguments = new List<string>
        {
            "proxy",
            "--policy", $"{ProxyConfigPath}/{PolicyKey}",
            "--ca-cert", $"{ProxyConfigPath}/{CaCertificateKey}",
            "--ca-key", $"{ProxyConfigPath}/{CaKeyKey}",
            "--session", forPool ? "$(AIRLOCK_POD_NAME)" : spec.SessionId,
            "--events", "-",
            "--metrics", string.Create(CultureInfo.InvariantCulture, $"[::]:{SandboxObjects.MetricsPort}"),
        };
        if (sidecar)
        {
            arguments.AddRange(
            [
                "--listen", string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{SandboxObjects.ExplicitProxyPort}"),
                "--transparent-listen", string.Create(CultureInfo.InvariantCulture, $"[::]:{SandboxObjects.TransparentProxyPort}"),
            ]);
        }
        else
        {
            arguments.AddRange(["--listen", string.Create(CultureInfo.InvariantCulture, $"[::]:{SandboxObjects.ExplicitProxyPort}")]);
        }

        if (spec.ControlEndpoint is { } control)
        {
            arguments.AddRange(["--control", control]);
        }

        if (!forPool)
        {
            foreach (var name in spec.InjectionSecrets.Keys)
            {
                arguments.AddRange(["--secret", $"{name}=@{ProxyConfigPath}/{InjectionSecretKey(name)}"]);
            }
        }

        return arguments;
    }

    private static V1Container AgentContainerFor(BuildContext context, bool keepalive)
    {
        var spec = context.Spec;
        var env = spec.Env.Select(pair => new V1EnvVar { Name = pair.Key, Value = pair.Value }).ToList();
        var bundle = $"{TrustPath}/{CaBundleFile}";
        env.AddRange(
        [
            new V1EnvVar { Name = "HOME", Value = HomePath },
            new V1EnvVar { Name = "SSL_CERT_FILE", Value = bundle },
            new V1EnvVar { Name = "REQUESTS_CA_BUNDLE", Value = bundle },
            new V1EnvVar { Name = "CURL_CA_BUNDLE", Value = bundle },
            new V1EnvVar { Name = "GIT_SSL_CAINFO", Value = bundle },
            new V1EnvVar { Name = "PIP_CERT", Value = bundle },

            // Node adds this file to its built-in roots, so it takes the session CA alone.
            new V1EnvVar { Name = "NODE_EXTRA_CA_CERTS", Value = $"{CaPath}/{CaCertificateKey}" },
        ]);

        var proxy = spec.Topology == SandboxTopology.Sidecar
            ? string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{SandboxObjects.ExplicitProxyPort}")
            : "http://" + ProxyServiceAddress(context);
        foreach (var name in new[] { "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy" })
        {
            env.Add(new V1EnvVar { Name = name, Value = proxy });
        }

        env.Add(new V1EnvVar { Name = "NO_PROXY", Value = "localhost,127.0.0.1,::1" });
        env.Add(new V1EnvVar { Name = "no_proxy", Value = "localhost,127.0.0.1,::1" });

        return new V1Container
        {
            Name = AgentContainer,
            Image = spec.Image,
            ImagePullPolicy = "IfNotPresent",
            Command = keepalive ? [$"{ToolsPath}/tini", "-s", "--", "sleep", "infinity"] : [.. spec.Command],
            WorkingDir = WorkspacePath,
            Env = env,
            Resources = Resources(spec.Resources),
            SecurityContext = Restricted(spec.RunAsUser, spec.RunAsGroup),
            VolumeMounts =
            [
                new V1VolumeMount { Name = "workspace", MountPath = WorkspacePath },
                new V1VolumeMount { Name = "home", MountPath = HomePath },
                new V1VolumeMount { Name = "cache", MountPath = HomePath + "/.cache" },
                new V1VolumeMount { Name = "tmp", MountPath = "/tmp" },
                new V1VolumeMount { Name = CaVolume, MountPath = CaPath, ReadOnlyProperty = true },
                new V1VolumeMount { Name = TrustVolume, MountPath = TrustPath, ReadOnlyProperty = true },
                new V1VolumeMount { Name = TrustVolume, MountPath = SystemBundlePath, SubPath = CaBundleFile, ReadOnlyProperty = true },
                new V1VolumeMount { Name = ToolsVolume, MountPath = ToolsPath, ReadOnlyProperty = true },
            ],
        };
    }

    private static V1PodSecurityContext PodSecurity(long uid, long gid) => new()
    {
        RunAsNonRoot = true,
        RunAsUser = uid,
        RunAsGroup = gid,
        FsGroup = gid,
        FsGroupChangePolicy = "OnRootMismatch",
        SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
    };

    public static V1SecurityContext Restricted(long uid, long gid) => new()
    {
        RunAsNonRoot = true,
        RunAsUser = uid,
        RunAsGroup = gid,
        AllowPrivilegeEscalation = false,
        ReadOnlyRootFilesystem = true,
        Privileged = false,
        Capabilities = new V1Capabilities { Drop = ["ALL"] },
        SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
    };

    private static V1Probe HealthProbe(int periodSeconds, int failureThreshold) => new()
    {
        HttpGet = new V1HTTPGetAction { Path = "/healthz", Port = SandboxObjects.MetricsPort },
        PeriodSeconds = periodSeconds,
        FailureThreshold = failureThreshold,
    };

    private static V1ContainerPort MetricsContainerPort() => new() { Name = "metrics", ContainerPort = SandboxObjects.MetricsPort, Protocol = "TCP" };

    private static V1Volume EmptyDir(string name, string size) => new()
    {
        Name = name,
        EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity(size) },
    };

    private static V1ResourceRequirements Resources(ContainerResources resources) => new()
    {
        Requests = new Dictionary<string, ResourceQuantity>(StringComparer.Ordinal)
        {
            ["cpu"] = new(resources.CpuRequest),
            ["memory"] = new(resources.MemoryRequest),
        },
        Limits = new Dictionary<string, ResourceQuantity>(StringComparer.Ordinal)
        {
            ["cpu"] = new(resources.CpuLimit),
            ["memory"] = new(resources.MemoryLimit),
        },
    };

    private static List<V1LocalObjectReference>? PullSecrets(KubernetesSandboxSpec spec) =>
        spec.ImagePullSecrets.IsDefaultOrEmpty ? null : [.. spec.ImagePullSecrets.Select(name => new V1LocalObjectReference { Name = name })];
}
