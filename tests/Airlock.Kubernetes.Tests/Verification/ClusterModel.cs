using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace Airlock.Kubernetes.Tests.Verification;

/// <summary>A namespace; its <c>kubernetes.io/metadata.name</c> label is implicit, as the API server sets it.</summary>
public sealed record ClusterNamespace(string Name, IReadOnlyDictionary<string, string>? Labels = null)
{
    /// <summary>The labels a namespace selector sees, including <c>kubernetes.io/metadata.name</c>.</summary>
    public IReadOnlyDictionary<string, string> EffectiveLabels =>
        new Dictionary<string, string>(Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            ["kubernetes.io/metadata.name"] = Name,
        };
}

/// <summary>A named container port (for NetworkPolicy named ports); protocol TCP unless stated.</summary>
public sealed record NamedPort(string Name, int Port, string Protocol = "TCP");

/// <summary>A running pod as NetworkPolicies see it.</summary>
public sealed record ClusterPod(
    string Name,
    string Namespace,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyList<IPAddress> Ips,
    IReadOnlyList<NamedPort>? Ports = null)
{
    /// <summary>The named ports of every container (init containers included, which covers native sidecars).</summary>
    public IReadOnlyList<NamedPort> NamedPorts => Ports ?? [];

    /// <summary>A pod as scheduled from a Pod object: its namespace, labels and named container ports, with the given IPs.</summary>
    public static ClusterPod FromPod(JsonNode pod, params IPAddress[] ips)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var metadata = pod["metadata"]!;
        var labels = metadata["labels"] is JsonObject l
            ? l.ToDictionary(p => p.Key, p => p.Value!.GetValue<string>(), StringComparer.Ordinal)
            : [];
        var ports = new List<NamedPort>();
        foreach (var list in new[] { "initContainers", "containers" })
        {
            foreach (var container in pod["spec"]?[list]?.AsArray() ?? [])
            {
                foreach (var port in container?["ports"]?.AsArray() ?? [])
                {
                    if (port?["name"] is { } name)
                    {
                        ports.Add(new NamedPort(
                            name.GetValue<string>(),
                            int.Parse(port["containerPort"]!.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
                            port["protocol"]?.GetValue<string>() ?? "TCP"));
                    }
                }
            }
        }

        return new ClusterPod(
            metadata["name"]!.GetValue<string>(),
            metadata["namespace"]?.GetValue<string>() ?? "default",
            labels,
            ips,
            ports);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Namespace}/{Name}";
}

/// <summary>One end of a connection: a pod, or an address outside the cluster's pods.</summary>
public abstract record NetworkEndpoint
{
    private NetworkEndpoint()
    {
    }

    /// <summary>A pod in the cluster.</summary>
    public sealed record Pod(ClusterPod Value) : NetworkEndpoint
    {
        /// <inheritdoc/>
        public override string ToString() => $"pod {Value}";
    }

    /// <summary>An off-cluster address (the internet, a node, a metadata service).</summary>
    public sealed record External(IPAddress Address) : NetworkEndpoint
    {
        /// <inheritdoc/>
        public override string ToString() => $"address {Address}";
    }

    /// <summary>The endpoint of <paramref name="pod"/>.</summary>
    public static implicit operator NetworkEndpoint(ClusterPod pod) => new Pod(pod);

    /// <summary>The endpoint of <paramref name="address"/>.</summary>
    public static implicit operator NetworkEndpoint(IPAddress address) => new External(address);
}
