using System.Text.Json.Nodes;

namespace Airlock.Kubernetes.Tests.Verification;

/// <summary>
/// Strict validation of agent-sandbox custom resources (<c>agents.x-k8s.io</c>, <c>extensions.agents.x-k8s.io</c>)
/// against the <c>openAPIV3Schema</c> of each served version in their CRDs (<c>Schemas/agent-sandbox-crds</c>),
/// loaded once per process, following structural-schema rules: a field the schema does not declare is unknown
/// unless <c>x-kubernetes-preserve-unknown-fields</c> keeps it. <c>metadata</c> (and that of an
/// <c>x-kubernetes-embedded-resource</c>) is validated as a core <c>ObjectMeta</c>, as the API server does.
/// Embedded core types are also validated against the core OpenAPI schemas (<see cref="EmbeddedCoreTypes"/>),
/// so a pod template gets the same scrutiny as a Pod even where a CRD leaves it preserve-unknown.
/// </summary>
public static class CrdSchemas
{
    private const string ObjectMeta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

    /// <summary>
    /// Where a custom resource embeds a core type: kind, a path (<c>[*]</c> for every item of a list) and the core
    /// component schema the value there must satisfy.
    /// </summary>
    private static readonly (string Kind, string Path, string Component)[] EmbeddedCoreTypes =
    [
        ("Sandbox", "spec.podTemplate.spec", "io.k8s.api.core.v1.PodSpec"),
        ("Sandbox", "spec.volumeClaimTemplates[*].spec", "io.k8s.api.core.v1.PersistentVolumeClaimSpec"),
        ("SandboxTemplate", "spec.podTemplate.spec", "io.k8s.api.core.v1.PodSpec"),
        ("SandboxTemplate", "spec.volumeClaimTemplates[*].spec", "io.k8s.api.core.v1.PersistentVolumeClaimSpec"),
        ("SandboxClaim", "spec.volumeClaimTemplates[*].spec", "io.k8s.api.core.v1.PersistentVolumeClaimSpec"),
        ("SandboxTemplate", "spec.networkPolicy.ingress[*]", "io.k8s.api.networking.v1.NetworkPolicyIngressRule"),
        ("SandboxTemplate", "spec.networkPolicy.egress[*]", "io.k8s.api.networking.v1.NetworkPolicyEgressRule"),
    ];

    private static readonly Lazy<Catalog> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Every group/version/kind the CRDs serve.</summary>
    public static IReadOnlyCollection<GroupVersionKind> Kinds => [.. Loaded.Value.ByKind.Keys];

    /// <summary>Whether the CRDs serve <paramref name="gvk"/>.</summary>
    public static bool Serves(GroupVersionKind gvk) => Loaded.Value.ByKind.ContainsKey(gvk);

    /// <summary>Whether <paramref name="group"/> belongs to the CRDs (so an unserved version is still theirs to reject).</summary>
    public static bool OwnsGroup(string group) => Loaded.Value.ByKind.Keys.Any(k => k.Group == group);

    /// <summary>
    /// Every way the custom resource <paramref name="obj"/> breaks its CRD's schema, as <c>path: message</c>
    /// strings; empty when valid. A kind or version the CRDs do not serve is an error.
    /// </summary>
    public static IReadOnlyList<string> Validate(JsonNode obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (GroupVersionKind.Of(obj, out var error) is not { } gvk)
        {
            return [error!];
        }

        if (!Loaded.Value.ByKind.TryGetValue(gvk, out var schema))
        {
            return [$"(root): no CustomResourceDefinition serves {gvk}"];
        }

        var errors = new List<string>();
        var root = obj.AsObject();
        // The API server validates metadata itself (as ObjectMeta) rather than through openAPIV3Schema.
        if (root["metadata"] is { } metadata)
        {
            KubernetesSchemas.ValidateComponent(ObjectMeta, metadata, "metadata", errors);
        }

        var withoutMetadata = new JsonObject();
        foreach (var (key, value) in root)
        {
            if (key != "metadata")
            {
                withoutMetadata.Add(key, value?.DeepClone());
            }
        }

        Loaded.Value.Validator.Validate(withoutMetadata, schema, string.Empty, errors);

        foreach (var (kind, path, component) in EmbeddedCoreTypes)
        {
            if (kind != gvk.Kind)
            {
                continue;
            }

            foreach (var (foundPath, value) in Find(root, path.Split('.'), string.Empty))
            {
                KubernetesSchemas.ValidateComponent(component, value, foundPath, errors);
            }
        }

        return [.. errors.Distinct(StringComparer.Ordinal)];
    }

    private static IEnumerable<(string Path, JsonNode Value)> Find(JsonNode node, ReadOnlyMemory<string> segments, string path)
    {
        if (segments.IsEmpty)
        {
            yield return (path, node);
            yield break;
        }

        var segment = segments.Span[0];
        var everyItem = segment.EndsWith("[*]", StringComparison.Ordinal);
        var name = everyItem ? segment[..^3] : segment;
        if (node is not JsonObject obj || obj[name] is not { } child)
        {
            yield break;
        }

        var childPath = StrictSchemaValidator.Join(path, name);
        if (!everyItem)
        {
            foreach (var found in Find(child, segments[1..], childPath))
            {
                yield return found;
            }

            yield break;
        }

        if (child is JsonArray items)
        {
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i] is { } item)
                {
                    foreach (var found in Find(item, segments[1..], $"{childPath}[{i}]"))
                    {
                        yield return found;
                    }
                }
            }
        }
    }

    private static Catalog Load()
    {
        var byKind = new Dictionary<GroupVersionKind, JsonObject>();
        foreach (var file in Directory.GetFiles(SchemaFiles.CrdDirectory, "*.yaml").Order(StringComparer.Ordinal))
        {
            foreach (var crd in YamlDocuments.Parse(File.ReadAllText(file)))
            {
                StrictSchemaValidator.MaterializeForConcurrentReads(crd);
                var spec = crd["spec"]!;
                var group = spec["group"]!.GetValue<string>();
                var kind = spec["names"]!["kind"]!.GetValue<string>();
                foreach (var version in spec["versions"]!.AsArray())
                {
                    if (version!["served"]?.GetValue<bool>() == true)
                    {
                        byKind.Add(
                            new GroupVersionKind(group, version["name"]!.GetValue<string>(), kind),
                            version["schema"]!["openAPIV3Schema"]!.AsObject());
                    }
                }
            }
        }

        var validator = new StrictSchemaValidator(
            SchemaDialect.Structural,
            resolveReference: null,
            enumsBySchema: null,
            quantitySchema: null,
            validateEmbeddedMetadata: (metadata, path, errors) => KubernetesSchemas.ValidateComponent(ObjectMeta, metadata, path, errors));
        return new Catalog(byKind, validator);
    }

    private sealed record Catalog(IReadOnlyDictionary<GroupVersionKind, JsonObject> ByKind, StrictSchemaValidator Validator);
}
