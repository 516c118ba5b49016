using System.Text.Json.Nodes;
using Airlock.Kubernetes.Driver;
using Airlock.Kubernetes.Lifecycle;
using Airlock.Kubernetes.Objects;
using Airlock.Kubernetes.Tests.Fakes;
using Airlock.Kubernetes.Tests.Objects;
using Airlock.Sandboxes;
using k8s;

namespace Airlock.Kubernetes.Tests.Helm;

/// <summary>
/// Runs the real driver and lifecycle code against the FAKE API server and returns what the requests it sent
/// need from RBAC: the evidence the chart's Role is checked against.
/// </summary>
internal static class DriverRequestRecorder
{
    /// <summary>The sandbox namespace of every scenario.</summary>
    public const string Namespace = "agents";

    /// <summary>
    /// Through the driver contract: create (with rollback machinery and readiness), get, exec, upload, download,
    /// list, events (the proxy's log), delete; then the reconciler's collection pass.
    /// </summary>
    public static async Task<IReadOnlyList<ApiPermission>> DriverAsync(SandboxTopology topology, WorkloadKind workload)
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server.BaseAddress.ToString() });
        var files = Directory.CreateTempSubdirectory("airlock-helm-rbac-");
        try
        {
            var driver = new KubernetesSandboxDriver(new KubernetesDriverOptions
            {
                Client = client,
                Namespace = Namespace,
                Image = "python:3.12",
                Topology = topology,
                Workload = workload,
                ReadyTimeout = TimeSpan.FromSeconds(20),
                FileRoots = [files.FullName],
            });
            var ready = PlayControllersAsync(server, workload);
            var info = await driver.CreateAsync(
                new SandboxSpec { PolicyText = SandboxSpecs.PolicyText, PolicySource = "policy.yaml", WorkDirectory = "/workspace" },
                CancellationToken.None);
            await ready;

            var names = SandboxObjectNames.For(info.Id);
            server.SetLog(Namespace, topology == SandboxTopology.ProxyPod ? names.Proxy : names.Workload, SandboxPods.ProxyContainer, "airlock proxy: listening\n");
            Assert.NotNull(await driver.GetAsync(info.Id, CancellationToken.None));
            Assert.Equal(0, await driver.ExecAsync(info.Id, new ExecRequest { Command = ["true"] }, new ExecStreams(null, Stream.Null, Stream.Null), CancellationToken.None));
            await driver.UploadAsync(info.Id, "note.txt", new MemoryStream("x"u8.ToArray()), UnixFileMode.UserRead | UnixFileMode.UserWrite, CancellationToken.None);
            await driver.DownloadAsync(info.Id, "note.txt", Stream.Null, CancellationToken.None);
            // Only the requests matter here: a Sandbox carries no role label today, so the driver's list finds
            // none of them (reported; the pod workload lists its one sandbox).
            var listed = await driver.ListAsync(CancellationToken.None);
            Assert.True(workload != WorkloadKind.Pod || listed.Count == 1);
            await foreach (var _ in driver.EventsAsync(info.Id, follow: false, CancellationToken.None))
            {
            }

            Assert.True(await driver.DeleteAsync(info.Id, CancellationToken.None));
            await new SandboxLifecycle(new KubernetesRest(client)).CollectAsync(Namespace, new HashSet<string>(StringComparer.Ordinal), CancellationToken.None);
            Assert.Empty(server.Objects);
            return Permissions(server);
        }
        finally
        {
            files.Delete(recursive: true);
        }
    }

    /// <summary>
    /// A claim on a warm pool, which the driver refuses today (the control plane must hand the warm pod its policy):
    /// its objects applied and deleted by the lifecycle the control plane will use.
    /// </summary>
    public static async Task<IReadOnlyList<ApiPermission>> ClaimAsync()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server.BaseAddress.ToString() });
        var lifecycle = new SandboxLifecycle(new KubernetesRest(client));
        var spec = SandboxSpecs.Spec(SandboxTopology.Sidecar, WorkloadKind.Claim);
        var objects = SandboxObjects.Build(spec, SandboxSpecs.Ca).Objects.Select(o => ClusterObject.From(ManifestJson.ToJson(o))).ToList();
        var ready = PlayControllersAsync(server, WorkloadKind.Claim);

        await lifecycle.CreateAsync(objects, objects[^1], TimeSpan.FromSeconds(20), CancellationToken.None);
        await ready;
        Assert.True(await lifecycle.DeleteSessionAsync(Namespace, spec.SessionId, CancellationToken.None) > 0);
        Assert.Empty(server.Objects);
        return Permissions(server);
    }

    /// <summary>
    /// The reconciler collecting an orphan that carries Airlock's labels, of every kind it looks for (a ConfigMap
    /// among them, which the driver lists and deletes though it creates none).
    /// </summary>
    public static async Task<IReadOnlyList<ApiPermission>> CollectOrphansAsync()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server.BaseAddress.ToString() });
        var labels = new JsonObject { [KubernetesLabels.ManagedBy] = KubernetesLabels.ManagedByValue, [KubernetesLabels.Session] = "sb-0ld" };
        server.Seed("configmaps", new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject { ["name"] = "airlock-orphan", ["namespace"] = Namespace, ["labels"] = labels },
        });

        var collected = await new SandboxLifecycle(new KubernetesRest(client)).CollectAsync(Namespace, new HashSet<string>(StringComparer.Ordinal), CancellationToken.None);

        Assert.Equal(["sb-0ld"], collected);
        Assert.Empty(server.Objects);
        return Permissions(server);
    }

    /// <summary>
    /// A warm pool's objects (<see cref="WarmPoolObjects"/>) created and deleted through the same REST calls. No code
    /// of this version manages pools; this is what <c>rbac.warmPools</c> grants for.
    /// </summary>
    public static async Task<IReadOnlyList<ApiPermission>> WarmPoolAsync()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server.BaseAddress.ToString() });
        var rest = new KubernetesRest(client);
        var objects = WarmPoolObjects.Build("python", 2, SandboxSpecs.Spec(workload: WorkloadKind.Claim), SandboxSpecs.Ca)
            .Select(o => ClusterObject.From(ManifestJson.ToJson(o)))
            .ToList();

        foreach (var obj in objects)
        {
            await rest.CreateAsync(obj, CancellationToken.None);
        }

        Assert.Equal(objects.Count, await new SandboxLifecycle(rest).DeleteAsync(objects.AsEnumerable().Reverse(), CancellationToken.None));
        Assert.Empty(server.Objects);
        return Permissions(server);
    }

    private static IReadOnlyList<ApiPermission> Permissions(FakeKubernetesApiServer server) =>
        [.. server.Requests.SelectMany(ApiPermission.Of).Distinct()];

    /// <summary>
    /// Plays the kubelet and the agent-sandbox controller: the workload turns Ready once it exists, and a Sandbox's
    /// pod (named after it, with its template's labels, owned by it) appears.
    /// </summary>
    private static async Task PlayControllersAsync(FakeKubernetesApiServer server, WorkloadKind workload)
    {
        var plural = workload switch
        {
            WorkloadKind.Pod => "pods",
            WorkloadKind.Sandbox => "sandboxes." + AgentSandboxApi.Group,
            _ => "sandboxclaims." + AgentSandboxApi.ExtensionsGroup,
        };
        for (var i = 0; i < 800; i++)
        {
            var found = server.Objects.FirstOrDefault(o =>
                o.Key.StartsWith(plural + "/", StringComparison.Ordinal)
                && (workload != WorkloadKind.Pod || (string?)o.Value["metadata"]?["labels"]?[KubernetesLabels.Role] == KubernetesLabels.RoleAgent));
            if (found.Key is not null)
            {
                var name = found.Key.Split('/')[2];
                server.Update(plural, Namespace, name, o => o["status"] = new JsonObject
                {
                    ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
                });
                if (workload == WorkloadKind.Sandbox)
                {
                    server.Seed("pods", new JsonObject
                    {
                        ["apiVersion"] = "v1",
                        ["kind"] = "Pod",
                        ["metadata"] = new JsonObject
                        {
                            ["name"] = name,
                            ["namespace"] = Namespace,
                            ["labels"] = found.Value["spec"]!["podTemplate"]!["metadata"]!["labels"]!.DeepClone(),
                            ["ownerReferences"] = new JsonArray(new JsonObject { ["uid"] = found.Value["metadata"]!["uid"]!.DeepClone() }),
                        },
                    });
                }

                return;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"no {plural} was created");
    }
}
