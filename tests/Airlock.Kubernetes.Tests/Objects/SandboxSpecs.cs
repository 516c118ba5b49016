using System.Collections.Immutable;
using Airlock.Kubernetes.Objects;
using k8s;
using k8s.Models;

namespace Airlock.Kubernetes.Tests.Objects;

/// <summary>Specs and accessors shared by the object tests.</summary>
internal static class SandboxSpecs
{
    public const string PolicyText = "version: 1\nname: test\negress:\n  - allow: api.github.com\n";
    public const string InjectedValue = "sk-injected-secret-value";

    public static readonly SessionCaMaterial Ca = new("-----BEGIN CERTIFICATE-----\nTESTCERT\n-----END CERTIFICATE-----\n", "-----BEGIN PRIVATE KEY-----\nTESTKEY\n-----END PRIVATE KEY-----\n");

    public static readonly PeerSelector ControlPlane = new(
        "airlock-system", ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create("app", "airlock")]));

    public static KubernetesSandboxSpec Spec(
        SandboxTopology topology = SandboxTopology.Sidecar,
        WorkloadKind workload = WorkloadKind.Pod,
        NetworkMode mode = NetworkMode.Restricted,
        string session = "ses_01JTEST",
        bool dns = true) => new()
        {
            SessionId = session,
            Namespace = "agents",
            PolicyText = PolicyText,
            Image = "python:3.12",
            CreatedAt = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
            Ttl = TimeSpan.FromHours(2),
            Topology = topology,
            Workload = workload,
            WarmPool = workload == WorkloadKind.Claim ? "python" : null,
            InjectionSecrets = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create("OPENAI_API_KEY", InjectedValue)]),
            ControlEndpoint = "airlock.airlock-system.svc:7070",
            ControlPlane = ControlPlane,
            NetworkPolicy = new NetworkPolicySettings
            {
                Mode = mode,
                Dns = dns,
                IngressFrom = [ControlPlane],
                CustomEgress = mode == NetworkMode.Custom
                    ? [new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = "10.20.0.0/16" } }], Ports = [new V1NetworkPolicyPort { Protocol = "TCP", Port = 5432 }] }]
                    : [],
                CustomIngress = mode == NetworkMode.Custom
                    ? [new V1NetworkPolicyIngressRule { FromProperty = [new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = "10.30.0.0/16" } }] }]
                    : [],
            },
        };

    /// <summary>Every combination the builder accepts (proxy-pod needs NetworkPolicies and rejects claims).</summary>
    public static IEnumerable<(SandboxTopology Topology, WorkloadKind Workload, NetworkMode Mode)> Buildable()
    {
        foreach (var topology in Enum.GetValues<SandboxTopology>())
        {
            foreach (var workload in Enum.GetValues<WorkloadKind>())
            {
                foreach (var mode in Enum.GetValues<NetworkMode>())
                {
                    if (topology == SandboxTopology.ProxyPod && (mode == NetworkMode.None || workload == WorkloadKind.Claim))
                    {
                        continue;
                    }

                    yield return (topology, workload, mode);
                }
            }
        }
    }

    public static TheoryData<SandboxTopology, WorkloadKind, NetworkMode> BuildableData()
    {
        var data = new TheoryData<SandboxTopology, WorkloadKind, NetworkMode>();
        foreach (var (topology, workload, mode) in Buildable())
        {
            data.Add(topology, workload, mode);
        }

        return data;
    }

    /// <summary>The workload's pod spec, when the workload carries one (a claim's pod comes from its pool's template).</summary>
    public static V1PodSpec? WorkloadPodSpec(IKubernetesObject<V1ObjectMeta> workload) => workload switch
    {
        V1Pod pod => pod.Spec,
        V1beta1Sandbox sandbox => sandbox.Spec.PodTemplate.Spec,
        _ => null,
    };

    public static IEnumerable<V1Pod> Pods(SandboxObjectSet set) => set.Objects.OfType<V1Pod>();

    public static IEnumerable<V1NetworkPolicy> Policies(SandboxObjectSet set) => set.Objects.OfType<V1NetworkPolicy>();
}
