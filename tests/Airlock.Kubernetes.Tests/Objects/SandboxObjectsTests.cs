using System.Text.RegularExpressions;
using Airlock.Kubernetes.Objects;
using k8s.Models;
using static Airlock.Kubernetes.Tests.Objects.SandboxSpecs;

namespace Airlock.Kubernetes.Tests.Objects;

public sealed partial class SandboxObjectsTests
{
    public static TheoryData<SandboxTopology, WorkloadKind, NetworkMode> Matrix => BuildableData();

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Names_are_dns_labels_at_most_63_deterministic_and_distinct_per_session(SandboxTopology topology, WorkloadKind workload, NetworkMode mode)
    {
        var first = SandboxObjects.Build(Spec(topology, workload, mode), Ca);
        var again = SandboxObjects.Build(Spec(topology, workload, mode), Ca);
        var other = SandboxObjects.Build(Spec(topology, workload, mode, session: "ses_01JTESU"), Ca);

        var names = first.Objects.Select(o => o.Metadata.Name).ToList();
        Assert.All(names, name =>
        {
            Assert.True(name.Length <= 63, name);
            Assert.Matches(Dns1035(), name);
        });
        Assert.Equal(names, again.Objects.Select(o => o.Metadata.Name));
        Assert.Empty(names.Intersect(other.Objects.Select(o => o.Metadata.Name)));
        Assert.Equal(names.Count, names.Distinct().Count() + first.Objects.Count(o => o is V1Service));
    }

    [Fact]
    public void Session_ids_that_share_a_slug_get_different_names_and_long_ids_still_fit()
    {
        var a = SandboxObjectNames.For("Ses_A.b");
        var b = SandboxObjectNames.For("ses-a-b");
        var longest = SandboxObjectNames.For(new string('x', 63));

        Assert.NotEqual(a.Workload, b.Workload);
        Assert.All(new[] { longest.Workload, longest.ProxySecret, longest.WorkloadNetworkPolicy, longest.ProxyNetworkPolicy }, n => Assert.True(n.Length <= 63, n));
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Every_object_carries_the_session_labels_and_its_namespace(SandboxTopology topology, WorkloadKind workload, NetworkMode mode)
    {
        var set = SandboxObjects.Build(Spec(topology, workload, mode), Ca);

        Assert.All(set.Objects, o =>
        {
            Assert.Equal("airlock", o.Metadata.Labels[KubernetesLabels.ManagedBy]);
            Assert.Equal("ses_01JTEST", o.Metadata.Labels[KubernetesLabels.Session]);
            Assert.Equal("agents", o.Metadata.NamespaceProperty);
            Assert.Equal("2026-01-02T05:04:05Z", o.Metadata.Annotations[KubernetesAnnotations.ExpiresAt]);
        });
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Objects_come_in_create_order_policies_secrets_proxy_workload(SandboxTopology topology, WorkloadKind workload, NetworkMode mode)
    {
        var set = SandboxObjects.Build(Spec(topology, workload, mode), Ca);

        var kinds = set.Objects.Select(o => o.Kind).ToList();
        var expected = new List<string>();
        if (mode != NetworkMode.None)
        {
            expected.AddRange(topology == SandboxTopology.Sidecar ? ["NetworkPolicy"] : ["NetworkPolicy", "NetworkPolicy"]);
        }

        expected.AddRange(["Secret", "Secret"]);
        if (topology == SandboxTopology.ProxyPod)
        {
            expected.AddRange(["Pod", "Service"]);
        }

        expected.Add(workload switch { WorkloadKind.Pod => "Pod", WorkloadKind.Sandbox => "Sandbox", _ => "SandboxClaim" });
        Assert.Equal(expected, kinds);
        Assert.Same(set.Objects[^1], set.Workload);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void The_workload_reaches_only_the_ca_certificate_never_the_key_policy_or_injected_secrets(SandboxTopology topology, WorkloadKind workload, NetworkMode mode)
    {
        var set = SandboxObjects.Build(Spec(topology, workload, mode), Ca);
        var proxySecret = set.Objects.OfType<V1Secret>().Single(s => s.Metadata.Name == set.Names.ProxySecret);
        var caSecret = set.Objects.OfType<V1Secret>().Single(s => s.Metadata.Name == set.Names.CaSecret);

        Assert.Equal(Ca.PrivateKeyPem, proxySecret.StringData["ca.key"]);
        Assert.Equal(PolicyText, proxySecret.StringData["policy.yaml"]);
        Assert.Equal(InjectedValue, proxySecret.StringData["secret-OPENAI_API_KEY"]);
        Assert.Equal(["ca.crt"], caSecret.StringData.Keys);

        if (WorkloadPodSpec(set.Workload) is not { } pod)
        {
            var claim = Assert.IsType<V1beta1SandboxClaim>(set.Workload);
            Assert.DoesNotContain(InjectedValue, ManifestJson.ToJson(claim).ToJsonString(), StringComparison.Ordinal);
            return;
        }

        var volumes = pod.Volumes.ToDictionary(v => v.Name);
        var untrusted = pod.Containers.Concat(pod.InitContainers.Where(c => c.Name == "airlock-setup"));
        foreach (var container in untrusted)
        {
            foreach (var mount in container.VolumeMounts ?? [])
            {
                var volume = volumes[mount.Name];
                Assert.NotEqual(set.Names.ProxySecret, volume.Secret?.SecretName);
                Assert.Null(volume.Projected);
            }

            Assert.All(container.Env ?? [], env => Assert.Null(env.ValueFrom?.SecretKeyRef));
            Assert.All(container.Env ?? [], env => Assert.DoesNotContain(InjectedValue, env.Value ?? string.Empty, StringComparison.Ordinal));
            Assert.Null(container.EnvFrom);
        }

        var agent = pod.Containers.Single();
        Assert.Contains(agent.VolumeMounts, m => m.MountPath == "/etc/ssl/certs/ca-certificates.crt" && m.ReadOnlyProperty == true);
        foreach (var variable in new[] { "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "PIP_CERT" })
        {
            Assert.Contains(agent.Env, e => e.Name == variable && e.Value!.StartsWith("/airlock/", StringComparison.Ordinal));
        }
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Workload_containers_meet_the_restricted_baseline(SandboxTopology topology, WorkloadKind workload, NetworkMode mode)
    {
        var set = SandboxObjects.Build(Spec(topology, workload, mode), Ca);
        if (WorkloadPodSpec(set.Workload) is not { } pod)
        {
            return;
        }

        Assert.False(pod.AutomountServiceAccountToken);
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.Equal("OnRootMismatch", pod.SecurityContext.FsGroupChangePolicy);
        Assert.Equal(1000, pod.SecurityContext.FsGroup);
        Assert.Equal("RuntimeDefault", pod.SecurityContext.SeccompProfile.Type);
        Assert.All(pod.Volumes.Where(v => v.EmptyDir is not null), v => Assert.NotNull(v.EmptyDir.SizeLimit));
        if (workload == WorkloadKind.Pod)
        {
            Assert.Equal(7200, pod.ActiveDeadlineSeconds);
        }
        else
        {
            var sandbox = Assert.IsType<V1beta1Sandbox>(set.Workload);
            Assert.Equal(new DateTimeOffset(2026, 1, 2, 5, 4, 5, TimeSpan.Zero), sandbox.Spec.ShutdownTime);
        }

        foreach (var container in pod.Containers.Concat(pod.InitContainers).Where(c => c.Name != "airlock-redirect"))
        {
            var sc = container.SecurityContext;
            Assert.True(sc.RunAsNonRoot, container.Name);
            Assert.NotEqual(0, sc.RunAsUser);
            Assert.False(sc.AllowPrivilegeEscalation, container.Name);
            Assert.True(sc.ReadOnlyRootFilesystem, container.Name);
            Assert.Equal(["ALL"], sc.Capabilities.Drop);
            Assert.Null(sc.Capabilities.Add);
            Assert.Equal("RuntimeDefault", sc.SeccompProfile.Type);
            Assert.NotNull(container.Resources.Limits);
            Assert.NotNull(container.Resources.Requests);
        }

        var agent = pod.Containers.Single();
        Assert.Equal(1000, agent.SecurityContext.RunAsUser);
        Assert.Equal(["/airlock/bin/tini", "-s", "--", "sleep", "infinity"], agent.Command);
    }

    [Theory]
    [InlineData(WorkloadKind.Pod)]
    [InlineData(WorkloadKind.Sandbox)]
    public void Sidecar_redirect_init_container_has_only_net_admin_and_runs_before_the_native_sidecar(WorkloadKind workload)
    {
        var pod = WorkloadPodSpec(SandboxObjects.Build(Spec(SandboxTopology.Sidecar, workload), Ca).Workload)!;

        var names = pod.InitContainers.Select(c => c.Name).ToList();
        Assert.Equal(["airlock-redirect", "airlock-setup", "airlock-proxy"], names);
        var redirect = pod.InitContainers[0];
        Assert.Equal(["NET_ADMIN"], redirect.SecurityContext.Capabilities.Add);
        Assert.Equal(["ALL"], redirect.SecurityContext.Capabilities.Drop);
        Assert.False(redirect.SecurityContext.AllowPrivilegeEscalation);
        var script = redirect.Command[^1];
        Assert.Contains("meta skuid 65532 return", script, StringComparison.Ordinal);
        Assert.Contains("meta skuid 65532 accept", script, StringComparison.Ordinal);
        Assert.Contains("oifname \"lo\" return", script, StringComparison.Ordinal);
        Assert.Contains("meta l4proto tcp redirect to :15001", script, StringComparison.Ordinal);
        Assert.Contains("table inet airlock", script, StringComparison.Ordinal);
        Assert.Contains("policy drop", script, StringComparison.Ordinal);

        var proxy = pod.InitContainers[2];
        Assert.Equal("Always", proxy.RestartPolicy);
        Assert.Equal("/healthz", proxy.StartupProbe.HttpGet.Path);
        Assert.Equal(SandboxObjects.ProxyUid, proxy.SecurityContext.RunAsUser);
        Assert.NotEqual(proxy.SecurityContext.RunAsUser, pod.Containers.Single().SecurityContext.RunAsUser);
        Assert.Contains("--transparent-listen", proxy.Args);
        Assert.Contains("OPENAI_API_KEY=@/etc/airlock/proxy/secret-OPENAI_API_KEY", proxy.Args);
    }

    [Fact]
    public void Sidecar_redirect_allows_dns_to_the_resolver_only_when_dns_is_enabled()
    {
        var withDns = WorkloadPodSpec(SandboxObjects.Build(Spec(dns: true), Ca).Workload)!.InitContainers[0].Command[^1];
        var withoutDns = WorkloadPodSpec(SandboxObjects.Build(Spec(dns: false), Ca).Workload)!.InitContainers[0].Command[^1];

        Assert.Contains("/etc/resolv.conf", withDns, StringComparison.Ordinal);
        Assert.Contains("th dport 53 accept", withDns, StringComparison.Ordinal);
        Assert.DoesNotContain("dport 53", withoutDns, StringComparison.Ordinal);
    }

    [Fact]
    public void The_workload_cannot_run_as_root_or_as_the_proxy()
    {
        Assert.Throws<SandboxSpecException>(() => SandboxObjects.Build(Spec() with { RunAsUser = SandboxObjects.ProxyUid }, Ca));
        Assert.Throws<SandboxSpecException>(() => SandboxObjects.Build(Spec() with { RunAsUser = 0 }, Ca));
    }

    [Theory]
    [InlineData(WorkloadKind.Pod, NetworkMode.Restricted)]
    [InlineData(WorkloadKind.Sandbox, NetworkMode.Custom)]
    public void Proxy_pod_topology_needs_no_capability_anywhere(WorkloadKind workload, NetworkMode mode)
    {
        var set = SandboxObjects.Build(Spec(SandboxTopology.ProxyPod, workload, mode), Ca);
        var specs = Pods(set).Select(p => p.Spec).Append(WorkloadPodSpec(set.Workload)!).ToList();

        Assert.Equal(2, specs.Distinct().Count());
        foreach (var container in specs.SelectMany(s => s.Containers.Concat(s.InitContainers ?? [])))
        {
            Assert.Null(container.SecurityContext.Capabilities.Add);
            Assert.True(container.SecurityContext.RunAsNonRoot, container.Name);
            Assert.False(container.SecurityContext.AllowPrivilegeEscalation, container.Name);
        }

        var workloadSpec = WorkloadPodSpec(set.Workload)!;
        Assert.Equal("airlock-wait-proxy", workloadSpec.InitContainers[^1].Name);
        var address = $"{set.Names.Proxy}.agents.svc:3128";
        Assert.Contains(address, workloadSpec.InitContainers[^1].Command);
        Assert.Contains(workloadSpec.Containers.Single().Env, e => e.Name == "HTTPS_PROXY" && e.Value == "http://" + address);

        var service = set.Objects.OfType<V1Service>().Single();
        Assert.Equal("None", service.Spec.ClusterIP);
        var proxyPod = Pods(set).Single(p => p.Metadata.Name == set.Names.Proxy);
        Assert.All(service.Spec.Selector, pair => Assert.Equal(pair.Value, proxyPod.Metadata.Labels[pair.Key]));
        Assert.NotEqual(1000, proxyPod.Spec.SecurityContext.RunAsUser);
    }

    [Fact]
    public void Proxy_pod_rejects_what_would_let_the_workload_bypass_or_lose_its_proxy()
    {
        Assert.Contains("bypass", Assert.Throws<SandboxSpecException>(() => SandboxObjects.Build(Spec(SandboxTopology.ProxyPod, mode: NetworkMode.None), Ca)).Message, StringComparison.Ordinal);
        Assert.Contains("sidecar", Assert.Throws<SandboxSpecException>(() => SandboxObjects.Build(Spec(SandboxTopology.ProxyPod, WorkloadKind.Claim), Ca)).Message, StringComparison.Ordinal);
        Assert.Contains("dns", Assert.Throws<SandboxSpecException>(() => SandboxObjects.Build(Spec(SandboxTopology.ProxyPod, dns: false), Ca)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Claims_put_the_session_label_on_the_adopted_pod_through_additional_pod_metadata()
    {
        var set = SandboxObjects.Build(Spec(SandboxTopology.Sidecar, WorkloadKind.Claim), Ca);
        var claim = Assert.IsType<V1beta1SandboxClaim>(set.Workload);
        var policy = Policies(set).Single();

        Assert.Equal("python", claim.Spec.WarmPoolName);
        Assert.All(policy.Spec.PodSelector.MatchLabels, pair => Assert.Equal(pair.Value, claim.Spec.AdditionalPodLabels[pair.Key]));
        var json = ManifestJson.ToJson(claim);
        Assert.Equal("ses_01JTEST", (string?)json["spec"]!["additionalPodMetadata"]!["labels"]![KubernetesLabels.Session]);
        Assert.Equal("Delete", (string?)json["spec"]!["lifecycle"]!["shutdownPolicy"]);
        Assert.Equal("2026-01-02T05:04:05Z", (string?)json["spec"]!["lifecycle"]!["shutdownTime"]);
    }

    [Fact]
    public void Owner_references_point_every_other_object_at_the_created_workload_without_changing_the_set()
    {
        var set = SandboxObjects.Build(Spec(SandboxTopology.ProxyPod, WorkloadKind.Sandbox), Ca);

        var owned = set.OwnedByWorkload("0b1c-uid");

        Assert.Equal(set.Objects.Length - 1, owned.Length);
        Assert.All(owned, o =>
        {
            var owner = Assert.Single(o.Metadata.OwnerReferences);
            Assert.Equal(("agents.x-k8s.io/v1beta1", "Sandbox", set.Names.Workload, "0b1c-uid"), (owner.ApiVersion, owner.Kind, owner.Name, owner.Uid));
        });
        Assert.All(set.Objects, o => Assert.Null(o.Metadata.OwnerReferences));
    }

    [GeneratedRegex("^[a-z]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1035();
}
