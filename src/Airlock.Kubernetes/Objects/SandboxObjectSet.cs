using System.Collections.Immutable;
using System.Diagnostics;
using k8s;
using k8s.Models;

namespace Airlock.Kubernetes.Objects;

/// <summary>The objects of one sandbox, in create order: NetworkPolicies, Secrets, the proxy pod and Service, the workload last.</summary>
public sealed record SandboxObjectSet
{
    /// <summary>The names of the objects.</summary>
    public required SandboxObjectNames Names { get; init; }

    /// <summary>The NetworkPolicy settings in effect (the session's override if any, else the template's).</summary>
    public required NetworkPolicySettings NetworkPolicy { get; init; }

    /// <summary>Every object, in the order they must be created (delete in reverse).</summary>
    public required ImmutableArray<IKubernetesObject<V1ObjectMeta>> Objects { get; init; }

    /// <summary>The workload (Pod, Sandbox or SandboxClaim): the last object, and the owner of all the others.</summary>
    public IKubernetesObject<V1ObjectMeta> Workload => Objects[^1];

    /// <summary>
    /// Copies of every object but the workload, each with an owner reference to the created workload, so the
    /// cluster's garbage collector deletes them with it. The objects of this set are left unchanged.
    /// </summary>
    /// <param name="workloadUid">The <c>metadata.uid</c> the API server gave the workload.</param>
    public ImmutableArray<IKubernetesObject<V1ObjectMeta>> OwnedByWorkload(string workloadUid)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(workloadUid);
        var owner = new V1OwnerReference
        {
            ApiVersion = Workload.ApiVersion,
            Kind = Workload.Kind,
            Name = Workload.Metadata.Name,
            Uid = workloadUid,
        };

        return [.. Objects.Take(Objects.Length - 1).Select(value =>
        {
            var copy = Copy(value);
            copy.Metadata.OwnerReferences = [owner];
            return copy;
        })];
    }

    /// <summary>Every object as multi-document YAML.</summary>
    public string ToYaml() => ManifestYaml.Write(Objects);

    private static IKubernetesObject<V1ObjectMeta> Copy(IKubernetesObject<V1ObjectMeta> value) => value switch
    {
        V1Secret secret => KubernetesJson.Deserialize<V1Secret>(KubernetesJson.Serialize(secret)),
        V1NetworkPolicy policy => KubernetesJson.Deserialize<V1NetworkPolicy>(KubernetesJson.Serialize(policy)),
        V1Pod pod => KubernetesJson.Deserialize<V1Pod>(KubernetesJson.Serialize(pod)),
        V1Service service => KubernetesJson.Deserialize<V1Service>(KubernetesJson.Serialize(service)),
        _ => throw new UnreachableException($"Only Kubernetes models precede the workload, not {value.Kind}."),
    };
}
