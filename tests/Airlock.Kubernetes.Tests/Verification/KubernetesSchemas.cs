using System.Text.Json.Nodes;

namespace Airlock.Kubernetes.Tests.Verification;

/// <summary>
/// Strict validation of built-in Kubernetes objects against the official Kubernetes 1.35 OpenAPI v3 documents
/// (<c>Schemas/openapi-1.35</c>), loaded once per process. See <see cref="StrictSchemaValidator"/> for what
/// "strict" covers.
/// </summary>
public static class KubernetesSchemas
{
    private const string QuantityComponent = "io.k8s.apimachinery.pkg.api.resource.Quantity";
    private const string ReferencePrefix = "#/components/schemas/";

    private static readonly Lazy<Catalog> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Every kind the documents define a schema for.</summary>
    public static IReadOnlyCollection<GroupVersionKind> Kinds => [.. Loaded.Value.ByKind.Keys];

    /// <summary>
    /// Every way <paramref name="obj"/> (as sent to the API server: apiVersion, kind, metadata, spec…) breaks its
    /// kind's schema, as <c>path: message</c> strings; empty when valid. A kind the documents do not define is an error.
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
            return [$"(root): no schema for {gvk} in the Kubernetes 1.35 OpenAPI documents"];
        }

        var errors = new List<string>();
        Loaded.Value.Validator.Validate(obj, schema, string.Empty, errors);
        return errors;
    }

    /// <summary>
    /// Validates <paramref name="value"/> against one component schema (e.g. <c>io.k8s.api.core.v1.PodSpec</c>),
    /// reporting paths under <paramref name="path"/>.
    /// </summary>
    internal static void ValidateComponent(string component, JsonNode? value, string path, List<string> errors) =>
        Loaded.Value.Validator.Validate(value, Component(component), path, errors);

    private static JsonObject Component(string name) =>
        Loaded.Value.Components.TryGetValue(name, out var schema)
            ? schema
            : throw new KeyNotFoundException($"No component schema '{name}' in the Kubernetes 1.35 OpenAPI documents.");

    private static Catalog Load()
    {
        var components = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(SchemaFiles.OpenApiDirectory, "*.json").Order(StringComparer.Ordinal))
        {
            var document = JsonNode.Parse(File.ReadAllText(file))
                ?? throw new InvalidDataException($"{file} is empty.");
            StrictSchemaValidator.MaterializeForConcurrentReads(document);
            foreach (var (name, schema) in document["components"]!["schemas"]!.AsObject())
            {
                // Shared types (ObjectMeta, LabelSelector…) appear in every document, identically.
                components.TryAdd(name, schema!.AsObject());
            }
        }

        var byKind = new Dictionary<GroupVersionKind, JsonObject>();
        foreach (var schema in components.Values)
        {
            if (schema["x-kubernetes-group-version-kind"] is not JsonArray kinds)
            {
                continue;
            }

            foreach (var entry in kinds)
            {
                var gvk = new GroupVersionKind(
                    entry!["group"]!.GetValue<string>(), entry["version"]!.GetValue<string>(), entry["kind"]!.GetValue<string>());
                byKind.TryAdd(gvk, schema);
            }
        }

        var enums = new Dictionary<JsonNode, IReadOnlyList<string>>(ReferenceEqualityComparer.Instance);
        foreach (var field in KubernetesEnums.Fields)
        {
            var property = components.GetValueOrDefault(field.Component)?["properties"]?[field.Property] as JsonObject
                ?? throw new InvalidDataException($"KubernetesEnums names {field.Component}.{field.Property}, which the documents lack.");
            var target = field.Items ? property["items"]!.AsObject() : property;
            enums.Add(target, field.Values);
        }

        var validator = new StrictSchemaValidator(
            SchemaDialect.OpenApi,
            reference => reference.StartsWith(ReferencePrefix, StringComparison.Ordinal)
                && components.TryGetValue(reference[ReferencePrefix.Length..], out var target)
                    ? target
                    : throw new KeyNotFoundException($"Unresolvable $ref '{reference}'."),
            enums,
            components[QuantityComponent],
            validateEmbeddedMetadata: null);
        return new Catalog(components, byKind, validator);
    }

    private sealed record Catalog(
        IReadOnlyDictionary<string, JsonObject> Components,
        IReadOnlyDictionary<GroupVersionKind, JsonObject> ByKind,
        StrictSchemaValidator Validator);
}
