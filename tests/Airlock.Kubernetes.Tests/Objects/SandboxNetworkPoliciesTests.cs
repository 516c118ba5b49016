using Airlock.Kubernetes.Objects;
using k8s.Models;
using static Airlock.Kubernetes.Tests.Objects.SandboxSpecs;

namespace Airlock.Kubernetes.Tests.Objects;

public sealed class SandboxNetworkPoliciesTests
{
    private static readonly string[] PrivateV4 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8", "169.254.169.254/32"];
    private static readonly string[] PrivateV6 = ["fc00::/7", "fe80::/10", "::1/128", "fd00:ec2::254/128"];

    [Fact]
    public void Mode_none_writes_no_policy_for_the_sidecar()
    {
        Assert.Empty(Policies(SandboxObjects.Build(Spec(mode: NetworkMode.None), Ca)));
    }

    [Fact]
    public void Proxy_pod_agent_reaches_only_its_proxy_port_and_dns()
    {
        var set = SandboxObjects.Build(Spec(SandboxTopology.ProxyPod), Ca);
        var agent = Policies(set).Single(p => p.Metadata.Name == set.Names.WorkloadNetworkPolicy);

        Assert.Equal(["Ingress", "Egress"], agent.Spec.PolicyTypes);
        Assert.Equal("agent", agent.Spec.PodSelector.MatchLabels[KubernetesLabels.Role]);
        Assert.Equal("ses_01JTEST", agent.Spec.PodSelector.MatchLabels[KubernetesLabels.Session]);
        Assert.Equal(2, agent.Spec.Egress.Count);
        var toProxy = agent.Spec.Egress[0];
        var peer = Assert.Single(toProxy.To);
        Assert.Null(peer.NamespaceSelector);
        Assert.Null(peer.IpBlock);
        Assert.Equal("proxy", peer.PodSelector.MatchLabels[KubernetesLabels.Role]);
        Assert.Equal("ses_01JTEST", peer.PodSelector.MatchLabels[KubernetesLabels.Session]);
        var port = Assert.Single(toProxy.Ports);
        Assert.Equal(("TCP", "3128"), (port.Protocol, port.Port.Value));
        AssertDns(agent.Spec.Egress[1]);
        Assert.DoesNotContain(agent.Spec.Egress, rule => rule.To?.Any(p => p.IpBlock is not null) == true);
    }

    [Fact]
    public void Proxy_pod_proxy_accepts_only_its_agent_and_the_control_plane_and_dials_only_public_addresses()
    {
        var set = SandboxObjects.Build(Spec(SandboxTopology.ProxyPod), Ca);
        var proxy = Policies(set).Single(p => p.Metadata.Name == set.Names.ProxyNetworkPolicy);

        Assert.Equal("proxy", proxy.Spec.PodSelector.MatchLabels[KubernetesLabels.Role]);
        Assert.Equal(2, proxy.Spec.Ingress.Count);
        var fromAgent = Assert.Single(proxy.Spec.Ingress[0].FromProperty);
        Assert.Equal("agent", fromAgent.PodSelector.MatchLabels[KubernetesLabels.Role]);
        Assert.Null(fromAgent.NamespaceSelector);
        var fromPlane = Assert.Single(proxy.Spec.Ingress[1].FromProperty);
        Assert.Equal("airlock-system", fromPlane.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]);
        Assert.Equal("airlock", fromPlane.PodSelector.MatchLabels["app"]);

        AssertPublicInternetOnly(proxy.Spec.Egress);
        var toPlane = proxy.Spec.Egress.Single(r => r.To.Any(p => p.NamespaceSelector?.MatchLabels["kubernetes.io/metadata.name"] == "airlock-system"));
        Assert.Equal("7070", Assert.Single(toPlane.Ports).Port.Value);
    }

    [Fact]
    public void Sidecar_pod_egress_is_dns_public_internet_and_control_plane_only()
    {
        var set = SandboxObjects.Build(Spec(), Ca);
        var policy = Policies(set).Single();

        Assert.Equal(["Ingress", "Egress"], policy.Spec.PolicyTypes);
        Assert.Equal(3, policy.Spec.Egress.Count);
        AssertDns(policy.Spec.Egress[0]);
        AssertPublicInternetOnly(policy.Spec.Egress);
        var ingress = Assert.Single(policy.Spec.Ingress);
        Assert.Equal("airlock-system", Assert.Single(ingress.FromProperty).NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]);
    }

    [Fact]
    public void Sidecar_pod_keeps_dns_for_its_proxy_when_the_workload_has_none()
    {
        var sidecar = Policies(SandboxObjects.Build(Spec(dns: false), Ca)).Single();

        // The sidecar's proxy resolves names itself, so the pod keeps DNS; the nft rules keep the workload off it.
        AssertDns(sidecar.Spec.Egress[0]);
    }

    [Fact]
    public void Custom_mode_adds_the_raw_rules_to_the_workload_policy()
    {
        var set = SandboxObjects.Build(Spec(SandboxTopology.ProxyPod, mode: NetworkMode.Custom), Ca);
        var agent = Policies(set).Single(p => p.Metadata.Name == set.Names.WorkloadNetworkPolicy);
        var proxy = Policies(set).Single(p => p.Metadata.Name == set.Names.ProxyNetworkPolicy);

        Assert.Contains(agent.Spec.Egress, r => r.To.Any(p => p.IpBlock?.Cidr == "10.20.0.0/16"));
        Assert.Contains(agent.Spec.Ingress, r => r.FromProperty.Any(p => p.IpBlock?.Cidr == "10.30.0.0/16"));
        Assert.DoesNotContain(proxy.Spec.Egress, r => r.To.Any(p => p.IpBlock?.Cidr == "10.20.0.0/16"));
    }

    [Fact]
    public void A_session_override_replaces_the_template_settings_without_merging()
    {
        var template = Spec(SandboxTopology.ProxyPod, mode: NetworkMode.Custom);
        var spec = template with { NetworkPolicyOverride = new NetworkPolicySettings { Mode = NetworkMode.Restricted, Dns = true } };

        var set = SandboxObjects.Build(spec, Ca);

        Assert.Same(spec.NetworkPolicyOverride, set.NetworkPolicy);
        var agent = Policies(set).Single(p => p.Metadata.Name == set.Names.WorkloadNetworkPolicy);
        Assert.DoesNotContain(agent.Spec.Egress, r => r.To.Any(p => p.IpBlock?.Cidr == "10.20.0.0/16"));
        Assert.Empty(agent.Spec.Ingress);
    }

    [Fact]
    public void A_session_override_is_an_error_when_the_server_forbids_overrides()
    {
        var spec = Spec() with { NetworkPolicyOverride = new NetworkPolicySettings { Mode = NetworkMode.None } };
        var options = SandboxObjectsOptions.Default with { AllowNetworkPolicyOverride = false };

        var error = Assert.Throws<SandboxSpecException>(() => SandboxObjects.Build(spec, Ca, options));

        Assert.Contains("forbids", error.Message, StringComparison.Ordinal);
        Assert.Contains("ses_01JTEST", error.Message, StringComparison.Ordinal);
        Assert.Single(Policies(SandboxObjects.Build(spec with { NetworkPolicyOverride = null }, Ca, options)));
    }

    private static void AssertDns(V1NetworkPolicyEgressRule rule)
    {
        var peer = Assert.Single(rule.To);
        Assert.Equal("kube-system", peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]);
        Assert.Equal("kube-dns", peer.PodSelector.MatchLabels["k8s-app"]);
        Assert.Equal(["UDP/53", "TCP/53"], rule.Ports.Select(p => $"{p.Protocol}/{p.Port.Value}"));
    }

    private static void AssertPublicInternetOnly(IEnumerable<V1NetworkPolicyEgressRule> egress)
    {
        var blocks = egress.SelectMany(r => r.To).Where(p => p.IpBlock is not null).Select(p => p.IpBlock).ToList();
        Assert.Equal(2, blocks.Count);
        var v4 = blocks.Single(b => b.Cidr == "0.0.0.0/0");
        var v6 = blocks.Single(b => b.Cidr == "::/0");
        Assert.All(PrivateV4, cidr => Assert.Contains(cidr, v4.Except));
        Assert.All(PrivateV6, cidr => Assert.Contains(cidr, v6.Except));
        Assert.Null(egress.Single(r => r.To.Any(p => p.IpBlock is not null)).Ports);
    }
}
