using System.Collections.Immutable;
using System.Net;
using System.Text.Json.Nodes;
using Airlock.Kubernetes.Driver;
using Airlock.Kubernetes.Lifecycle;
using Airlock.Kubernetes.Objects;
using Airlock.Kubernetes.Tests.Fakes;
using Airlock.Kubernetes.Tests.Objects;
using Airlock.Proxy.Control;
using Airlock.Sandboxes;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;

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
            Assert.Single(await driver.ListAsync(CancellationToken.None));
            await foreach (var _ in driver.EventsAsync(info.Id, follow: false, CancellationToken.None))
            {
            }

            Assert.True(await driver.DeleteAsync(info.Id, CancellationToken.None));
            await driver.CollectAsync(new HashSet<string>(StringComparer.Ordinal), CancellationToken.None);
            Assert.Empty(server.Objects);
            return Permissions(server);
        }
        finally
        {
            files.Delete(recursive: true);
        }
    }

    /// <summary>
    /// A claim on a warm pool through the driver inside a control plane: the warm pod's proxy (the proxy's real
    /// control channel) takes the session's policy, then takes it again after a restart; exec, events, delete.
    /// </summary>
    public static async Task<IReadOnlyList<ApiPermission>> ClaimAsync()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server.BaseAddress.ToString() });
        var hub = new SessionEventHub();
        await using var listener = ControlPlaneListener.Start(new IPEndPoint(IPAddress.Loopback, 0), hub);
        var spool = Directory.CreateTempSubdirectory("airlock-helm-claim-");
        try
        {
            var driver = new KubernetesSandboxDriver(new KubernetesDriverOptions
            {
                Client = client,
                Namespace = Namespace,
                Image = "python:3.12",
                Workload = WorkloadKind.Claim,
                WarmPool = "python",
                ReadyTimeout = TimeSpan.FromSeconds(20),
                ControlPlane = new KubernetesControlPlane
                {
                    Endpoint = "airlock.airlock-system.svc:7070",
                    Pods = new PeerSelector("airlock-system", ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create("app.kubernetes.io/name", "airlock")])),
                    Listener = listener,
                    Events = hub,
                    PolicyTimeout = TimeSpan.FromSeconds(20),
                },
            });
            const string pod = "python-x7k2p";
            server.Seed("pods", new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Pod",
                ["metadata"] = new JsonObject { ["name"] = pod, ["namespace"] = Namespace, ["labels"] = new JsonObject { [KubernetesLabels.Pool] = "python" } },
                ["spec"] = new JsonObject { ["containers"] = new JsonArray() },
            });
            var endpoint = ControlEndpoint.Tcp("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint).Port);
            var handler = new AcceptingHandler();
            await using (var proxy = new ControlChannel(endpoint, new ControlChannelOptions { SessionId = pod, SpoolPath = Path.Combine(spool.FullName, "spool") }, handler, NullLogger<ControlChannel>.Instance))
            {
                proxy.Start();
                var adopted = AdoptAsync(server, pod);
                var info = await driver.CreateAsync(new SandboxSpec { PolicyText = SandboxSpecs.PolicyText, PolicySource = "policy.yaml", WorkDirectory = "/workspace" }, CancellationToken.None);
                await adopted;
                Assert.Equal(1, handler.Updates);
                Assert.Equal(0, await driver.ExecAsync(info.Id, new ExecRequest { Command = ["true"] }, new ExecStreams(null, Stream.Null, Stream.Null), CancellationToken.None));
                Assert.Single(await driver.ListAsync(CancellationToken.None));
                Assert.True(await driver.RestoreClaimedPolicyAsync(new ProxyHello(pod, "t", null, 0), CancellationToken.None));
                Assert.Equal(2, handler.Updates);
                Assert.True(await driver.DeleteAsync(info.Id, CancellationToken.None));
            }

            Assert.Empty(server.Objects);
            return Permissions(server);
        }
        finally
        {
            spool.Delete(recursive: true);
        }
    }

    /// <summary>Plays agent-sandbox adopting the warm pod for the claim: the claim's pod labels on the pod, the claim Ready.</summary>
    private static async Task AdoptAsync(FakeKubernetesApiServer server, string pod)
    {
        for (var i = 0; i < 800; i++)
        {
            var claim = server.Objects.FirstOrDefault(o => o.Key.StartsWith("sandboxclaims.", StringComparison.Ordinal));
            if (claim.Key is not null)
            {
                var labels = claim.Value["spec"]!["additionalPodMetadata"]!["labels"]!.AsObject();
                server.Update("pods", Namespace, pod, p =>
                {
                    foreach (var (key, value) in labels)
                    {
                        p["metadata"]!["labels"]![key] = value!.DeepClone();
                    }
                });
                server.Update(claim.Key.Split('/')[0], Namespace, claim.Key.Split('/')[2], c => c["status"] = new JsonObject
                {
                    ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True", ["reason"] = "Claimed" }),
                });
                return;
            }

            await Task.Delay(25);
        }
    }

    /// <summary>The warm pod's proxy: accepts every policy and counts them.</summary>
    private sealed class AcceptingHandler : IControlHandler
    {
        private int _updates;

        public int Updates => Volatile.Read(ref _updates);

        public string? PolicyVersion { get; private set; }

        public ValueTask<PolicyUpdateResult> OnPolicyUpdateAsync(string version, string policyText, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _updates);
            PolicyVersion = version;
            return ValueTask.FromResult(PolicyUpdateResult.Accepted);
        }
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

        var collected = await new SandboxLifecycle(new KubernetesRest(client)).CollectAsync(Namespace, new HashSet<string>(StringComparer.Ordinal), null, CancellationToken.None);

        Assert.Equal(["sb-0ld"], collected.Select(c => c.Session));
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
