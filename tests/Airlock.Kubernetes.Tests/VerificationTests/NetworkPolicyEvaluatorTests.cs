using System.Net;
using System.Text.Json.Nodes;
using Airlock.Kubernetes.Tests.Verification;

namespace Airlock.Kubernetes.Tests.VerificationTests;

public class NetworkPolicyEvaluatorTests
{
    private static readonly ClusterNamespace Agents = new("agents", new Dictionary<string, string> { ["team"] = "ai" });
    private static readonly ClusterNamespace ControlPlane = new("airlock-system");
    private static readonly ClusterNamespace Other = new("other", new Dictionary<string, string> { ["team"] = "ai" });

    private static readonly ClusterPod Agent = Pod("agent", "agents", "10.1.0.10", ("role", "agent"));
    private static readonly ClusterPod Proxy = new(
        "proxy", "agents", Labels(("role", "proxy")), [IPAddress.Parse("10.1.0.11"), IPAddress.Parse("fd00::11")],
        [new NamedPort("proxy", 3128), new NamedPort("dns", 53, "UDP")]);
    private static readonly ClusterPod Router = Pod("router", "airlock-system", "10.2.0.5", ("role", "router"));
    private static readonly ClusterPod Stranger = Pod("stranger", "other", "10.3.0.7", ("role", "router"));

    private static readonly IPAddress Internet = IPAddress.Parse("93.184.216.34");
    private static readonly IPAddress Metadata = IPAddress.Parse("169.254.169.254");

    [Fact]
    public void Without_policies_everything_is_allowed()
    {
        var cluster = Cluster();

        Assert.True(cluster.Allows(Agent, Proxy, "TCP", 3128));
        Assert.True(cluster.Allows(Stranger, Agent, "UDP", 9));
        Assert.True(cluster.Allows(Agent, Internet, "TCP", 443));
        Assert.False(cluster.IsIsolatedForIngress(Agent));
    }

    [Fact]
    public void A_policy_selecting_a_pod_isolates_it_for_ingress_only_by_default()
    {
        var cluster = Cluster(Policy("deny-agent-ingress", "agents", """{ "matchLabels": { "role": "agent" } }"""));

        Assert.False(cluster.Allows(Proxy, Agent, "TCP", 8080));
        Assert.True(cluster.IsIsolatedForIngress(Agent));
        Assert.False(cluster.IsIsolatedForEgress(Agent));
        Assert.True(cluster.Allows(Agent, Internet, "TCP", 443));
        Assert.True(cluster.Allows(Agent, Proxy, "TCP", 3128));
        Assert.True(cluster.Allows(Router, Proxy, "TCP", 3128));
    }

    [Fact]
    public void Egress_rules_without_policyTypes_make_the_policy_isolate_egress_too()
    {
        var cluster = Cluster(Policy("agent", "agents", """{ "matchLabels": { "role": "agent" } }""", egress: """
            [ { "to": [ { "podSelector": { "matchLabels": { "role": "proxy" } } } ] } ]
            """));

        Assert.True(cluster.IsIsolatedForEgress(Agent));
        Assert.True(cluster.Allows(Agent, Proxy, "TCP", 3128));
        Assert.False(cluster.Allows(Agent, Internet, "TCP", 443));
    }

    [Fact]
    public void An_empty_podSelector_selects_every_pod_in_its_namespace_only()
    {
        var cluster = Cluster(Policy("default-deny", "agents", "{}", types: """["Ingress", "Egress"]"""));

        Assert.False(cluster.Allows(Agent, Proxy, "TCP", 3128));
        Assert.False(cluster.Allows(Proxy, Internet, "TCP", 443));
        Assert.True(cluster.Allows(Router, Stranger, "TCP", 80));
    }

    [Fact]
    public void Policies_are_a_union()
    {
        var deny = Policy("default-deny", "agents", "{}", types: """["Ingress", "Egress"]""");
        var toProxy = Policy("agent-to-proxy", "agents", """{ "matchLabels": { "role": "agent" } }""", types: """["Egress"]""", egress: """
            [ { "to": [ { "podSelector": { "matchLabels": { "role": "proxy" } } } ], "ports": [ { "port": 3128 } ] } ]
            """);
        var fromAgent = Policy("proxy-from-agent", "agents", """{ "matchLabels": { "role": "proxy" } }""", ingress: """
            [ { "from": [ { "podSelector": { "matchLabels": { "role": "agent" } } } ] } ]
            """);

        Assert.False(Cluster(deny, toProxy).Allows(Agent, Proxy, "TCP", 3128));
        Assert.False(Cluster(deny, fromAgent).Allows(Agent, Proxy, "TCP", 3128));
        var both = Cluster(deny, toProxy, fromAgent);
        Assert.True(both.Allows(Agent, Proxy, "TCP", 3128));
        Assert.False(both.Allows(Agent, Proxy, "TCP", 3129));
        Assert.False(both.Allows(Agent, Proxy, "UDP", 3128));
        Assert.Equal(["default-deny", "agent-to-proxy"], both.PoliciesSelecting(Agent));
    }

    [Fact]
    public void Egress_and_ingress_must_both_allow_a_connection()
    {
        var proxyIngressOnlyFromRouter = Policy("proxy", "agents", """{ "matchLabels": { "role": "proxy" } }""", ingress: """
            [ { "from": [ { "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "airlock-system" } } } ] } ]
            """);
        var agentEgressToProxy = Policy("agent", "agents", """{ "matchLabels": { "role": "agent" } }""", egress: """
            [ { "to": [ { "podSelector": { "matchLabels": { "role": "proxy" } } } ] } ]
            """);
        var cluster = Cluster(proxyIngressOnlyFromRouter, agentEgressToProxy);

        Assert.True(cluster.AllowsEgress(Agent, Proxy, "TCP", 3128));
        Assert.False(cluster.AllowsIngress(Agent, Proxy, "TCP", 3128));
        Assert.False(cluster.Allows(Agent, Proxy, "TCP", 3128));
        Assert.True(cluster.Allows(Router, Proxy, "TCP", 3128));
    }

    [Fact]
    public void A_namespace_and_pod_selector_in_one_peer_are_ANDed_but_in_separate_peers_ORed()
    {
        const string and = """
            [ { "from": [ { "namespaceSelector": { "matchLabels": { "team": "ai" } }, "podSelector": { "matchLabels": { "role": "router" } } } ] } ]
            """;
        const string or = """
            [ { "from": [ { "namespaceSelector": { "matchLabels": { "team": "ai" } } }, { "podSelector": { "matchLabels": { "role": "router" } } } ] } ]
            """;
        var routerInAgents = Pod("router", "agents", "10.1.0.20", ("role", "router"));
        var anded = Cluster(Policy("p", "agents", """{ "matchLabels": { "role": "proxy" } }""", ingress: and));
        var ored = Cluster(Policy("p", "agents", """{ "matchLabels": { "role": "proxy" } }""", ingress: or));

        Assert.True(anded.Allows(Stranger, Proxy, "TCP", 3128));
        Assert.True(anded.Allows(routerInAgents, Proxy, "TCP", 3128));
        Assert.False(anded.Allows(Agent, Proxy, "TCP", 3128));
        Assert.False(anded.Allows(Router, Proxy, "TCP", 3128));

        Assert.True(ored.Allows(Agent, Proxy, "TCP", 3128));
        Assert.True(ored.Allows(Stranger, Proxy, "TCP", 3128));
        Assert.False(ored.Allows(Router, Proxy, "TCP", 3128));
    }

    [Fact]
    public void A_podSelector_alone_only_selects_pods_in_the_policys_namespace()
    {
        var cluster = Cluster(Policy("p", "agents", """{ "matchLabels": { "role": "proxy" } }""", ingress: """
            [ { "from": [ { "podSelector": { "matchLabels": { "role": "router" } } } ] } ]
            """));

        Assert.False(cluster.Allows(Router, Proxy, "TCP", 3128));
        Assert.True(cluster.Allows(Pod("r", "agents", "10.1.0.21", ("role", "router")), Proxy, "TCP", 3128));
    }

    [Fact]
    public void Cross_namespace_peers_select_by_the_implicit_metadata_name_label()
    {
        var cluster = Cluster(Policy("p", "agents", """{ "matchLabels": { "role": "proxy" } }""", ingress: """
            [ { "from": [ {
                "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "airlock-system" } },
                "podSelector": { "matchExpressions": [ { "key": "role", "operator": "In", "values": [ "router", "api" ] } ] } } ] } ]
            """));

        Assert.True(cluster.Allows(Router, Proxy, "TCP", 3128));
        Assert.False(cluster.Allows(Stranger, Proxy, "TCP", 3128));
        Assert.False(cluster.Allows(Pod("job", "airlock-system", "10.2.0.9", ("role", "job")), Proxy, "TCP", 3128));
    }

    [Theory]
    [InlineData("""{ "key": "role", "operator": "NotIn", "values": [ "agent" ] }""", false, true)]
    [InlineData("""{ "key": "role", "operator": "Exists" }""", true, true)]
    [InlineData("""{ "key": "tier", "operator": "DoesNotExist" }""", true, false)]
    [InlineData("""{ "key": "tier", "operator": "Exists" }""", false, true)]
    public void Match_expressions_select_pods(string expression, bool selectsAgent, bool selectsRouter)
    {
        var tieredRouter = Pod("router", "agents", "10.1.0.30", ("role", "router"), ("tier", "edge"));
        var cluster = Cluster(Policy("p", "agents", $$"""{ "matchExpressions": [ {{expression}} ] }"""));

        Assert.Equal(selectsAgent, cluster.IsIsolatedForIngress(Agent));
        Assert.Equal(selectsRouter, cluster.IsIsolatedForIngress(tieredRouter));
    }

    [Fact]
    public void An_ipBlock_allows_its_cidr_minus_the_exceptions_for_ipv4_and_ipv6()
    {
        var cluster = Cluster(Policy("proxy-egress", "agents", """{ "matchLabels": { "role": "proxy" } }""", types: """["Egress"]""", egress: """
            [ { "to": [
                { "ipBlock": { "cidr": "0.0.0.0/0", "except": [ "10.0.0.0/8", "169.254.0.0/16", "192.168.0.0/16" ] } },
                { "ipBlock": { "cidr": "::/0", "except": [ "fc00::/7", "fe80::/10" ] } } ] } ]
            """));

        Assert.True(cluster.Allows(Proxy, Internet, "TCP", 443));
        Assert.False(cluster.Allows(Proxy, Metadata, "TCP", 80));
        Assert.False(cluster.Allows(Proxy, IPAddress.Parse("10.200.0.1"), "TCP", 443));
        Assert.True(cluster.Allows(Proxy, IPAddress.Parse("2606:4700::1111"), "TCP", 443));
        Assert.False(cluster.Allows(Proxy, IPAddress.Parse("fd12::1"), "TCP", 443));
        Assert.False(cluster.Allows(Proxy, IPAddress.Parse("fe80::1"), "TCP", 443));
        // Pod IPs are matched by ipBlock here (implementation-defined): 10.1.0.10 is in an except.
        Assert.False(cluster.Allows(Proxy, Agent, "TCP", 8080));
    }

    [Fact]
    public void An_ipBlock_also_matches_pod_ips_as_documented()
    {
        var cluster = Cluster(Policy("agent", "agents", """{ "matchLabels": { "role": "agent" } }""", egress: """
            [ { "to": [ { "ipBlock": { "cidr": "10.1.0.0/24" } } ] } ]
            """));

        Assert.True(cluster.Allows(Agent, Proxy, "TCP", 3128));
        Assert.False(cluster.Allows(Agent, Router, "TCP", 80));
    }

    [Fact]
    public void A_named_port_resolves_against_the_destination_pods_container_ports()
    {
        var cluster = Cluster(
            Policy("proxy", "agents", """{ "matchLabels": { "role": "proxy" } }""", ingress: """
                [ { "ports": [ { "port": "proxy" } ] } ]
                """),
            Policy("agent", "agents", """{ "matchLabels": { "role": "agent" } }""", egress: """
                [ { "ports": [ { "port": "dns", "protocol": "UDP" } ] } ]
                """));

        Assert.True(cluster.Allows(Router, Proxy, "TCP", 3128));
        Assert.False(cluster.Allows(Router, Proxy, "TCP", 3129));
        Assert.True(cluster.AllowsEgress(Agent, Proxy, "UDP", 53));
        Assert.False(cluster.AllowsEgress(Agent, Proxy, "TCP", 53));
        Assert.False(cluster.AllowsEgress(Agent, Internet, "UDP", 53));
    }

    [Fact]
    public void An_endPort_allows_an_inclusive_range()
    {
        var cluster = Cluster(Policy("agent", "agents", """{ "matchLabels": { "role": "agent" } }""", egress: """
            [ { "ports": [ { "protocol": "TCP", "port": 32000, "endPort": 32768 } ] } ]
            """));

        Assert.False(cluster.Allows(Agent, Internet, "TCP", 31999));
        Assert.True(cluster.Allows(Agent, Internet, "TCP", 32000));
        Assert.True(cluster.Allows(Agent, Internet, "TCP", 32768));
        Assert.False(cluster.Allows(Agent, Internet, "TCP", 32769));
        Assert.False(cluster.Allows(Agent, Internet, "UDP", 32100));
    }

    [Fact]
    public void Protocol_defaults_to_tcp()
    {
        var cluster = Cluster(Policy("agent", "agents", """{ "matchLabels": { "role": "agent" } }""", egress: """
            [ { "ports": [ { "port": 53 } ] } ]
            """));

        Assert.True(cluster.Allows(Agent, Internet, "TCP", 53));
        Assert.False(cluster.Allows(Agent, Internet, "UDP", 53));
    }

    [Fact]
    public void Pods_read_from_a_pod_object_carry_its_namespace_labels_and_named_ports()
    {
        var pod = ClusterPod.FromPod(SampleObjects.RestrictedPod(), IPAddress.Parse("10.1.0.40"));
        var cluster = Cluster(SampleObjects.NetworkPolicy(), Policy("proxy", "agents", """{ "matchLabels": { "airlock.dev/session": "s-1a2b3c" } }""", ingress: """
            [ { "ports": [ { "port": "proxy" } ] } ]
            """));

        Assert.Equal("agents", pod.Namespace);
        Assert.Equal([new NamedPort("proxy", 3128)], pod.NamedPorts);
        Assert.True(cluster.Allows(Router, pod, "TCP", 3128));
        Assert.False(cluster.Allows(pod, Internet, "TCP", 443));
        Assert.True(cluster.Allows(pod, Internet, "TCP", 32001));
    }

    private static NetworkPolicyEvaluator Cluster(params JsonNode[] policies) => new([Agents, ControlPlane, Other], policies);

    private static JsonObject Policy(string name, string ns, string podSelector, string? types = null, string? ingress = null, string? egress = null)
    {
        var spec = new JsonObject { ["podSelector"] = JsonNode.Parse(podSelector) };
        if (types is not null)
        {
            spec["policyTypes"] = JsonNode.Parse(types);
        }

        if (ingress is not null)
        {
            spec["ingress"] = JsonNode.Parse(ingress);
        }

        if (egress is not null)
        {
            spec["egress"] = JsonNode.Parse(egress);
        }

        var policy = new JsonObject
        {
            ["apiVersion"] = "networking.k8s.io/v1",
            ["kind"] = "NetworkPolicy",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["spec"] = spec,
        };
        // Every policy a test evaluates is one the API server would accept.
        Assert.Empty(KubernetesValidator.Validate(policy));
        return policy;
    }

    private static ClusterPod Pod(string name, string ns, string ip, params (string Key, string Value)[] labels) =>
        new(name, ns, Labels(labels), [IPAddress.Parse(ip)]);

    private static Dictionary<string, string> Labels(params (string Key, string Value)[] labels) =>
        labels.ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);
}
