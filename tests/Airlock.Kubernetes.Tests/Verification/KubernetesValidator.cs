using System.Text.Json.Nodes;

namespace Airlock.Kubernetes.Tests.Verification;

/// <summary>
/// The one entry point for schema validation: built-in kinds against the Kubernetes 1.35 OpenAPI documents
/// (<see cref="KubernetesSchemas"/>), agent-sandbox kinds against their CRDs (<see cref="CrdSchemas"/>).
/// </summary>
public static class KubernetesValidator
{
    /// <summary>
    /// Every way <paramref name="obj"/> would be refused by a 1.35 API server with strict field validation (as far
    /// as schemas tell), as <c>path: message</c> strings; empty when valid.
    /// </summary>
    public static IReadOnlyList<string> Validate(JsonNode obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return GroupVersionKind.Of(obj, out _) is { } gvk && CrdSchemas.OwnsGroup(gvk.Group)
            ? CrdSchemas.Validate(obj)
            : KubernetesSchemas.Validate(obj);
    }
}
