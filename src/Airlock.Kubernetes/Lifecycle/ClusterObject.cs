using System.Text.Json.Nodes;

namespace Airlock.Kubernetes.Lifecycle;

/// <summary>
/// One object as the API server takes it: its JSON body, and where it lives (group, version, plural,
/// namespace, name). The lifecycle code handles every kind the same way, typed models and custom resources
/// alike, through the REST paths.
/// </summary>
public sealed record ClusterObject
{
    private static readonly Dictionary<string, string> Plurals = new(StringComparer.Ordinal)
    {
        ["Secret"] = "secrets",
        ["ConfigMap"] = "configmaps",
        ["Pod"] = "pods",
        ["Service"] = "services",
        ["ServiceAccount"] = "serviceaccounts",
        ["NetworkPolicy"] = "networkpolicies",
        ["Deployment"] = "deployments",
        ["Sandbox"] = "sandboxes",
        ["SandboxClaim"] = "sandboxclaims",
        ["SandboxTemplate"] = "sandboxtemplates",
        ["SandboxWarmPool"] = "sandboxwarmpools",
    };

    private ClusterObject(JsonObject body, string apiVersion, string kind, string plural, string @namespace, string name)
    {
        Body = body;
        ApiVersion = apiVersion;
        Kind = kind;
        Plural = plural;
        Namespace = @namespace;
        Name = name;
    }

    /// <summary>The object (a private copy).</summary>
    public JsonObject Body { get; }

    /// <summary><c>v1</c>, <c>networking.k8s.io/v1</c>, …</summary>
    public string ApiVersion { get; }

    /// <summary><c>Pod</c>, <c>Secret</c>, …</summary>
    public string Kind { get; }

    /// <summary>The resource's plural (<c>pods</c>, <c>networkpolicies</c>, <c>sandboxes</c>).</summary>
    public string Plural { get; }

    /// <summary>The namespace.</summary>
    public string Namespace { get; }

    /// <summary>The name.</summary>
    public string Name { get; }

    /// <summary>The collection path: <c>/api/v1/namespaces/NS/PLURAL</c> or <c>/apis/GROUP/VERSION/namespaces/NS/PLURAL</c>.</summary>
    public string CollectionPath => CollectionPathOf(ApiVersion, Plural, Namespace);

    /// <summary>The object's own path.</summary>
    public string Path => $"{CollectionPath}/{Uri.EscapeDataString(Name)}";

    /// <summary>"Pod team/agent-1a2b", for messages.</summary>
    public string Description => $"{Kind} {Namespace}/{Name}";

    /// <summary>Wraps an object's JSON; it must carry apiVersion, kind, metadata.name and metadata.namespace.</summary>
    /// <exception cref="ArgumentException">A field is missing or the kind is not one the driver manages.</exception>
    public static ClusterObject From(JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var copy = (JsonObject)body.DeepClone();
        var apiVersion = (string?)copy["apiVersion"] ?? throw new ArgumentException("apiVersion is missing", nameof(body));
        var kind = (string?)copy["kind"] ?? throw new ArgumentException("kind is missing", nameof(body));
        var name = (string?)copy["metadata"]?["name"] ?? throw new ArgumentException($"{kind}: metadata.name is missing", nameof(body));
        var ns = (string?)copy["metadata"]?["namespace"] ?? throw new ArgumentException($"{kind} {name}: metadata.namespace is missing", nameof(body));
        var plural = Plurals.GetValueOrDefault(kind) ?? throw new ArgumentException($"{kind} is not a kind the driver manages", nameof(body));
        return new ClusterObject(copy, apiVersion, kind, plural, ns, name);
    }

    /// <summary>The collection path of any managed kind in a namespace.</summary>
    public static string CollectionPathOf(string apiVersion, string plural, string @namespace)
    {
        ArgumentNullException.ThrowIfNull(apiVersion);
        var prefix = apiVersion.Contains('/', StringComparison.Ordinal) ? "/apis/" + apiVersion : "/api/" + apiVersion;
        return $"{prefix}/namespaces/{Uri.EscapeDataString(@namespace)}/{plural}";
    }

    /// <summary>The managed kinds with their API versions and plurals, for listing what carries Airlock's labels.</summary>
    public static IReadOnlyList<(string ApiVersion, string Kind, string Plural)> ManagedKinds { get; } =
    [
        ("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
        ("v1", "Secret", "secrets"),
        ("v1", "ConfigMap", "configmaps"),
        ("v1", "Service", "services"),
        ("v1", "Pod", "pods"),
        ("agents.x-k8s.io/v1beta1", "Sandbox", "sandboxes"),
        ("extensions.agents.x-k8s.io/v1beta1", "SandboxClaim", "sandboxclaims"),
    ];
}
