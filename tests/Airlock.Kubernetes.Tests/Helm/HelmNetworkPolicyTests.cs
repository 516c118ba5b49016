using System.Net;
using System.Text.Json.Nodes;
using Airlock.Kubernetes.Tests.Verification;

namespace Airlock.Kubernetes.Tests.Helm;

/// <summary>The control plane's NetworkPolicy, evaluated with Kubernetes semantics against pods of each kind.</summary>
public sealed class HelmNetworkPolicyTests
{
    private const int Control = 7070, Http = 8080;

    [Fact]
    public async Task In_the_proxy_pod_topology_only_proxy_pods_of_the_sandbox_namespace_reach_the_control_port()
    {
        var (evaluator, plane) = await ClusterAsync("separate-namespace");
        var proxy = Pod("proxy", "agents", ("app.kubernetes.io/managed-by", "airlock"), ("airlock.dev/session", "s1"), ("airlock.dev/role", "proxy"));
        var agent = Pod("agent", "agents", ("app.kubernetes.io/managed-by", "airlock"), ("airlock.dev/session", "s1"), ("airlock.dev/role", "agent"));
        var random = Pod("random", "agents", ("app", "web"));
        var proxyElsewhere = Pod("proxy-elsewhere", "other", ("app.kubernetes.io/managed-by", "airlock"), ("airlock.dev/role", "proxy"));
        var neighbour = Pod("neighbour", HelmChart.ReleaseNamespace, ("app", "ui"));

        Assert.True(evaluator.Allows(proxy, plane, "TCP", Control));
        Assert.False(evaluator.Allows(agent, plane, "TCP", Control));
        Assert.False(evaluator.Allows(random, plane, "TCP", Control));
        Assert.False(evaluator.Allows(proxyElsewhere, plane, "TCP", Control));
        Assert.False(evaluator.Allows(neighbour, plane, "TCP", Control));
        Assert.False(evaluator.Allows(proxy, plane, "TCP", Http));
        Assert.True(evaluator.Allows(neighbour, plane, "TCP", Http));
        Assert.False(evaluator.Allows(random, plane, "TCP", Http));
    }

    [Fact]
    public async Task In_the_sidecar_topology_the_sandbox_pod_reaches_the_control_port_and_no_sandbox_reaches_http()
    {
        var (evaluator, plane) = await ClusterAsync("defaults");
        var sandbox = Pod("sandbox", HelmChart.ReleaseNamespace, ("app.kubernetes.io/managed-by", "airlock"), ("airlock.dev/session", "s1"), ("airlock.dev/role", "agent"));
        var warm = Pod("warm", HelmChart.ReleaseNamespace, ("airlock.dev/pool", "python"));
        var random = Pod("random", HelmChart.ReleaseNamespace, ("app", "web"));

        Assert.True(evaluator.Allows(sandbox, plane, "TCP", Control));
        Assert.False(evaluator.Allows(random, plane, "TCP", Control));
        Assert.False(evaluator.Allows(warm, plane, "TCP", Control));
        Assert.True(evaluator.Allows(random, plane, "TCP", Http));
        // Sandboxes sharing the release namespace are not "any pod in the namespace" for the API.
        Assert.False(evaluator.Allows(sandbox, plane, "TCP", Http));
        Assert.False(evaluator.Allows(warm, plane, "TCP", Http));
    }

    [Fact]
    public async Task With_a_warm_pool_its_pods_reach_the_control_port()
    {
        var (evaluator, plane) = await ClusterAsync("claim-warm-pool");
        var warm = Pod("warm", HelmChart.ReleaseNamespace, ("airlock.dev/pool", "python"));
        var otherPool = Pod("other", HelmChart.ReleaseNamespace, ("airlock.dev/pool", "node"));

        Assert.True(evaluator.Allows(warm, plane, "TCP", Control));
        Assert.False(evaluator.Allows(otherPool, plane, "TCP", Control));
    }

    [Fact]
    public async Task Egress_is_dns_the_api_server_and_with_postgres_the_database_only()
    {
        var (evaluator, plane) = await ClusterAsync("postgres");
        var (withoutDatabase, planeWithoutDatabase) = await ClusterAsync("defaults");
        var dns = Pod("coredns", "kube-system", ("k8s-app", "kube-dns"));
        var database = IPAddress.Parse("10.0.40.5");
        var apiServer = IPAddress.Parse("172.18.0.2");

        Assert.True(evaluator.Allows(plane, dns, "UDP", 53));
        Assert.True(evaluator.Allows(plane, dns, "TCP", 53));
        Assert.True(evaluator.Allows(plane, apiServer, "TCP", 6443));
        Assert.True(evaluator.Allows(plane, apiServer, "TCP", 443));
        Assert.True(evaluator.Allows(plane, database, "TCP", 5432));
        Assert.False(evaluator.Allows(plane, IPAddress.Parse("10.0.41.5"), "TCP", 5432));
        Assert.False(evaluator.Allows(plane, IPAddress.Parse("93.184.215.14"), "TCP", 80));
        Assert.False(evaluator.Allows(plane, IPAddress.Parse("169.254.169.254"), "TCP", 80));
        Assert.False(evaluator.Allows(plane, Pod("x", "agents", ("app", "x")), "TCP", 8080));
        Assert.False(withoutDatabase.Allows(planeWithoutDatabase, database, "TCP", 5432));
    }

    private static ClusterPod Pod(string name, string ns, params (string Key, string Value)[] labels) =>
        new(name, ns, labels.ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal), [IPAddress.Parse($"10.244.{name.Sum(c => c) % 200}.{name.Length + 10}")]);

    /// <summary>The chart's NetworkPolicies in a cluster, and the control plane pod as its Deployment would run it.</summary>
    private static async Task<(NetworkPolicyEvaluator Evaluator, ClusterPod ControlPlane)> ClusterAsync(string valueSet)
    {
        var objects = await HelmChart.ObjectsAsync(valueSet);
        var template = HelmChart.Single(objects, "Deployment")["spec"]!["template"]!;
        var plane = ClusterPod.FromPod(
            new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = "airlock-0", ["namespace"] = HelmChart.ReleaseNamespace, ["labels"] = template["metadata"]!["labels"]!.DeepClone() },
                ["spec"] = template["spec"]!.DeepClone(),
            },
            IPAddress.Parse("10.244.9.9"));
        var evaluator = new NetworkPolicyEvaluator(
            [new ClusterNamespace(HelmChart.ReleaseNamespace), new ClusterNamespace("agents"), new ClusterNamespace("other"), new ClusterNamespace("kube-system")],
            objects.Where(o => (string?)o["kind"] == "NetworkPolicy"));
        Assert.True(evaluator.IsIsolatedForIngress(plane) && evaluator.IsIsolatedForEgress(plane));
        return (evaluator, plane);
    }
}
