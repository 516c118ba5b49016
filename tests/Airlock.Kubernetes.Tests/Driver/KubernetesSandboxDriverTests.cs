using System.Text;
using System.Text.Json.Nodes;
using Airlock.Kubernetes.Driver;
using Airlock.Kubernetes.Objects;
using Airlock.Kubernetes.Tests.Fakes;
using Airlock.Sandboxes;
using k8s;

namespace Airlock.Kubernetes.Tests.Driver;

/// <summary>The Kubernetes driver through the driver contract, against the FAKE API server.</summary>
public sealed class KubernetesSandboxDriverTests : IAsyncLifetime, IDisposable
{
    private const string Namespace = "agents";
    private readonly DirectoryInfo _files = Directory.CreateTempSubdirectory("airlock-k8s-driver-");
    private FakeKubernetesApiServer _server = null!;
    private k8s.Kubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeKubernetesApiServer.StartAsync();
        _client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _server.BaseAddress.ToString() });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose()
    {
        _client.Dispose();
        _files.Delete(recursive: true);
    }

    [Theory]
    [InlineData(SandboxTopology.Sidecar)]
    [InlineData(SandboxTopology.ProxyPod)]
    public async Task A_sandbox_is_created_used_listed_and_deleted_through_the_contract(SandboxTopology topology)
    {
        var driver = Driver(topology);
        var ready = MarkWorkloadReadyAsync();

        var info = await driver.CreateAsync(Spec(), CancellationToken.None);
        await ready;
        using var stdout = new MemoryStream();
        var exit = await driver.ExecAsync(info.Id, new ExecRequest { Command = ["sh", "-c", "echo $GREETING; exit 2"], Environment = new Dictionary<string, string> { ["GREETING"] = "hello" } }, new ExecStreams(null, stdout, Stream.Null), CancellationToken.None);
        using var cwd = new MemoryStream();
        await driver.ExecAsync(info.Id, new ExecRequest { Command = ["pwd"], WorkingDirectory = _files.FullName }, new ExecStreams(null, cwd, Stream.Null), CancellationToken.None);
        await driver.UploadAsync(info.Id, "note.txt", new MemoryStream("uploaded"u8.ToArray()), UnixFileMode.UserRead | UnixFileMode.UserWrite, CancellationToken.None);
        using var back = new MemoryStream();
        await driver.DownloadAsync(info.Id, "note.txt", back, CancellationToken.None);
        var listed = await driver.ListAsync(CancellationToken.None);
        var deleted = await driver.DeleteAsync(info.Id, CancellationToken.None);

        Assert.Equal((SandboxState.Running, "kubernetes"), (info.State, info.Driver));
        Assert.Equal((2, "hello\n"), (exit, Encoding.UTF8.GetString(stdout.ToArray())));
        Assert.Equal("uploaded", Encoding.UTF8.GetString(back.ToArray()));
        Assert.Equal(_files.FullName, Encoding.UTF8.GetString(cwd.ToArray()).Trim());
        Assert.Equal([info.Id], listed.Select(s => s.Id));
        Assert.True(deleted);
        Assert.Empty(_server.Objects);
        Assert.Null(await driver.GetAsync(info.Id, CancellationToken.None));
        Assert.False(await driver.DeleteAsync(info.Id, CancellationToken.None));
        Assert.Contains("no sandbox", (await Assert.ThrowsAsync<SandboxException>(() => driver.ExecAsync(info.Id, new ExecRequest { Command = ["true"] }, new ExecStreams(null, Stream.Null, Stream.Null), CancellationToken.None))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_proxys_log_is_the_event_stream()
    {
        var driver = Driver(SandboxTopology.Sidecar);
        var ready = MarkWorkloadReadyAsync();
        var info = await driver.CreateAsync(Spec(), CancellationToken.None);
        await ready;
        var pod = SandboxObjectNames.For(info.Id).Workload;
        _server.SetLog(Namespace, pod, "airlock-proxy", "airlock proxy: session …, listening\n"
            + "{\"v\":1,\"type\":\"request\",\"ts\":\"2026-11-23T15:49:58.868Z\",\"session\":\"" + info.Id + "\",\"id\":\"evt_1\",\"conn\":\"conn_1\",\"decision\":\"deny\",\"reason\":\"default_deny\",\"rule\":null,\"mode\":\"enforce\",\"would_deny\":false,\"client\":\"\",\"host\":\"x.example\",\"port\":80,\"scheme\":\"http\",\"method\":\"GET\",\"path\":\"/\",\"status\":403,\"tls\":\"none\"}\n");

        var events = new List<Airlock.Proxy.Events.EgressEvent>();
        await foreach (var e in driver.EventsAsync(info.Id, follow: false, CancellationToken.None))
        {
            events.Add(e);
        }

        var only = Assert.Single(events);
        Assert.Equal(("x.example", "deny"), (only.Host, only.Decision));
    }

    [Fact]
    public async Task A_failed_create_leaves_nothing_and_an_invalid_policy_never_reaches_the_cluster()
    {
        var driver = Driver(SandboxTopology.Sidecar);
        _server.FailNext(r => r.Method == "POST" && r.Plural == "pods", 403);

        var failed = await Assert.ThrowsAsync<SandboxException>(() => driver.CreateAsync(Spec(), CancellationToken.None));
        var invalid = await Assert.ThrowsAsync<SandboxException>(() => driver.CreateAsync(Spec() with { PolicyText = "version: 1\negress:\n  - alow: x\n" }, CancellationToken.None));

        Assert.Contains("everything made for it was deleted", failed.Message, StringComparison.Ordinal);
        Assert.Empty(_server.Objects);
        Assert.Contains("policy.yaml:3:5", invalid.Message, StringComparison.Ordinal);
        Assert.Equal(1, _server.Requests.Count(r => r.Method == "POST" && r.Plural == "pods"));
    }

    private KubernetesSandboxDriver Driver(SandboxTopology topology) => new(new KubernetesDriverOptions
    {
        Client = _client,
        Namespace = Namespace,
        Image = "python:3.12",
        Topology = topology,
        ReadyTimeout = TimeSpan.FromSeconds(20),
        FileRoots = [_files.FullName],
    });

    private static SandboxSpec Spec() => new()
    {
        PolicyText = "version: 1\negress:\n  - allow: api.github.com\n",
        PolicySource = "policy.yaml",
        WorkDirectory = "/workspace",
    };

    /// <summary>Plays the kubelet: the agent's workload turns Ready once it exists.</summary>
    private async Task MarkWorkloadReadyAsync()
    {
        for (var i = 0; i < 400; i++)
        {
            var pod = _server.Objects.FirstOrDefault(o => o.Key.StartsWith("pods/", StringComparison.Ordinal) && (string?)o.Value["metadata"]?["labels"]?[KubernetesLabels.Role] == KubernetesLabels.RoleAgent);
            if (pod.Key is not null)
            {
                var name = pod.Key.Split('/')[2];
                _server.Update("pods", Namespace, name, p => p["status"] = new JsonObject
                {
                    ["phase"] = "Running",
                    ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
                });
                return;
            }

            await Task.Delay(25);
        }
    }
}
