using System.Net;
using System.Text.Json.Nodes;
using Airlock.Kubernetes.Lifecycle;
using Airlock.Kubernetes.Tests.Fakes;

namespace Airlock.Kubernetes.Tests.Lifecycle;

/// <summary>Create order, owner references, readiness, rollback, delete and collection against the FAKE API server.</summary>
public sealed class SandboxLifecycleTests : IAsyncLifetime, IDisposable
{
    private const string Namespace = "agents";
    private FakeKubernetesApiServer _server = null!;
    private HttpClient _http = null!;
    private SandboxLifecycle _lifecycle = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeKubernetesApiServer.StartAsync();
        _http = new HttpClient();
        _lifecycle = new SandboxLifecycle(new KubernetesRest(_http, _server.BaseAddress));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _http.Dispose();

    public static TheoryData<int> Steps() => [0, 1, 2, 3];

    [Fact]
    public async Task Objects_are_created_in_order_owned_by_the_workload_and_ready_before_return()
    {
        var objects = Sandbox("s1");
        var markReady = MarkReadyWhenCreatedAsync("pods", "agent-s1");

        var stored = await _lifecycle.CreateAsync(objects, objects[^1], TimeSpan.FromSeconds(20), CancellationToken.None);
        await markReady;

        Assert.Equal(["networkpolicies.networking.k8s.io", "secrets", "secrets", "pods"], _server.Requests.Where(r => r.Method == "POST").Select(r => r.Plural));
        var podUid = (string?)stored[^1]["metadata"]!["uid"];
        foreach (var (key, obj) in _server.Objects.Where(p => !p.Key.StartsWith("pods/", StringComparison.Ordinal)))
        {
            Assert.Equal(podUid, (string?)obj["metadata"]!["ownerReferences"]![0]!["uid"]);
        }

        Assert.Equal(4, _server.Objects.Count);
    }

    [Theory]
    [MemberData(nameof(Steps))]
    public async Task A_failure_at_any_create_step_leaves_nothing_behind_and_reports_the_original_error(int step)
    {
        var objects = Sandbox("s2");
        _server.FailNext(r => r.Method == "POST" && r.Path.EndsWith(objects[step].CollectionPath, StringComparison.Ordinal) && _server.Requests.Count(q => q.Method == "POST") == step + 1, 500);

        var error = await Assert.ThrowsAsync<KubernetesApiException>(() => _lifecycle.CreateAsync(objects, objects[^1], TimeSpan.FromSeconds(5), CancellationToken.None));

        Assert.Equal(HttpStatusCode.InternalServerError, error.Status);
        Assert.Empty(_server.Objects);
    }

    [Fact]
    public async Task A_failure_while_setting_owner_references_rolls_back_too()
    {
        var objects = Sandbox("s3");
        _server.FailNext(r => r.Method == "PATCH", 409);

        var error = await Assert.ThrowsAsync<KubernetesApiException>(() => _lifecycle.CreateAsync(objects, objects[^1], TimeSpan.FromSeconds(5), CancellationToken.None));

        Assert.Equal(HttpStatusCode.Conflict, error.Status);
        Assert.Empty(_server.Objects);
    }

    [Fact]
    public async Task A_workload_that_never_gets_ready_is_named_with_its_conditions_and_rolled_back()
    {
        var objects = Sandbox("s4");
        var stuck = Task.Run(async () =>
        {
            await WaitForAsync(() => _server.Objects.ContainsKey($"pods/{Namespace}/agent-s4"));
            _server.Update("pods", Namespace, "agent-s4", pod => pod["status"] = new JsonObject
            {
                ["phase"] = "Pending",
                ["conditions"] = new JsonArray(new JsonObject { ["type"] = "PodScheduled", ["status"] = "False", ["reason"] = "Unschedulable", ["message"] = "0/3 nodes are available" }),
            });
        });

        var error = await Assert.ThrowsAsync<SandboxCreateException>(() => _lifecycle.CreateAsync(objects, objects[^1], TimeSpan.FromSeconds(2), CancellationToken.None));
        await stuck;

        Assert.Contains("Pod agents/agent-s4 was not ready after 2 s", error.Message, StringComparison.Ordinal);
        Assert.Contains("PodScheduled=False (Unschedulable: 0/3 nodes are available)", error.Message, StringComparison.Ordinal);
        Assert.Empty(_server.Objects);
    }

    [Fact]
    public async Task A_workload_that_failed_is_not_waited_for()
    {
        var objects = Sandbox("s5");
        var failing = Task.Run(async () =>
        {
            await WaitForAsync(() => _server.Objects.ContainsKey($"pods/{Namespace}/agent-s5"));
            _server.Update("pods", Namespace, "agent-s5", pod => pod["status"] = new JsonObject { ["phase"] = "Failed" });
        });

        var error = await Assert.ThrowsAsync<SandboxCreateException>(() => _lifecycle.CreateAsync(objects, objects[^1], TimeSpan.FromSeconds(60), CancellationToken.None));
        await failing;

        Assert.Contains("failed: phase Failed", error.Message, StringComparison.Ordinal);
        Assert.Empty(_server.Objects);
    }

    [Fact]
    public async Task Cancelling_creation_still_rolls_back()
    {
        var objects = Sandbox("s6");
        using var cancel = new CancellationTokenSource();
        var cancelling = Task.Run(async () =>
        {
            await WaitForAsync(() => _server.Objects.ContainsKey($"pods/{Namespace}/agent-s6"));
            await cancel.CancelAsync();
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _lifecycle.CreateAsync(objects, objects[^1], TimeSpan.FromSeconds(60), cancel.Token));
        await cancelling;

        Assert.Empty(_server.Objects);
    }

    [Fact]
    public async Task Deleting_tolerates_missing_objects_and_goes_on_past_failures()
    {
        var objects = Sandbox("s7");
        foreach (var obj in objects.Skip(1))
        {
            _server.Seed(obj.Plural == "networkpolicies" ? "networkpolicies.networking.k8s.io" : obj.Plural, obj.Body);
        }

        _server.FailNext(r => r.Method == "DELETE" && r.Plural == "secrets", 500);

        var error = await Assert.ThrowsAsync<AggregateException>(() => _lifecycle.DeleteAsync(objects, CancellationToken.None));

        Assert.Single(error.InnerExceptions);
        Assert.Equal(["secrets/agents/proxy-s7"], _server.Objects.Keys);
        Assert.Equal(4, _server.Requests.Count(r => r.Method == "DELETE"));
        Assert.All(_server.Requests.Where(r => r.Method == "DELETE"), r => Assert.Equal("Foreground", r.PropagationPolicy));
    }

    [Fact]
    public async Task A_session_is_deleted_by_its_label_workloads_first_policies_last()
    {
        foreach (var obj in Sandbox("s8").Concat(Sandbox("other")))
        {
            _server.Seed(obj.Plural == "networkpolicies" ? "networkpolicies.networking.k8s.io" : obj.Plural, obj.Body);
        }

        var deleted = await _lifecycle.DeleteSessionAsync(Namespace, "s8", CancellationToken.None);

        Assert.Equal(4, deleted);
        Assert.Equal(["pods", "secrets", "secrets", "networkpolicies.networking.k8s.io"], _server.Requests.Where(r => r.Method == "DELETE").Select(r => r.Plural));
        Assert.All(_server.Objects.Keys, key => Assert.EndsWith("-other", key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_cluster_without_the_agent_sandbox_crds_or_rights_to_them_still_deletes_a_session_but_other_refusals_are_not_hidden()
    {
        foreach (var obj in Sandbox("s9"))
        {
            _server.Seed(obj.Plural == "networkpolicies" ? "networkpolicies.networking.k8s.io" : obj.Plural, obj.Body);
        }

        _server.FailNext(r => r.Method == "GET" && r.Plural == "sandboxes.agents.x-k8s.io", 404);
        _server.FailNext(r => r.Method == "GET" && r.Plural == "sandboxclaims.extensions.agents.x-k8s.io", 403);
        var deleted = await _lifecycle.DeleteSessionAsync(Namespace, "s9", CancellationToken.None);

        Assert.Equal(4, deleted);
        Assert.Empty(_server.Objects);

        _server.FailNext(r => r.Method == "GET" && r.Plural == "pods", 403);
        var refused = await Assert.ThrowsAsync<KubernetesApiException>(() => _lifecycle.DeleteSessionAsync(Namespace, "s9", CancellationToken.None));
        Assert.Contains("403", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_collector_deletes_orphans_and_expired_sessions_and_nothing_else()
    {
        foreach (var obj in Sandbox("live").Concat(Sandbox("orphan")).Concat(Sandbox("expired", DateTimeOffset.UtcNow.AddMinutes(-1))).Concat(Sandbox("later", DateTimeOffset.UtcNow.AddHours(1))))
        {
            _server.Seed(obj.Plural == "networkpolicies" ? "networkpolicies.networking.k8s.io" : obj.Plural, obj.Body);
        }

        _server.Seed("secrets", new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = new JsonObject { ["name"] = "not-ours", ["namespace"] = Namespace } });

        var collected = await _lifecycle.CollectAsync(Namespace, new HashSet<string>(StringComparer.Ordinal) { "live", "expired", "later" }, null, CancellationToken.None);

        Assert.Equal([("expired", "past its TTL"), ("orphan", "unknown to the control plane")], collected.Select(c => (c.Session, c.Reason)).Order());
        Assert.Equal(9, _server.Objects.Count);
        Assert.DoesNotContain(_server.Objects.Keys, k => k.Contains("orphan", StringComparison.Ordinal) || k.Contains("expired", StringComparison.Ordinal));
        Assert.Contains("secrets/agents/not-ours", _server.Objects.Keys);
        Assert.DoesNotContain(_server.Requests, r => r.Method == "POST");
    }

    [Fact]
    public async Task Without_a_list_of_live_sessions_only_expired_and_idle_sessions_are_collected()
    {
        foreach (var obj in Sandbox("busy", idleSeconds: 600).Concat(Sandbox("quiet", idleSeconds: 600)).Concat(Sandbox("unjudged", idleSeconds: 600)).Concat(Sandbox("gone", DateTimeOffset.UtcNow.AddSeconds(-5))))
        {
            _server.Seed(obj.Plural == "networkpolicies" ? "networkpolicies.networking.k8s.io" : obj.Plural, obj.Body);
        }

        // The collector's clock is an hour on, so the objects (created just now) are old enough to be idle.
        var now = DateTimeOffset.UtcNow.AddHours(1);
        var lifecycle = new SandboxLifecycle(new KubernetesRest(_http, _server.BaseAddress), new ShiftedTime(TimeSpan.FromHours(1)));
        DateTimeOffset? LastActivity(string session, IReadOnlyList<ClusterObject> objects)
        {
            Assert.All(objects, o => Assert.Equal(session, (string?)o.Body["metadata"]?["labels"]?[KubernetesLabels.Session]));
            return session switch { "busy" => now.AddMinutes(-2), "quiet" => now.AddMinutes(-30), _ => null };
        }

        var collected = await lifecycle.CollectAsync(Namespace, null, LastActivity, CancellationToken.None);

        Assert.Equal(["gone", "quiet"], collected.Select(c => c.Session).Order(StringComparer.Ordinal));
        Assert.StartsWith("idle for 3", collected.Single(c => c.Session == "quiet").Reason, StringComparison.Ordinal);
        Assert.Equal(8, _server.Objects.Count);
        Assert.All(_server.Objects.Keys, k => Assert.True(k.EndsWith("-busy", StringComparison.Ordinal) || k.EndsWith("-unjudged", StringComparison.Ordinal), k));
    }

    [Fact]
    public async Task A_warm_pools_objects_carry_no_session_and_are_never_collected()
    {
        var pool = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["metadata"] = new JsonObject
            {
                ["name"] = "pool-ca",
                ["namespace"] = Namespace,
                ["labels"] = new JsonObject { [KubernetesLabels.ManagedBy] = KubernetesLabels.ManagedByValue, [KubernetesLabels.Pool] = "warm" },
            },
        };
        _server.Seed("secrets", pool);

        var collected = await _lifecycle.CollectAsync(Namespace, new HashSet<string>(StringComparer.Ordinal), null, CancellationToken.None);

        Assert.Empty(collected);
        Assert.Equal(["secrets/agents/pool-ca"], _server.Objects.Keys);
    }

    /// <summary>A stand-in for the builders' output: a NetworkPolicy, two Secrets and the Pod, in create order.</summary>
    private static List<ClusterObject> Sandbox(string session, DateTimeOffset? expires = null, int? idleSeconds = null)
    {
        JsonObject Annotations()
        {
            var annotations = new JsonObject();
            if (expires is { } at)
            {
                annotations[KubernetesAnnotations.ExpiresAt] = at.ToString("O");
            }

            if (idleSeconds is { } idle)
            {
                annotations[KubernetesAnnotations.IdleTimeoutSeconds] = idle.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return annotations;
        }

        JsonObject Metadata(string name) => new()
        {
            ["name"] = name,
            ["namespace"] = Namespace,
            ["labels"] = new JsonObject { [KubernetesLabels.ManagedBy] = KubernetesLabels.ManagedByValue, [KubernetesLabels.Session] = session },
            ["annotations"] = Annotations(),
        };

        return
        [
            ClusterObject.From(new JsonObject { ["apiVersion"] = "networking.k8s.io/v1", ["kind"] = "NetworkPolicy", ["metadata"] = Metadata("deny-" + session), ["spec"] = new JsonObject { ["podSelector"] = new JsonObject() } }),
            ClusterObject.From(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = Metadata("proxy-" + session) }),
            ClusterObject.From(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = Metadata("ca-" + session) }),
            ClusterObject.From(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = Metadata("agent-" + session), ["spec"] = new JsonObject { ["containers"] = new JsonArray() } }),
        ];
    }

    private async Task MarkReadyWhenCreatedAsync(string plural, string name)
    {
        await WaitForAsync(() => _server.Objects.ContainsKey($"{plural}/{Namespace}/{name}"));
        _server.Update(plural, Namespace, name, obj => obj["status"] = new JsonObject
        {
            ["phase"] = "Running",
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
        });
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 400 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition(), "the condition never held");
    }
}

/// <summary>The system clock moved by a fixed offset.</summary>
internal sealed class ShiftedTime(TimeSpan offset) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + offset;
}
