using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Airlock.Kubernetes.Objects;

/// <summary>
/// Objects as JSON trees, the form the API server takes and the YAML rendering starts from. Kubernetes' own
/// models go through <see cref="KubernetesJson"/> (source-generated, NativeAOT-safe); the agent-sandbox
/// resources, which have no generated serializer, are written field by field here.
/// </summary>
public static class ManifestJson
{
    /// <summary>The object as a JSON tree, fields in the order Kubernetes prints them (apiVersion, kind, metadata, spec).</summary>
    public static JsonObject ToJson(IKubernetesObject<V1ObjectMeta> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value switch
        {
            V1beta1Sandbox sandbox => Head(sandbox, Sandbox(sandbox.Spec)),
            V1beta1SandboxClaim claim => Head(claim, Claim(claim.Spec)),
            V1beta1SandboxTemplate template => Head(template, Template(template.Spec)),
            V1beta1SandboxWarmPool pool => Head(pool, WarmPool(pool.Spec)),
            _ => Ordered(Model(value)),
        };
    }

    private static JsonObject Model(object value) =>
        JsonNode.Parse(KubernetesJson.Serialize(value))?.AsObject() ?? throw new InvalidOperationException("A Kubernetes model serialized to null.");

    private static JsonObject Ordered(JsonObject source)
    {
        var ordered = new JsonObject();
        foreach (var key in new[] { "apiVersion", "kind", "metadata" })
        {
            if (source.TryGetPropertyValue(key, out var node))
            {
                source.Remove(key);
                ordered[key] = node;
            }
        }

        foreach (var (key, node) in source.ToArray())
        {
            source.Remove(key);
            ordered[key] = node;
        }

        return ordered;
    }

    private static JsonObject Head(IKubernetesObject<V1ObjectMeta> value, JsonObject spec) => new()
    {
        ["apiVersion"] = value.ApiVersion,
        ["kind"] = value.Kind,
        ["metadata"] = Model(value.Metadata),
        ["spec"] = spec,
    };

    private static JsonObject Sandbox(V1beta1SandboxSpec spec)
    {
        var json = new JsonObject { ["podTemplate"] = Model(spec.PodTemplate) };
        if (spec.ShutdownTime is { } time)
        {
            json["shutdownTime"] = Timestamp(time);
        }

        if (spec.ShutdownPolicy is { } policy)
        {
            json["shutdownPolicy"] = policy;
        }

        return json;
    }

    private static JsonObject Claim(V1beta1SandboxClaimSpec spec)
    {
        var json = new JsonObject { ["warmPoolRef"] = new JsonObject { ["name"] = spec.WarmPoolName } };
        if (spec.AdditionalPodLabels.Count > 0 || spec.AdditionalPodAnnotations.Count > 0)
        {
            var metadata = new JsonObject();
            if (spec.AdditionalPodLabels.Count > 0)
            {
                metadata["labels"] = Map(spec.AdditionalPodLabels);
            }

            if (spec.AdditionalPodAnnotations.Count > 0)
            {
                metadata["annotations"] = Map(spec.AdditionalPodAnnotations);
            }

            json["additionalPodMetadata"] = metadata;
        }

        var lifecycle = new JsonObject();
        if (spec.ShutdownTime is { } time)
        {
            lifecycle["shutdownTime"] = Timestamp(time);
        }

        if (spec.ShutdownPolicy is { } policy)
        {
            lifecycle["shutdownPolicy"] = policy;
        }

        if (lifecycle.Count > 0)
        {
            json["lifecycle"] = lifecycle;
        }

        return json;
    }

    private static JsonObject Template(V1beta1SandboxTemplateSpec spec) => new()
    {
        ["podTemplate"] = Model(spec.PodTemplate),
        ["networkPolicyManagement"] = spec.NetworkPolicyManagement,
        ["envVarsInjectionPolicy"] = spec.EnvVarsInjectionPolicy,
    };

    private static JsonObject WarmPool(V1beta1SandboxWarmPoolSpec spec) => new()
    {
        ["replicas"] = spec.Replicas,
        ["sandboxTemplateRef"] = new JsonObject { ["name"] = spec.SandboxTemplateName },
    };

    private static JsonObject Map(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var json = new JsonObject();
        foreach (var (key, value) in pairs)
        {
            json[key] = value;
        }

        return json;
    }

    private static string Timestamp(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
