using System.Net;
using System.Text.Json.Nodes;
using Airlock.Kubernetes.Objects;
using Airlock.Kubernetes.Tests.Objects;
using Airlock.Kubernetes.Tests.Verification;

namespace Airlock.Kubernetes.Tests.Verified;

/// <summary>
/// Every object the builders generate, for every topology × workload kind × network mode, checked by the
/// verification tools: strict Kubernetes 1.35 OpenAPI / agent-sandbox CRD schemas, Pod Security
/// <c>restricted</c>, and NetworkPolicy semantics.
/// </summary>
public sealed class GeneratedObjectsTests
{
    private static readonly IPAddress AgentIp = IPAddress.Parse("10.244.1.10");
    private static readonly IPAddress ProxyIp = IPAddress.Parse("10.244.1.11");

    public static TheoryData<SandboxTopology, WorkloadKind, NetworkMode> Combinations() => SandboxSpecs.BuildableData();

    [Theory]
    [MemberData(nameof(Combinations))]
    public void Every_object_passes_the_official_schemas(SandboxTopology topology, WorkloadKind workload, NetworkMode mode)
    {
        var set = SandboxObjects.Build(SandboxSpecs.Spec(topology, workload, mode), SandboxSpecs.Ca);

        var errors = set.Objects.SelectMany(o => KubernetesValidator.Validate(ManifestJson.ToJson(o)).Select(e => $"{o.Kind} {o.Metadata.Name}: {e}")).ToList();

        Assert.True(errors.Count == 0, string.Join("\n", errors));
        Assert.NotEmpty(set.Objects);
    }

    [Fact]
    public void Warm_pool_objects_pass_the_schemas_and_pod_security()
    {
        var objects = WarmPoolObjects.Build("python", 3, SandboxSpecs.Spec(workload: WorkloadKind.Claim), SandboxSpecs.Ca);

        var errors = objects.SelectMany(o => KubernetesValidator.Validate(ManifestJson.ToJson(o)).Select(e => $"{o.Kind} {o.Metadata.Name}: {e}")).ToList();
        var security = objects.Where(o => o.Kind is "Pod" or "Sandbox" or "SandboxTemplate").SelectMany(o => PodSecurityRestricted.Check(ManifestJson.ToJson(o))).Where(v => !v.Contains($"\"{SandboxPods.RedirectContainer}\"", StringComparison.Ordinal)).ToList();

        Assert.True(errors.Count == 0, string.Join("\n", errors));
        Assert.True(security.Count == 0, string.Join("\n", security));
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public void Pod_security_restricted_holds_for_every_workload_container_and_the_whole_proxy_pod_topology(SandboxTopology topology, WorkloadKind workload, NetworkMode mode)
    {
        var set = SandboxObjects.Build(SandboxSpecs.Spec(topology, workload, mode), SandboxSpecs.Ca);

        var runsPods = set.Objects.Where(o => o.Kind is "Pod" or "Sandbox" or "SandboxTemplate").ToList();
        var violations = runsPods.SelectMany(o => PodSecurityRestricted.Check(ManifestJson.ToJson(o))).ToList();

        if (topology == SandboxTopology.ProxyPod)
        {
            Assert.True(violations.Count == 0, string.Join("\n", violations));
        }
        else
        {
            // Only the redirect init container (NET_ADMIN, root, for the nftables rules) may fall outside restricted.
            var others = violations.Where(v => !v.Contains($"\"{SandboxPods.RedirectContainer}\"", StringComparison.Ordinal)).ToList();
            Assert.True(others.Count == 0, string.Join("\n", others));
            if (runsPods.Count > 0)
            {
                Assert.Contains(violations, v => v.Contains($"\"{SandboxPods.RedirectContainer}\"", StringComparison.Ordinal));
            }
        }
    }

    [Theory]
    [InlineData(WorkloadKind.Pod, true)]
    [InlineData(WorkloadKind.Pod, false)]
    [InlineData(WorkloadKind.Sandbox, true)]
    public void In_the_proxy_pod_topology_the_agent_reaches_only_its_proxy_and_the_proxy_only_the_public_internet(WorkloadKind workload, bool dns)
    {
        if (!dns)
        {
            // The agent finds its proxy's Service by name: the builder refuses proxy-pod without DNS.
            Assert.Throws<SandboxSpecException>(() => SandboxObjects.Build(SandboxSpecs.Spec(SandboxTopology.ProxyPod, workload, NetworkMode.Restricted, dns: false), SandboxSpecs.Ca));
            return;
        }

        var set = SandboxObjects.Build(SandboxSpecs.Spec(SandboxTopology.ProxyPod, workload, NetworkMode.Restricted), SandboxSpecs.Ca);
        var agent = ClusterPod.FromPod(PodOf(ManifestJson.ToJson(set.Workload)), AgentIp);
        var proxy = ClusterPod.FromPod(ManifestJson.ToJson(set.Objects.OfType<k8s.Models.V1Pod>().Single(p => p.Metadata.Name == set.Names.Proxy)), ProxyIp);
        var neighbour = new ClusterPod("neighbour", "agents", new Dictionary<string, string> { ["app"] = "other" }, [IPAddress.Parse("10.244.1.12")]);
        var controlPlane = new ClusterPod("airlock-0", "airlock-system", new Dictionary<string, string> { ["app"] = "airlock" }, [IPAddress.Parse("10.244.2.5")]);
        var dnsPod = new ClusterPod("coredns", "kube-system", new Dictionary<string, string> { ["k8s-app"] = "kube-dns" }, [IPAddress.Parse("10.244.0.2")]);
        var evaluator = new NetworkPolicyEvaluator(
            [new ClusterNamespace("agents"), new ClusterNamespace("airlock-system"), new ClusterNamespace("kube-system")],
            set.Objects.OfType<k8s.Models.V1NetworkPolicy>().Select(p => (JsonNode)ManifestJson.ToJson(p)));
        var internet = IPAddress.Parse("93.184.215.14");

        Assert.True(evaluator.Allows(agent, proxy, "TCP", SandboxObjects.ExplicitProxyPort));
        Assert.True(evaluator.Allows(agent, dnsPod, "UDP", 53));
        Assert.False(evaluator.Allows(agent, internet, "TCP", 443));
        Assert.False(evaluator.Allows(agent, neighbour, "TCP", 80));
        Assert.False(evaluator.Allows(agent, IPAddress.Parse("169.254.169.254"), "TCP", 80));
        Assert.False(evaluator.Allows(agent, proxy, "TCP", SandboxObjects.MetricsPort));
        Assert.False(evaluator.Allows(neighbour, proxy, "TCP", SandboxObjects.ExplicitProxyPort));
        Assert.False(evaluator.Allows(neighbour, agent, "TCP", 8080));
        Assert.True(evaluator.Allows(controlPlane, proxy, "TCP", SandboxObjects.MetricsPort));
        Assert.True(evaluator.Allows(proxy, internet, "TCP", 443));
        foreach (var blocked in new[] { "169.254.169.254", "10.0.0.5", "172.16.3.4", "192.168.1.1", "100.64.0.1", "fd00:ec2::254", "fe80::1" })
        {
            Assert.False(evaluator.Allows(proxy, IPAddress.Parse(blocked), "TCP", 443), $"the proxy may reach {blocked}");
        }

        Assert.False(evaluator.Allows(proxy, neighbour, "TCP", 80));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void In_the_sidecar_topology_the_pod_reaches_no_private_or_metadata_address(bool dns)
    {
        var set = SandboxObjects.Build(SandboxSpecs.Spec(SandboxTopology.Sidecar, WorkloadKind.Pod, NetworkMode.Restricted, dns: dns), SandboxSpecs.Ca);
        var pod = ClusterPod.FromPod(ManifestJson.ToJson(set.Workload), AgentIp);
        var neighbour = new ClusterPod("neighbour", "agents", new Dictionary<string, string> { ["app"] = "other" }, [IPAddress.Parse("10.244.1.12")]);
        var dnsPod = new ClusterPod("coredns", "kube-system", new Dictionary<string, string> { ["k8s-app"] = "kube-dns" }, [IPAddress.Parse("10.244.0.2")]);
        var evaluator = new NetworkPolicyEvaluator(
            [new ClusterNamespace("agents"), new ClusterNamespace("kube-system")],
            set.Objects.OfType<k8s.Models.V1NetworkPolicy>().Select(p => (JsonNode)ManifestJson.ToJson(p)));

        Assert.True(evaluator.Allows(pod, IPAddress.Parse("93.184.215.14"), "TCP", 443));
        Assert.True(evaluator.Allows(pod, dnsPod, "UDP", 53));
        Assert.False(evaluator.Allows(pod, neighbour, "TCP", 80));
        Assert.False(evaluator.Allows(neighbour, pod, "TCP", 8080));
        foreach (var blocked in new[] { "169.254.169.254", "10.0.0.5", "192.168.1.1", "fd00:ec2::254" })
        {
            Assert.False(evaluator.Allows(pod, IPAddress.Parse(blocked), "TCP", 443), $"the pod may reach {blocked}");
        }
    }

    /// <summary>The pod a workload runs as: the Pod itself, or the pod an agent-sandbox Sandbox makes from its template.</summary>
    private static JsonObject PodOf(JsonObject workload) => (string?)workload["kind"] switch
    {
        "Pod" => workload,
        "Sandbox" => new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["name"] = workload["metadata"]!["name"]!.DeepClone(),
                ["namespace"] = workload["metadata"]!["namespace"]!.DeepClone(),
                ["labels"] = workload["spec"]!["podTemplate"]!["metadata"]?["labels"]?.DeepClone() ?? new JsonObject(),
            },
            ["spec"] = workload["spec"]!["podTemplate"]!["spec"]!.DeepClone(),
        },
        var kind => throw new InvalidOperationException($"no pod for {kind}"),
    };
}
