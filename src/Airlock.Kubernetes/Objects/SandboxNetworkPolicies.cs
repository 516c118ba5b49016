using System.Collections.Immutable;
using k8s.Models;

namespace Airlock.Kubernetes.Objects;

/// <summary>
/// The NetworkPolicies of a sandbox. Created first, so the pods they select are never unconfined, even for a
/// moment. Every policy names both policy types, so anything not allowed by a rule is denied.
/// </summary>
internal static class SandboxNetworkPolicies
{
    /// <summary>The addresses the proxy may never dial, IPv4: private, CGNAT, link-local (cloud metadata included), loopback, "this network".</summary>
    public static readonly ImmutableArray<string> BlockedIPv4 =
        ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "169.254.169.254/32", "172.16.0.0/12", "192.168.0.0/16"];

    /// <summary>The same for IPv6: loopback, IPv4-mapped, ULA (AWS's metadata fd00:ec2::254 included), link-local.</summary>
    public static readonly ImmutableArray<string> BlockedIPv6 =
        ["::1/128", "::ffff:0:0/96", "fc00::/7", "fd00:ec2::254/128", "fe80::/10"];

    private const string NamespaceNameLabel = "kubernetes.io/metadata.name";

    public static IEnumerable<V1NetworkPolicy> Build(BuildContext context)
    {
        if (context.Network.Mode == NetworkMode.None)
        {
            return [];
        }

        return context.Spec.Topology == SandboxTopology.Sidecar
            ? [SidecarPod(context)]
            : [ProxyPodAgent(context), ProxyPodProxy(context)];
    }

    /// <summary>
    /// Sidecar: one pod holds the workload and its proxy. The nftables rules force the workload through the
    /// proxy; this policy bounds the whole pod to what the proxy needs (DNS, the public internet, the control
    /// plane), so a flaw in the rules still cannot reach the cluster's private addresses or cloud metadata.
    /// </summary>
    private static V1NetworkPolicy SidecarPod(BuildContext context)
    {
        var egress = new List<V1NetworkPolicyEgressRule> { Dns(context), PublicInternet() };
        egress.AddRange(ControlPlane(context));
        egress.AddRange(context.Network.CustomEgress);
        return Policy(context, context.Names.WorkloadNetworkPolicy, KubernetesLabels.RoleAgent, WorkloadIngress(context), egress);
    }

    /// <summary>Proxy pod: the workload may reach only its own proxy's port, and DNS when allowed.</summary>
    private static V1NetworkPolicy ProxyPodAgent(BuildContext context)
    {
        var egress = new List<V1NetworkPolicyEgressRule>
        {
            new()
            {
                To = [new V1NetworkPolicyPeer { PodSelector = Labels(context.Selector(KubernetesLabels.RoleProxy)) }],
                Ports = [Tcp(SandboxObjects.ExplicitProxyPort)],
            },
        };
        if (context.Network.Dns)
        {
            egress.Add(Dns(context));
        }

        egress.AddRange(context.Network.CustomEgress);
        return Policy(context, context.Names.WorkloadNetworkPolicy, KubernetesLabels.RoleAgent, WorkloadIngress(context), egress);
    }

    /// <summary>
    /// Proxy pod: accepts only its own workload (on the proxy port) and the control plane (metrics); reaches DNS,
    /// the public internet (never private, link-local or metadata addresses) and the control plane.
    /// </summary>
    private static V1NetworkPolicy ProxyPodProxy(BuildContext context)
    {
        var ingress = new List<V1NetworkPolicyIngressRule>
        {
            new()
            {
                FromProperty = [new V1NetworkPolicyPeer { PodSelector = Labels(context.Selector(KubernetesLabels.RoleAgent)) }],
                Ports = [Tcp(SandboxObjects.ExplicitProxyPort)],
            },
        };
        if (context.Spec.ControlPlane is { } plane)
        {
            ingress.Add(new V1NetworkPolicyIngressRule { FromProperty = [Peer(plane)], Ports = [Tcp(SandboxObjects.MetricsPort)] });
        }

        var egress = new List<V1NetworkPolicyEgressRule> { Dns(context), PublicInternet() };
        egress.AddRange(ControlPlane(context));
        return Policy(context, context.Names.ProxyNetworkPolicy, KubernetesLabels.RoleProxy, ingress, egress);
    }

    private static List<V1NetworkPolicyIngressRule> WorkloadIngress(BuildContext context)
    {
        var ingress = context.Network.IngressFrom.Select(peer => new V1NetworkPolicyIngressRule { FromProperty = [Peer(peer)] }).ToList();
        ingress.AddRange(context.Network.CustomIngress);
        return ingress;
    }

    private static V1NetworkPolicy Policy(
        BuildContext context, string name, string role, List<V1NetworkPolicyIngressRule> ingress, List<V1NetworkPolicyEgressRule> egress) => new()
        {
            ApiVersion = "networking.k8s.io/v1",
            Kind = "NetworkPolicy",
            Metadata = context.Metadata(name),
            Spec = new V1NetworkPolicySpec
            {
                PodSelector = Labels(context.Selector(role)),
                PolicyTypes = ["Ingress", "Egress"],
                Ingress = ingress,
                Egress = egress,
            },
        };

    private static V1NetworkPolicyEgressRule Dns(BuildContext context) => new()
    {
        To = [Peer(context.Options.ClusterDns)],
        Ports = [new V1NetworkPolicyPort { Protocol = "UDP", Port = 53 }, Tcp(53)],
    };

    private static V1NetworkPolicyEgressRule PublicInternet() => new()
    {
        To =
        [
            new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = "0.0.0.0/0", Except = [.. BlockedIPv4] } },
            new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = "::/0", Except = [.. BlockedIPv6] } },
        ],
    };

    private static IEnumerable<V1NetworkPolicyEgressRule> ControlPlane(BuildContext context)
    {
        if (context.Spec.ControlPlane is { } plane && context.Spec.ControlEndpoint is { } endpoint && SandboxObjects.ControlPort(endpoint) is { } port)
        {
            yield return new V1NetworkPolicyEgressRule { To = [Peer(plane)], Ports = [Tcp(port)] };
        }
    }

    private static V1NetworkPolicyPeer Peer(PeerSelector selector) => new()
    {
        NamespaceSelector = Labels(new Dictionary<string, string>(StringComparer.Ordinal) { [NamespaceNameLabel] = selector.Namespace }),
        PodSelector = Labels(new Dictionary<string, string>(selector.PodLabels, StringComparer.Ordinal)),
    };

    private static V1NetworkPolicyPort Tcp(int port) => new() { Protocol = "TCP", Port = port };

    private static V1LabelSelector Labels(IDictionary<string, string> labels) => new() { MatchLabels = labels };
}
