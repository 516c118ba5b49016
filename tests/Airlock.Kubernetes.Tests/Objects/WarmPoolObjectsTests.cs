using Airlock.Kubernetes.Objects;
using k8s.Models;
using static Airlock.Kubernetes.Tests.Objects.SandboxSpecs;

namespace Airlock.Kubernetes.Tests.Objects;

public sealed class WarmPoolObjectsTests
{
    [Fact]
    public void A_pool_is_policy_secrets_an_unmanaged_template_and_the_pool_in_that_order()
    {
        var objects = WarmPoolObjects.Build("python", 3, Spec(workload: WorkloadKind.Claim) with { PolicyText = string.Empty }, Ca);

        Assert.Equal(["NetworkPolicy", "Secret", "Secret", "SandboxTemplate", "SandboxWarmPool"], objects.Select(o => o.Kind));
        var template = Assert.IsType<V1beta1SandboxTemplate>(objects[3]);
        var pool = Assert.IsType<V1beta1SandboxWarmPool>(objects[4]);
        Assert.Equal("Unmanaged", template.Spec.NetworkPolicyManagement);
        Assert.Equal("Disallowed", template.Spec.EnvVarsInjectionPolicy);
        Assert.Equal(("python", 3, template.Metadata.Name), (pool.Metadata.Name, pool.Spec.Replicas, pool.Spec.SandboxTemplateName));
        Assert.Equal(WarmPoolObjects.BaselinePolicy, objects.OfType<V1Secret>().First().StringData["policy.yaml"]);
        Assert.All(objects, o => Assert.True(o.Metadata.Name.Length <= 63));
    }

    [Fact]
    public void Warm_pods_carry_no_session_and_are_not_collected_as_orphans_before_they_are_claimed()
    {
        var objects = WarmPoolObjects.Build("python", 1, Spec(workload: WorkloadKind.Claim), Ca);
        var podTemplate = objects.OfType<V1beta1SandboxTemplate>().Single().Spec.PodTemplate;

        Assert.Equal("python", podTemplate.Metadata.Labels[KubernetesLabels.Pool]);
        Assert.False(podTemplate.Metadata.Labels.ContainsKey(KubernetesLabels.Session));
        Assert.False(podTemplate.Metadata.Labels.ContainsKey(KubernetesLabels.ManagedBy));
        var proxy = podTemplate.Spec.InitContainers.Single(c => c.Name == "airlock-proxy");
        Assert.Contains("$(AIRLOCK_POD_NAME)", proxy.Args);
        Assert.DoesNotContain(proxy.Args, a => a.StartsWith("OPENAI_API_KEY=", StringComparison.Ordinal));
        Assert.DoesNotContain(InjectedValue, objects.OfType<V1Secret>().SelectMany(s => s.StringData.Values));
    }

    [Fact]
    public void The_session_policy_selects_a_claimed_pod_and_the_pool_policy_selects_it_before()
    {
        var objects = WarmPoolObjects.Build("python", 1, Spec(workload: WorkloadKind.Claim), Ca);
        var warmLabels = objects.OfType<V1beta1SandboxTemplate>().Single().Spec.PodTemplate.Metadata.Labels;
        var session = SandboxObjects.Build(Spec(workload: WorkloadKind.Claim), Ca);
        var claim = Assert.IsType<V1beta1SandboxClaim>(session.Workload);
        var adopted = new Dictionary<string, string>(warmLabels);
        foreach (var (key, value) in claim.Spec.AdditionalPodLabels)
        {
            adopted[key] = value;
        }

        Assert.True(Selects(objects.OfType<V1NetworkPolicy>().Single(), warmLabels));
        Assert.False(Selects(Policies(session).Single(), warmLabels));
        Assert.True(Selects(Policies(session).Single(), adopted));
    }

    [Fact]
    public void Only_the_sidecar_topology_can_be_pooled()
    {
        Assert.Throws<SandboxSpecException>(() => WarmPoolObjects.Build("python", 1, Spec(SandboxTopology.ProxyPod), Ca));
    }

    private static bool Selects(V1NetworkPolicy policy, IDictionary<string, string> labels) =>
        policy.Spec.PodSelector.MatchLabels.All(pair => labels.TryGetValue(pair.Key, out var value) && value == pair.Value);
}
