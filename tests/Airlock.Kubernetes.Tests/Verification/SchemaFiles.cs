namespace Airlock.Kubernetes.Tests.Verification;

/// <summary>Where the schema files copied next to the test assembly live.</summary>
internal static class SchemaFiles
{
    /// <summary>The official Kubernetes 1.35 OpenAPI v3 documents.</summary>
    internal static string OpenApiDirectory => Path.Combine(AppContext.BaseDirectory, "Schemas", "openapi-1.35");

    /// <summary>The agent-sandbox CustomResourceDefinitions.</summary>
    internal static string CrdDirectory => Path.Combine(AppContext.BaseDirectory, "Schemas", "agent-sandbox-crds");
}
