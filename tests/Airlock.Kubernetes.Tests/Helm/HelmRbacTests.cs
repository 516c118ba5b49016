using Airlock.Kubernetes.Objects;

namespace Airlock.Kubernetes.Tests.Helm;

/// <summary>
/// The chart's Role against the requests the driver really sends: the driver and lifecycle run against the FAKE
/// API server, every request is mapped to what RBAC would check, and the rendered Role must allow each one and
/// grant nothing else.
/// </summary>
public sealed class HelmRbacTests
{
    private static readonly string[] Forbidden = ["*", "escalate", "bind", "impersonate"];

    public static TheoryData<SandboxTopology, WorkloadKind> DriverCombinations() => new()
    {
        { SandboxTopology.Sidecar, WorkloadKind.Pod },
        { SandboxTopology.Sidecar, WorkloadKind.Sandbox },
        { SandboxTopology.ProxyPod, WorkloadKind.Pod },
        { SandboxTopology.ProxyPod, WorkloadKind.Sandbox },
    };

    [Theory]
    [MemberData(nameof(DriverCombinations))]
    public async Task The_role_allows_every_request_the_driver_sends(SandboxTopology topology, WorkloadKind workload)
    {
        var role = await RoleAsync($"kubernetes:\n  namespace: {DriverRequestRecorder.Namespace}\n  topology: {Value(topology)}\n  workload: {Value(workload)}\n");

        var sent = await DriverRequestRecorder.DriverAsync(topology, workload);

        var refused = sent.Where(p => !role.Allows(p)).ToList();
        Assert.True(refused.Count == 0, "the Role refuses: " + string.Join(", ", refused));
        Assert.Contains(sent, p => p.Resource == "pods/exec" && p.Verb == "create");
        Assert.Contains(sent, p => p.Resource == "pods/log" && p.Verb == "get");
        Assert.DoesNotContain(sent, p => p.Verb == "watch");
    }

    [Fact]
    public async Task The_role_allows_a_claim_and_the_reconcilers_collection()
    {
        var role = await RoleAsync($"kubernetes:\n  namespace: {DriverRequestRecorder.Namespace}\n  workload: claim\n  warmPool: python\n");

        var sent = (await DriverRequestRecorder.ClaimAsync()).Concat(await DriverRequestRecorder.CollectOrphansAsync()).ToList();

        var refused = sent.Where(p => !role.Allows(p)).ToList();
        Assert.True(refused.Count == 0, "the Role refuses: " + string.Join(", ", refused));
        Assert.Contains(sent, p => p.Resource == "sandboxclaims" && p.Verb == "create");
        Assert.Contains(sent, p => p.Resource == "configmaps" && p.Verb == "delete");
        Assert.Contains(sent, p => p.Resource == "secrets" && p.Verb == "get");
    }

    [Fact]
    public async Task The_role_grants_nothing_the_driver_never_uses()
    {
        // Claims add the one rule only they need (get on Secrets): the widest Role, checked against everything used.
        var role = await RoleAsync($"kubernetes:\n  namespace: {DriverRequestRecorder.Namespace}\n  workload: claim\n  warmPool: python\nrbac:\n  warmPools: true\n");
        var used = new HashSet<(string, string, string)>();
        foreach (var (topology, workload) in DriverCombinations().Select(row => ((SandboxTopology)row[0], (WorkloadKind)row[1])))
        {
            used.UnionWith((await DriverRequestRecorder.DriverAsync(topology, workload)).Select(p => (p.Group, p.Resource, p.Verb)));
        }

        used.UnionWith((await DriverRequestRecorder.ClaimAsync()).Select(p => (p.Group, p.Resource, p.Verb)));
        used.UnionWith((await DriverRequestRecorder.CollectOrphansAsync()).Select(p => (p.Group, p.Resource, p.Verb)));
        used.UnionWith((await DriverRequestRecorder.WarmPoolAsync()).Select(p => (p.Group, p.Resource, p.Verb)));

        var unused = role.Grants.Except(used).ToList();
        var missing = used.Except(role.Grants).ToList();
        Assert.True(unused.Count == 0, "granted but never used: " + string.Join(", ", unused));
        Assert.True(missing.Count == 0, "used but not granted: " + string.Join(", ", missing));
    }

    [Fact]
    public async Task Optional_rules_follow_the_values()
    {
        var defaults = await RoleAsync("{}\n");
        var withoutAgentSandbox = await RoleAsync("rbac:\n  agentSandbox: false\n");
        var withPools = await RoleAsync("rbac:\n  warmPools: true\n");

        Assert.Contains(defaults.Grants, g => g.Group == AgentSandboxApi.Group && g.Resource == "sandboxes");
        Assert.DoesNotContain(defaults.Grants, g => g.Resource is "sandboxtemplates" or "sandboxwarmpools");
        Assert.DoesNotContain(withoutAgentSandbox.Grants, g => g.Group.EndsWith("agents.x-k8s.io", StringComparison.Ordinal));
        Assert.Contains(withPools.Grants, g => (g.Group, g.Resource, g.Verb) == (AgentSandboxApi.ExtensionsGroup, "sandboxwarmpools", "create"));
    }

    [Fact]
    public async Task Without_agent_sandbox_rules_only_the_session_delete_listing_of_sandboxes_and_claims_is_refused()
    {
        // The driver lists every kind it manages when it deletes a session, agent-sandbox kinds included; it takes a
        // refusal of those two lists as "none of them" (SandboxLifecycle), so deletes work with rbac.agentSandbox=false.
        var role = await RoleAsync($"kubernetes:\n  namespace: {DriverRequestRecorder.Namespace}\nrbac:\n  agentSandbox: false\n");

        var sent = await DriverRequestRecorder.DriverAsync(SandboxTopology.Sidecar, WorkloadKind.Pod);

        Assert.Equal(
            ["list agents.x-k8s.io/sandboxes in agents", "list extensions.agents.x-k8s.io/sandboxclaims in agents"],
            sent.Where(p => !role.Allows(p)).Select(p => p.ToString()).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(HelmChartTests.ValueSets), MemberType = typeof(HelmChartTests))]
    public async Task Rbac_is_one_namespaced_role_in_the_sandbox_namespace_without_wildcards_or_escalation(string valueSet)
    {
        var objects = await HelmChart.ObjectsAsync(valueSet);
        var sandboxNamespace = valueSet == "separate-namespace" ? HelmChart.SeparateSandboxNamespace : HelmChart.ReleaseNamespace;

        Assert.DoesNotContain(objects, o => (string?)o["kind"] is "ClusterRole" or "ClusterRoleBinding");
        var role = new RoleRules(HelmChart.Single(objects, "Role"));
        var binding = HelmChart.Single(objects, "RoleBinding");
        Assert.Equal(sandboxNamespace, role.Namespace);
        Assert.Equal(sandboxNamespace, (string?)binding["metadata"]!["namespace"]);
        Assert.DoesNotContain(role.AllTerms, t => Forbidden.Contains(t) || t.Contains('*', StringComparison.Ordinal));
        Assert.Equal(("Role", (string?)HelmChart.Single(objects, "Role")["metadata"]!["name"]), ((string?)binding["roleRef"]!["kind"], (string?)binding["roleRef"]!["name"]));
        var subject = Assert.Single(binding["subjects"]!.AsArray())!;
        var account = HelmChart.Single(objects, "ServiceAccount");
        Assert.Equal(
            ("ServiceAccount", (string?)account["metadata"]!["name"], HelmChart.ReleaseNamespace),
            ((string?)subject["kind"], (string?)subject["name"], (string?)subject["namespace"]));
        // Reading a Secret back is a claim's need only (a restarted warm pod's proxy gets its session's policy again).
        Assert.Equal(valueSet == "claim-warm-pool", role.Grants.Any(g => g.Resource == "secrets" && g.Verb == "get"));
    }

    private static async Task<RoleRules> RoleAsync(string values)
    {
        var objects = Verification.YamlDocuments.Parse(await HelmChart.TemplateAsync(values));
        return new RoleRules(HelmChart.Single(objects, "Role"));
    }

    private static string Value(SandboxTopology topology) => topology == SandboxTopology.ProxyPod ? "proxy-pod" : "sidecar";

    private static string Value(WorkloadKind workload) => workload.ToString().ToLowerInvariant();
}
