using System.Collections.Immutable;
using k8s;
using k8s.Models;

namespace Airlock.Kubernetes.Objects;

/// <summary>
/// Builds the objects of an agent-sandbox warm pool that <see cref="WorkloadKind.Claim"/> sandboxes claim from:
/// a NetworkPolicy over the pool's pods, the pool's proxy Secret and CA Secret, a <c>SandboxTemplate</c>
/// (<c>networkPolicyManagement: Unmanaged</c>, because Airlock owns the policy) and the <c>SandboxWarmPool</c>.
/// </summary>
/// <remarks>
/// A warm pod exists before its session, so what it mounts is the pool's: the pool's CA (the key in the proxy's
/// Secret only) and a baseline policy (deny everything, unless the template says otherwise). Once claimed, the
/// control plane sends the session's policy over the control channel, and the session's NetworkPolicy selects
/// the pod through the session label the claim adds with <c>additionalPodMetadata</c>. Only the sidecar topology
/// can be pooled (a proxy-pod workload would need its proxy's address before the session exists).
/// </remarks>
public static class WarmPoolObjects
{
    /// <summary>The policy a warm pod's proxy starts with: nothing is allowed until the session's policy arrives.</summary>
    public const string BaselinePolicy = "version: 1\nname: warm-pool-baseline\ndefault: deny\negress: []\n";

    /// <summary>Builds a pool's objects in create order.</summary>
    /// <param name="poolName">The <c>SandboxWarmPool</c>'s name (what claims reference).</param>
    /// <param name="replicas">How many pods the pool keeps ready.</param>
    /// <param name="template">The sandbox every pod of the pool is; its session id, TTL and injection secrets are not used.</param>
    /// <param name="poolCa">The pool's CA.</param>
    /// <param name="options">Server-wide settings.</param>
    /// <exception cref="SandboxSpecException">The template cannot be pooled.</exception>
    public static ImmutableArray<IKubernetesObject<V1ObjectMeta>> Build(
        string poolName, int replicas, KubernetesSandboxSpec template, SessionCaMaterial poolCa, SandboxObjectsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(poolName);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(poolCa);
        options ??= SandboxObjectsOptions.Default;
        if (template.Topology != SandboxTopology.Sidecar)
        {
            throw new SandboxSpecException("a warm pool needs the sidecar topology: a pooled pod cannot know its paired proxy's address before its session exists.");
        }

        if (replicas < 0)
        {
            throw new SandboxSpecException("a warm pool's replicas cannot be negative.");
        }

        // The pool name stands in for the session id: it must make valid names and labels the same way.
        var spec = template with
        {
            SessionId = poolName,
            Workload = WorkloadKind.Pod,
            WarmPool = null,
            PolicyText = template.PolicyText.Length == 0 ? BaselinePolicy : template.PolicyText,
            InjectionSecrets = ImmutableSortedDictionary<string, string>.Empty,
            NetworkPolicyOverride = null,
        };
        var pooled = SandboxObjects.Build(spec, poolCa, options);
        var labels = new Dictionary<string, string>(template.Labels, StringComparer.Ordinal) { [KubernetesLabels.Pool] = poolName };
        var objects = ImmutableArray.CreateBuilder<IKubernetesObject<V1ObjectMeta>>();

        foreach (var policy in pooled.Objects.OfType<V1NetworkPolicy>())
        {
            policy.Metadata = PoolMetadata(SandboxObjectNames.ForPool(poolName, "net"), template, labels);
            policy.Spec.PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string>(StringComparer.Ordinal) { [KubernetesLabels.Pool] = poolName } };
            objects.Add(policy);
        }

        var proxySecretName = SandboxObjectNames.ForPool(poolName, "proxy-config");
        var caSecretName = SandboxObjectNames.ForPool(poolName, "ca");
        foreach (var secret in pooled.Objects.OfType<V1Secret>())
        {
            secret.Metadata = PoolMetadata(secret.Metadata.Name == pooled.Names.ProxySecret ? proxySecretName : caSecretName, template, labels);
            objects.Add(secret);
        }

        var context = new BuildContext(spec, pooled.Names, pooled.NetworkPolicy, options);
        var podSpec = SandboxPods.WorkloadPodSpec(context, forPool: true, proxySecretName, caSecretName);
        podSpec.RestartPolicy = "Always";
        var templateName = SandboxObjectNames.ForPool(poolName, "template");
        objects.Add(new V1beta1SandboxTemplate
        {
            Metadata = PoolMetadata(templateName, template, labels),
            Spec = new V1beta1SandboxTemplateSpec
            {
                PodTemplate = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string>(labels, StringComparer.Ordinal) },
                    Spec = podSpec,
                },
            },
        });
        objects.Add(new V1beta1SandboxWarmPool
        {
            Metadata = PoolMetadata(poolName, template, labels),
            Spec = new V1beta1SandboxWarmPoolSpec { Replicas = replicas, SandboxTemplateName = templateName },
        });
        return objects.ToImmutable();
    }

    private static V1ObjectMeta PoolMetadata(string name, KubernetesSandboxSpec template, Dictionary<string, string> labels) => new()
    {
        Name = name,
        NamespaceProperty = template.Namespace,
        Labels = new Dictionary<string, string>(labels, StringComparer.Ordinal),
        Annotations = template.Annotations.Count == 0 ? null : new Dictionary<string, string>(template.Annotations, StringComparer.Ordinal),
    };
}
