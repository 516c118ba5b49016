using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Airlock.Kubernetes.Tests.Verification;

/// <summary>
/// Decides whether a connection is allowed under a set of <c>networking.k8s.io/v1</c> NetworkPolicies, following
/// the API's documented semantics (what an enforcing CNI must implement):
/// <list type="bullet">
/// <item>A pod is isolated for ingress (egress) only if some policy in its namespace selects it (<c>podSelector</c>,
/// empty = every pod in the namespace) and has that policy type. <c>policyTypes</c> defaults to Ingress, plus
/// Egress when the policy has egress rules. A pod nothing isolates allows everything in that direction.</item>
/// <item>For an isolated pod, traffic is allowed if any rule of any selecting policy of that type allows it
/// (policies are a union; there is no deny).</item>
/// <item>A rule matches when one of its peers matches the other end (no <c>from</c>/<c>to</c> = any peer) and one of
/// its ports matches (no <c>ports</c> = any port). Peers: <c>podSelector</c> alone = pods in the policy's namespace;
/// <c>namespaceSelector</c> alone = all pods in the selected namespaces; both in one peer = pods selected by both
/// (AND; separate peers are OR); <c>ipBlock</c> = addresses in <c>cidr</c> and not in any <c>except</c>.</item>
/// <item>Ports: <c>protocol</c> defaults to TCP; <c>port</c> absent = every port of that protocol; a named port
/// matches the destination pod's container port of that name and protocol (an address outside the cluster has
/// none); <c>endPort</c> makes <c>port</c>..<c>endPort</c> inclusive.</item>
/// <item>A connection between two pods needs the source's egress and the destination's ingress to allow it.</item>
/// </list>
/// Implementation-defined in the API and decided here: <c>ipBlock</c> also matches pod IPs (some CNIs, e.g. Calico,
/// do; others only apply it to off-cluster traffic), so a test that relies on ipBlock excluding pods must use an
/// <c>except</c> or a selector. Not modelled: host-network pods, node-local traffic (always allowed from the node),
/// traffic to a pod from itself, Services (policies see pod IPs after DNAT), and reply packets (connections are
/// stateful, so only the opening direction is evaluated).
/// </summary>
public sealed class NetworkPolicyEvaluator
{
    private readonly IReadOnlyDictionary<string, ClusterNamespace> _namespaces;
    private readonly IReadOnlyList<Policy> _policies;

    /// <summary>
    /// A cluster of <paramref name="namespaces"/> with <paramref name="policies"/> (NetworkPolicy objects) applied;
    /// pods are passed to each question. A pod's namespace that is not listed is taken to exist without labels.
    /// </summary>
    public NetworkPolicyEvaluator(IEnumerable<ClusterNamespace> namespaces, IEnumerable<JsonNode> policies)
    {
        ArgumentNullException.ThrowIfNull(namespaces);
        ArgumentNullException.ThrowIfNull(policies);
        _namespaces = namespaces.ToDictionary(n => n.Name, StringComparer.Ordinal);
        _policies = [.. policies.Select(Policy.Parse)];
    }

    /// <summary>
    /// Whether <paramref name="from"/> may open a <paramref name="protocol"/> connection to <paramref name="to"/>
    /// on <paramref name="port"/>: egress from a source pod and ingress to a destination pod must both allow it.
    /// </summary>
    public bool Allows(NetworkEndpoint from, NetworkEndpoint to, string protocol, int port)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        if (from is NetworkEndpoint.External && to is NetworkEndpoint.External)
        {
            throw new ArgumentException("At least one end of a connection must be a pod for NetworkPolicies to apply.", nameof(to));
        }

        var egress = from is not NetworkEndpoint.Pod source || AllowsEgress(source.Value, to, protocol, port);
        var ingress = to is not NetworkEndpoint.Pod destination || AllowsIngress(from, destination.Value, protocol, port);
        return egress && ingress;
    }

    /// <summary>Whether <paramref name="source"/>'s egress policies let it connect to <paramref name="to"/>.</summary>
    public bool AllowsEgress(ClusterPod source, NetworkEndpoint to, string protocol, int port)
    {
        ArgumentNullException.ThrowIfNull(source);
        var selecting = Selecting(source, PolicyDirection.Egress).ToList();
        return selecting.Count == 0
            || selecting.Any(p => p.Egress.Any(rule => rule.Matches(p.Namespace, to, to, protocol, port, this)));
    }

    /// <summary>Whether <paramref name="destination"/>'s ingress policies let <paramref name="from"/> connect to it.</summary>
    public bool AllowsIngress(NetworkEndpoint from, ClusterPod destination, string protocol, int port)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var selecting = Selecting(destination, PolicyDirection.Ingress).ToList();
        return selecting.Count == 0
            || selecting.Any(p => p.Ingress.Any(rule => rule.Matches(p.Namespace, from, destination, protocol, port, this)));
    }

    /// <summary>Whether some policy isolates <paramref name="pod"/> for ingress.</summary>
    public bool IsIsolatedForIngress(ClusterPod pod) => Selecting(pod, PolicyDirection.Ingress).Any();

    /// <summary>Whether some policy isolates <paramref name="pod"/> for egress.</summary>
    public bool IsIsolatedForEgress(ClusterPod pod) => Selecting(pod, PolicyDirection.Egress).Any();

    /// <summary>The names of the policies that select <paramref name="pod"/> (any policy type).</summary>
    public IReadOnlyList<string> PoliciesSelecting(ClusterPod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return [.. _policies.Where(p => p.Selects(pod)).Select(p => p.Name)];
    }

    private IEnumerable<Policy> Selecting(ClusterPod pod, PolicyDirection direction) =>
        _policies.Where(p => p.Types.Contains(direction) && p.Selects(pod));

    private IReadOnlyDictionary<string, string> NamespaceLabels(string name) =>
        (_namespaces.GetValueOrDefault(name) ?? new ClusterNamespace(name)).EffectiveLabels;

    private enum PolicyDirection
    {
        Ingress,
        Egress,
    }

    private sealed record Policy(
        string Name,
        string Namespace,
        LabelSelector PodSelector,
        IReadOnlySet<PolicyDirection> Types,
        IReadOnlyList<Rule> Ingress,
        IReadOnlyList<Rule> Egress)
    {
        public bool Selects(ClusterPod pod) => pod.Namespace == Namespace && PodSelector.Matches(pod.Labels);

        public static Policy Parse(JsonNode policy)
        {
            if (policy["kind"]?.GetValue<string>() != "NetworkPolicy")
            {
                throw new ArgumentException("Expected a NetworkPolicy object.", nameof(policy));
            }

            var metadata = policy["metadata"]!;
            var spec = policy["spec"]!;
            var ingress = Rules(spec["ingress"], "from");
            var egress = Rules(spec["egress"], "to");
            var types = spec["policyTypes"] is JsonArray { Count: > 0 } declared
                ? declared.Select(t => Enum.Parse<PolicyDirection>(t!.GetValue<string>())).ToHashSet()
                : egress.Count > 0 ? [PolicyDirection.Ingress, PolicyDirection.Egress] : [PolicyDirection.Ingress];
            return new Policy(
                metadata["name"]!.GetValue<string>(),
                metadata["namespace"]?.GetValue<string>() ?? "default",
                // An absent podSelector is the empty selector: every pod in the namespace.
                LabelSelector.Parse(spec["podSelector"] ?? new JsonObject()),
                types,
                ingress,
                egress);
        }

        private static List<Rule> Rules(JsonNode? rules, string peersField) =>
            rules is JsonArray list ? [.. list.Select(r => Rule.Parse(r!, peersField))] : [];
    }

    private sealed record Rule(IReadOnlyList<Peer>? Peers, IReadOnlyList<PortRange>? Ports)
    {
        public static Rule Parse(JsonNode rule, string peersField) => new(
            rule[peersField] is JsonArray { Count: > 0 } peers ? [.. peers.Select(p => Peer.Parse(p!))] : null,
            rule["ports"] is JsonArray { Count: > 0 } ports ? [.. ports.Select(p => PortRange.Parse(p!))] : null);

        /// <summary>
        /// <paramref name="peer"/> is the other end (source for ingress, destination for egress);
        /// <paramref name="destination"/> is where named ports are looked up.
        /// </summary>
        public bool Matches(string policyNamespace, NetworkEndpoint peer, NetworkEndpoint destination, string protocol, int port, NetworkPolicyEvaluator cluster) =>
            (Peers is null || Peers.Any(p => p.Matches(policyNamespace, peer, cluster)))
            && (Ports is null || Ports.Any(p => p.Matches(destination, protocol, port)));
    }

    private sealed record Peer(LabelSelector? PodSelector, LabelSelector? NamespaceSelector, IpCidr? Cidr, IReadOnlyList<IpCidr> Except)
    {
        public static Peer Parse(JsonNode peer)
        {
            var pods = LabelSelector.IsPresent(peer["podSelector"]) ? LabelSelector.Parse(peer["podSelector"]!) : null;
            var namespaces = LabelSelector.IsPresent(peer["namespaceSelector"]) ? LabelSelector.Parse(peer["namespaceSelector"]!) : null;
            var block = peer["ipBlock"];
            if (pods is null && namespaces is null && block is null)
            {
                throw new ArgumentException("A NetworkPolicy peer must set podSelector, namespaceSelector or ipBlock.", nameof(peer));
            }

            return new Peer(
                pods,
                namespaces,
                block is null ? null : IpCidr.Parse(block["cidr"]!.GetValue<string>()),
                block?["except"] is JsonArray except ? [.. except.Select(e => IpCidr.Parse(e!.GetValue<string>()))] : []);
        }

        public bool Matches(string policyNamespace, NetworkEndpoint endpoint, NetworkPolicyEvaluator cluster)
        {
            if (Cidr is not null)
            {
                var addresses = endpoint switch
                {
                    NetworkEndpoint.External external => [external.Address],
                    NetworkEndpoint.Pod pod => pod.Value.Ips,
                    _ => Array.Empty<IPAddress>(),
                };
                return addresses.Any(a => Cidr.Contains(a) && !Except.Any(e => e.Contains(a)));
            }

            if (endpoint is not NetworkEndpoint.Pod { Value: var target })
            {
                return false;
            }

            var namespaceMatches = NamespaceSelector is null
                ? target.Namespace == policyNamespace
                : NamespaceSelector.Matches(cluster.NamespaceLabels(target.Namespace));
            return namespaceMatches && (PodSelector is null || PodSelector.Matches(target.Labels));
        }
    }

    private sealed record PortRange(string Protocol, int? Number, string? Name, int? End)
    {
        public static PortRange Parse(JsonNode port)
        {
            var protocol = port["protocol"]?.GetValue<string>() ?? "TCP";
            var value = port["port"];
            var end = Integer(port["endPort"]);
            return value?.GetValueKind() switch
            {
                null or JsonValueKind.Null => new PortRange(protocol, null, null, null),
                JsonValueKind.String when end is not null =>
                    throw new ArgumentException("endPort requires a numeric port.", nameof(port)),
                JsonValueKind.String => new PortRange(protocol, null, value.GetValue<string>(), null),
                _ => new PortRange(protocol, Integer(value), null, end),
            };
        }

        // Read through the JSON text: a node built in code may hold a long where a parsed one holds a JsonElement.
        private static int? Integer(JsonNode? node) =>
            node is null ? null : int.Parse(node.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

        public bool Matches(NetworkEndpoint destination, string protocol, int port)
        {
            if (!string.Equals(Protocol, protocol, StringComparison.Ordinal))
            {
                return false;
            }

            if (Name is not null)
            {
                return destination is NetworkEndpoint.Pod pod
                    && pod.Value.NamedPorts.Any(p => p.Name == Name && p.Protocol == protocol && p.Port == port);
            }

            return Number is null || (End is null ? port == Number : port >= Number && port <= End);
        }
    }
}
