namespace Airlock.Policy.Schema;

/// <summary>
/// The JSON Schema (draft 2020-12) of the policy format, for editors and <c>airlock policy schema</c>.
/// Tests keep its property names equal to the keys the loader accepts.
/// </summary>
public static class PolicySchema
{
    private const string ResourceName = "Airlock.Policy.policy.schema.json";

    /// <summary>The schema's <c>$id</c>.</summary>
    public const string Id = "https://airlock.dev/schemas/policy-v1.json";

    /// <summary>The schema text.</summary>
    public static string Json { get; } = Load();

    private static string Load()
    {
        using var stream = typeof(PolicySchema).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
