using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Airlock.Kubernetes.Driver;
using Airlock.Kubernetes.Objects;
using Airlock.Kubernetes.Tests.Fakes;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;
using Airlock.Sandboxes;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;

namespace Airlock.Kubernetes.Tests.Driver;

/// <summary>
/// The driver inside a control plane: a real <see cref="ControlPlaneListener"/> on loopback, the FAKE API server for
/// the cluster, and the proxies played by the proxy's real <see cref="ControlChannel"/> dialling the listener.
/// </summary>
public sealed class ControlPlaneDriverTests : IAsyncLifetime, IDisposable
{
    private const string Namespace = "agents";
    private const string Pool = "warm";
    private const string SessionPolicy = "version: 1\negress:\n  - allow: api.github.com\n";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("airlock-k8s-plane-");
    private readonly SessionEventHub _hub = new();
    private readonly List<ControlChannel> _proxies = [];
    private FakeKubernetesApiServer _server = null!;
    private k8s.Kubernetes _client = null!;
    private ControlPlaneListener _listener = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeKubernetesApiServer.StartAsync();
        _client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _server.BaseAddress.ToString() });
        _listener = ControlPlaneListener.Start(new IPEndPoint(IPAddress.Loopback, 0), _hub);
    }

    public async Task DisposeAsync()
    {
        foreach (var proxy in _proxies)
        {
            await proxy.DisposeAsync();
        }

        await _listener.DisposeAsync();
        await _server.DisposeAsync();
    }

    public void Dispose()
    {
        _client.Dispose();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task A_claim_adopts_a_warm_pod_whose_proxy_gets_the_sessions_policy_before_the_sandbox_is_ready()
    {
        var driver = Driver(WorkloadKind.Claim);
        var proxy = new PolicyRecorder();
        var warmPool = PlayWarmPoolAsync("warm-abc12", proxy);

        var info = await driver.CreateAsync(Spec(), CancellationToken.None);
        await warmPool;

        Assert.Equal(SandboxState.Running, info.State);
        Assert.Equal([(info.Id + "/1", SessionPolicy)], proxy.Updates);
        var claim = Assert.Single(_server.Objects, o => o.Key.StartsWith("sandboxclaims.", StringComparison.Ordinal)).Value;
        Assert.Equal(Pool, (string?)claim["spec"]?["warmPoolRef"]?["name"]);

        // The adopted pod's proxy reports under its pod name; the driver shows its events as the session's.
        _proxies[0].SendEvent(Event("warm-abc12", "e-1"));
        var seen = await FirstEventsAsync(driver, info.Id, 1);
        Assert.Equal("e-1", Assert.Single(seen).Id);

        // Exec goes to the adopted pod.
        var exit = await driver.ExecAsync(info.Id, new ExecRequest { Command = ["true"] }, new ExecStreams(null, Stream.Null, Stream.Null), CancellationToken.None);
        Assert.Equal(0, exit);
        Assert.Contains(_server.Requests, r => r.Path.Contains("/pods/warm-abc12/exec", StringComparison.Ordinal));

        Assert.True(await driver.DeleteAsync(info.Id, CancellationToken.None));
        Assert.DoesNotContain(_server.Objects.Values, o => (string?)o["metadata"]?["labels"]?[KubernetesLabels.Session] == info.Id);
    }

    [Fact]
    public async Task A_claimed_pods_proxy_that_restarts_on_its_baseline_policy_gets_the_sessions_policy_back()
    {
        var driver = Driver(WorkloadKind.Claim);
        var first = new PolicyRecorder();
        var warmPool = PlayWarmPoolAsync("warm-r3st4", first);
        var info = await driver.CreateAsync(Spec(), CancellationToken.None);
        await warmPool;

        // The sidecar restarts: a new proxy, on the pool's deny-all policy again, says hello with no policy version.
        await _proxies[0].DisposeAsync();
        _proxies.Clear();
        var restarted = new PolicyRecorder();
        var hellos = new ConcurrentQueue<ProxyHello>();
        _hub.Connected += hellos.Enqueue;
        StartProxy("warm-r3st4", restarted);
        Assert.True(await Eventually(() => !hellos.IsEmpty));

        Assert.True(await driver.RestoreClaimedPolicyAsync(hellos.First(), CancellationToken.None));
        Assert.Equal([(info.Id + "/1", SessionPolicy)], restarted.Updates);

        // A proxy already on a session policy, or one that is not a claimed pod, is left alone.
        Assert.False(await driver.RestoreClaimedPolicyAsync(new ProxyHello("warm-r3st4", "t", info.Id + "/1", 0), CancellationToken.None));
        Assert.False(await driver.RestoreClaimedPolicyAsync(new ProxyHello("unknown-pod", "t", null, 0), CancellationToken.None));
    }

    [Fact]
    public async Task A_claimed_pod_whose_proxy_refuses_the_policy_fails_the_create_and_leaves_nothing_of_the_session()
    {
        var driver = Driver(WorkloadKind.Claim);
        var proxy = new PolicyRecorder { Refuse = true };
        var warmPool = PlayWarmPoolAsync("warm-n0p3", proxy);

        var error = await Assert.ThrowsAsync<SandboxException>(() => driver.CreateAsync(Spec(), CancellationToken.None));
        await warmPool;

        Assert.Contains("refused the session's policy", error.Message, StringComparison.Ordinal);
        Assert.Contains("everything made for it was deleted", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_server.Objects.Values, o => (string?)o["metadata"]?["labels"]?[KubernetesLabels.Session] is not null);
    }

    [Fact]
    public async Task Claims_need_the_control_plane_and_cannot_carry_injection_secrets()
    {
        var withoutPlane = new KubernetesSandboxDriver(Options(WorkloadKind.Claim) with { ControlPlane = null });
        var noPlane = await Assert.ThrowsAsync<SandboxException>(() => withoutPlane.CreateAsync(Spec(), CancellationToken.None));
        var secrets = await Assert.ThrowsAsync<SandboxException>(() =>
            Driver(WorkloadKind.Claim).CreateAsync(Spec() with { Secrets = new Dictionary<string, string> { ["GITHUB_TOKEN"] = "t" } }, CancellationToken.None));

        Assert.Contains("control plane", noPlane.Message, StringComparison.Ordinal);
        Assert.Contains("injection secrets", secrets.Message, StringComparison.Ordinal);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task A_pod_sandboxs_proxy_is_told_to_dial_the_control_plane_and_its_events_come_from_there()
    {
        var driver = Driver(WorkloadKind.Pod);
        var ready = MarkAgentPodReadyAsync();
        var info = await driver.CreateAsync(Spec(), CancellationToken.None);
        await ready;

        var pod = _server.Objects[$"pods/{Namespace}/{SandboxObjectNames.For(info.Id).Workload}"];
        var proxyArgs = pod["spec"]!["initContainers"]!.AsArray().Select(c => c!.AsObject()).Single(c => (string?)c["name"] == SandboxPods.ProxyContainer)["args"]!.AsArray().Select(a => (string?)a).ToList();
        Assert.Equal(Endpoint, proxyArgs[proxyArgs.IndexOf("--control") + 1]);

        StartProxy(info.Id, new PolicyRecorder());
        _proxies[0].SendEvent(Event(info.Id, "e-7"));
        _proxies[0].SendEvent(Event(info.Id, "e-8"));
        Assert.Equal(["e-7", "e-8"], (await FirstEventsAsync(driver, info.Id, 2)).Select(e => e.Id));
        Assert.DoesNotContain(_server.Requests, r => r.Path.EndsWith("/log", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_reconciler_deletes_orphans_and_idle_sessions_and_survives_a_failed_pass()
    {
        var driver = Driver(WorkloadKind.Pod);
        var ready = MarkAgentPodReadyAsync();
        var kept = await driver.CreateAsync(Spec(), CancellationToken.None);
        await ready;
        ready = MarkAgentPodReadyAsync(except: kept.Id);
        var orphan = await driver.CreateAsync(Spec(), CancellationToken.None);
        await ready;

        var before = _server.Requests.Count;
        var reconciler = new SandboxReconciler(driver, _ => Task.FromResult<IReadOnlySet<string>?>(new HashSet<string>(StringComparer.Ordinal) { kept.Id }), TimeSpan.FromMilliseconds(50), NullLogger.Instance);
        _server.FailNext(r => r.Method == "GET", 500);
        using var stop = new CancellationTokenSource();
        var running = reconciler.RunAsync(stop.Token);
        Assert.True(await Eventually(() => reconciler.Collected.Count > 0));
        await stop.CancelAsync();
        await running;

        Assert.Equal(1, reconciler.FailedPasses);
        var collected = Assert.Single(reconciler.Collected);
        Assert.Equal((orphan.Id, "unknown to the control plane"), (collected.Session, collected.Reason));
        Assert.NotNull(await driver.GetAsync(kept.Id, CancellationToken.None));
        Assert.Null(await driver.GetAsync(orphan.Id, CancellationToken.None));
        Assert.DoesNotContain(_server.Requests.Skip(before), r => r.Method is "POST" or "PUT" or "PATCH");
    }

    private static string Endpoint => "airlock.airlock-system.svc:7070";

    private KubernetesDriverOptions Options(WorkloadKind workload) => new()
    {
        Client = _client,
        Namespace = Namespace,
        Image = "python:3.12",
        Workload = workload,
        WarmPool = workload == WorkloadKind.Claim ? Pool : null,
        ReadyTimeout = TimeSpan.FromSeconds(20),
        FileRoots = [_dir.FullName],
        ControlPlane = new KubernetesControlPlane
        {
            Endpoint = Endpoint,
            Pods = new PeerSelector("airlock-system", System.Collections.Immutable.ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create("app.kubernetes.io/name", "airlock")])),
            Listener = _listener,
            Events = _hub,
            PolicyTimeout = TimeSpan.FromSeconds(20),
        },
    };

    private KubernetesSandboxDriver Driver(WorkloadKind workload) => new(Options(workload));

    private static SandboxSpec Spec() => new()
    {
        PolicyText = SessionPolicy,
        PolicySource = "policy.yaml",
        WorkDirectory = "/workspace",
    };

    private void StartProxy(string session, PolicyRecorder handler)
    {
        var port = ((IPEndPoint)_listener.LocalEndPoint).Port;
        var channel = new ControlChannel(
            ControlEndpoint.Tcp("127.0.0.1", port),
            new ControlChannelOptions { SessionId = session, SpoolPath = Path.Combine(_dir.FullName, session + "-" + _proxies.Count + ".spool"), InitialBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(200) },
            handler,
            NullLogger<ControlChannel>.Instance);
        channel.Start();
        _proxies.Add(channel);
    }

    /// <summary>
    /// Plays agent-sandbox's warm pool and the warm pod's proxy: a pool pod already runs and its proxy is connected
    /// under the pod's name; when the claim appears, the pod is adopted (the claim's pod labels added) and the claim
    /// turns Ready.
    /// </summary>
    private async Task PlayWarmPoolAsync(string podName, PolicyRecorder proxy)
    {
        _server.Seed("pods", new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = podName, ["namespace"] = Namespace, ["labels"] = new JsonObject { [KubernetesLabels.Pool] = Pool } },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray() },
        });
        StartProxy(podName, proxy);
        for (var i = 0; i < 800; i++)
        {
            var claim = _server.Objects.FirstOrDefault(o => o.Key.StartsWith("sandboxclaims.", StringComparison.Ordinal));
            if (claim.Key is not null)
            {
                var podLabels = claim.Value["spec"]!["additionalPodMetadata"]!["labels"]!.AsObject();
                _server.Update("pods", Namespace, podName, pod =>
                {
                    foreach (var (key, value) in podLabels)
                    {
                        pod["metadata"]!["labels"]![key] = value!.DeepClone();
                    }
                });
                var name = claim.Key.Split('/')[2];
                _server.Update(claim.Key.Split('/')[0], Namespace, name, c => c["status"] = new JsonObject
                {
                    ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True", ["reason"] = "Claimed" }),
                    ["sandbox"] = new JsonObject { ["name"] = podName },
                });
                return;
            }

            await Task.Delay(25);
        }
    }

    /// <summary>Plays the kubelet: the (next) agent pod turns Ready once it exists.</summary>
    private async Task MarkAgentPodReadyAsync(string? except = null)
    {
        for (var i = 0; i < 400; i++)
        {
            var pod = _server.Objects.FirstOrDefault(o => o.Key.StartsWith("pods/", StringComparison.Ordinal)
                && (string?)o.Value["metadata"]?["labels"]?[KubernetesLabels.Role] == KubernetesLabels.RoleAgent
                && (string?)o.Value["metadata"]?["labels"]?[KubernetesLabels.Session] != except);
            if (pod.Key is not null)
            {
                _server.Update("pods", Namespace, pod.Key.Split('/')[2], p => p["status"] = new JsonObject
                {
                    ["phase"] = "Running",
                    ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
                });
                return;
            }

            await Task.Delay(25);
        }
    }

    private static byte[] Event(string session, string id) => Encoding.UTF8.GetBytes(EventJson.ToJson(new EgressEvent
    {
        Type = EgressEventType.Request,
        Ts = DateTimeOffset.UtcNow,
        Session = session,
        Id = id,
        Conn = "c-1",
        Decision = "deny",
        Reason = "default_deny",
        Mode = "enforce",
        Host = "x.example",
        Port = 443,
        Tls = "intercepted",
    }) + "\n");

    private static async Task<List<EgressEvent>> FirstEventsAsync(KubernetesSandboxDriver driver, string id, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var seen = new List<EgressEvent>();
        await foreach (var e in driver.EventsAsync(id, follow: true, timeout.Token))
        {
            seen.Add(e);
            if (seen.Count == count)
            {
                break;
            }
        }

        return seen;
    }

    private static async Task<bool> Eventually(Func<bool> condition)
    {
        for (var i = 0; i < 400 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        return condition();
    }

    /// <summary>The proxy's side of policy updates: records them, accepts or refuses.</summary>
    private sealed class PolicyRecorder : IControlHandler
    {
        public ConcurrentQueue<(string Version, string Text)> Updates { get; } = new();

        public bool Refuse { get; init; }

        public string? PolicyVersion { get; private set; }

        public ValueTask<PolicyUpdateResult> OnPolicyUpdateAsync(string version, string policyText, CancellationToken cancellationToken)
        {
            Updates.Enqueue((version, policyText));
            if (Refuse)
            {
                return ValueTask.FromResult(PolicyUpdateResult.Rejected(["policy:2:3: this proxy refuses for the test"]));
            }

            PolicyVersion = version;
            return ValueTask.FromResult(PolicyUpdateResult.Accepted);
        }
    }
}
