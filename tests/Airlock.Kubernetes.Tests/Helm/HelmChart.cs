using System.Text.Json.Nodes;
using Airlock.Kubernetes.Tests.Verification;

namespace Airlock.Kubernetes.Tests.Helm;

/// <summary>The chart rendered by the real <c>helm template</c>, for named sets of values.</summary>
internal static class HelmChart
{
    /// <summary>The release namespace every rendering uses.</summary>
    public const string ReleaseNamespace = "airlock-system";

    /// <summary>The release name every rendering uses.</summary>
    public const string ReleaseName = "airlock";

    /// <summary>The sandbox namespace of <see cref="ValueSets"/>' <c>separate-namespace</c> set.</summary>
    public const string SeparateSandboxNamespace = "agents";

    /// <summary>Every value set the chart is tested with: a name and a values file's YAML.</summary>
    public static IReadOnlyDictionary<string, string> ValueSets { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["defaults"] = "{}\n",
        ["proxy-pod"] = "kubernetes:\n  topology: proxy-pod\n",
        ["sandbox-workload"] = "kubernetes:\n  workload: sandbox\n",
        ["claim-warm-pool"] = "kubernetes:\n  workload: claim\n  warmPool: python\nrbac:\n  warmPools: true\n",
        ["separate-namespace"] = $"kubernetes:\n  namespace: {SeparateSandboxNamespace}\n  topology: proxy-pod\n  networkPolicy:\n    ingressFrom:\n      - namespace: routers\n        podLabels:\n          app: router\n",
        ["persistence"] = "persistence:\n  enabled: true\n  size: 5Gi\n  storageClass: standard\n",
        ["postgres"] = "replicaCount: 2\nstore:\n  postgres:\n    existingSecret: airlock-db\n    key: url\nbootstrapAdminToken:\n  existingSecret: airlock-admin\nnetworkPolicy:\n  postgres:\n    to:\n      - ipBlock:\n          cidr: 10.0.40.0/24\n",
        ["network-policy-disabled"] = "networkPolicy:\n  enabled: false\nimagePullSecrets: [regcred]\nimage:\n  tag: dev\n",
    };

    /// <summary>The value-set names, for theories.</summary>
    public static TheoryData<string> Names() => [.. ValueSets.Keys];

    /// <summary>Writes <paramref name="valuesYaml"/> to a temporary values file and runs helm with it appended to <paramref name="arguments"/>.</summary>
    public static async Task<HelmResult> RunWithValuesAsync(string valuesYaml, params string[] arguments)
    {
        var file = Path.Combine(Path.GetTempPath(), $"airlock-helm-values-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, valuesYaml);
        try
        {
            return await HelmBinary.RunAsync([.. arguments, "-f", file]);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary><c>helm template</c> with the values, which must succeed.</summary>
    public static async Task<string> TemplateAsync(string valuesYaml)
    {
        var result = await RunWithValuesAsync(valuesYaml, "template", ReleaseName, HelmBinary.ChartDirectory, "--namespace", ReleaseNamespace);
        return result.ExitCode == 0 ? result.Stdout : throw new InvalidOperationException($"helm template failed ({result.ExitCode}): {result.Output}");
    }

    /// <summary>The objects <c>helm template</c> renders for a named value set, as the API server would receive them.</summary>
    public static async Task<IReadOnlyList<JsonNode>> ObjectsAsync(string valueSet) => YamlDocuments.Parse(await TemplateAsync(ValueSets[valueSet]));

    /// <summary>The one object of <paramref name="kind"/>.</summary>
    public static JsonNode Single(IReadOnlyList<JsonNode> objects, string kind) => Assert.Single(objects, o => (string?)o["kind"] == kind);
}
