using System.Text;
using System.Text.Json.Nodes;
using Airlock.Kubernetes.Exec;
using Airlock.Kubernetes.Tests.Fakes;
using Airlock.Sandboxes;
using k8s;

namespace Airlock.Kubernetes.Tests.Exec;

/// <summary>Exec through the real client's WebSocket against the FAKE API server (which runs the command locally).</summary>
public sealed class PodExecTests : IAsyncLifetime, IDisposable
{
    private FakeKubernetesApiServer _server = null!;
    private k8s.Kubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeKubernetesApiServer.StartAsync();
        _client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _server.BaseAddress.ToString() });
        _server.Seed("pods", new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = new JsonObject { ["name"] = "agent", ["namespace"] = "team" } });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task Output_streams_and_the_exit_code_come_back()
    {
        var (exit, stdout, stderr) = await RunAsync(["sh", "-c", "echo out; echo err >&2; exit 3"]);

        Assert.Equal((3, "out\n", "err\n"), (exit, stdout, stderr));
        Assert.Equal(0, (await RunAsync(["true"])).Exit);
    }

    [Fact]
    public async Task With_v5_the_commands_input_is_closed_when_ours_ends()
    {
        var (exit, stdout, _) = await RunAsync(["sh", "-c", "wc -l"], "one\ntwo\nthree\n");

        Assert.Equal((0, "3"), (exit, stdout.Trim()));
        Assert.Equal("v5.channel.k8s.io", _server.ExecProtocols[0]);
    }

    [Fact]
    public async Task A_server_without_v5_is_used_through_v4()
    {
        _server.ExecProtocols = ["v4.channel.k8s.io"];

        var (exit, stdout, _) = await RunAsync(["sh", "-c", "echo through v4; exit 5"]);

        Assert.Equal((5, "through v4\n"), (exit, stdout));
        Assert.Equal(2, _server.Requests.Count(r => r.Path.EndsWith("/exec", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_missing_pod_is_a_sandbox_error()
    {
        var exec = new PodExec(_client);

        var error = await Assert.ThrowsAsync<SandboxException>(() => exec.ExecAsync("team", "gone", "agent", ["true"], new ExecStreams(null, Stream.Null, Stream.Null), CancellationToken.None));

        Assert.Contains("cannot exec in team/gone", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"status\":\"Success\"}", 0)]
    [InlineData("{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"137\"}]}}", 137)]
    public void Exit_codes_are_read_from_the_status(string status, int expected) =>
        Assert.Equal(expected, PodExec.ExitCode(Encoding.UTF8.GetBytes(status), "ns", "pod"));

    [Theory]
    [InlineData("{\"status\":\"Failure\",\"reason\":\"InternalError\",\"message\":\"container not found\"}", "container not found")]
    [InlineData("not json", "unreadable status")]
    public void Other_failures_are_sandbox_errors(string status, string message) =>
        Assert.Contains(message, Assert.Throws<SandboxException>(() => PodExec.ExitCode(Encoding.UTF8.GetBytes(status), "ns", "pod")).Message, StringComparison.Ordinal);

    private async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string[] command, string? stdin = null)
    {
        using var stdout = new MemoryStream();
        using var stderr = new MemoryStream();
        using var input = stdin is null ? null : new MemoryStream(Encoding.UTF8.GetBytes(stdin));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var exit = await new PodExec(_client).ExecAsync("team", "agent", "agent", command, new ExecStreams(input, stdout, stderr), timeout.Token);
        return (exit, Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray()));
    }
}
