using System.Text.Json;
using Airlock.Proxy.Events;
using Airlock.Proxy.Tests.Control;
using Airlock.Proxy.Tests.Infrastructure;

namespace Airlock.Proxy.Tests.Functional;

/// <summary>The proxy with a real control plane on loopback: asks, decisions, policy updates, events.</summary>
public class ControlPlaneTests(FakeOriginFixture fixture) : IClassFixture<FakeOriginFixture>
{
    private const string AskPolicy = """
        version: 1
        egress:
          - ask: api.test
            ports: [{https}]
            timeout: 10s
        addresses:
          allow: ["127.0.0.0/8"]
        """;

    [Theory]
    [InlineData("allow", 200, "ask_approved")]
    [InlineData("deny", 0, "ask_denied")]
    public async Task An_ask_holds_the_connection_until_the_control_plane_decides(string answer, int status, string reason)
    {
        await using var plane = TestControlPlane.Tcp();
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, AskPolicy, o => o with { Control = plane.Endpoint, ControlSpoolPath = SpoolPath() });
        var (connection, _) = await plane.AcceptHelloAsync();

        var curl = proxy.CurlAsync(proxy.HttpsUrl("/echo"));
        var ask = await connection.ReadMessageAsync("ask.request");
        Assert.Equal("api.test", ask.GetProperty("host").GetString());
        Assert.InRange(ask.GetProperty("timeout_ms").GetInt32(), 5_000, 10_000);
        await connection.SendAsync($$"""{"type":"decision","ask_id":"{{ask.GetProperty("ask_id").GetString()}}","decision":"{{answer}}","scope":"once"}""");
        var result = await curl;

        if (status == 200)
        {
            Assert.Equal(200, result.StatusCode);
        }
        else
        {
            Assert.Equal(403, result.ConnectStatusCode);
        }

        var events = await proxy.EventsAsync();
        Assert.Contains(events, e => e.Type == EgressEventType.Ask && e.Decision == "pending" && e.Reason == "ask_pending");
        Assert.Contains(events, e => e.Type == EgressEventType.Connection && e.Reason == reason);
    }

    [Fact]
    public async Task No_answer_within_the_timeout_is_a_deny()
    {
        await using var plane = TestControlPlane.Tcp();
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, AskPolicy.Replace("timeout: 10s", "timeout: 500ms", StringComparison.Ordinal), o => o with { Control = plane.Endpoint, ControlSpoolPath = SpoolPath() });
        await plane.AcceptHelloAsync();

        var result = await proxy.CurlAsync(proxy.HttpsUrl("/echo"));

        Assert.Equal(403, result.ConnectStatusCode);
        var events = await proxy.EventsAsync();
        Assert.Contains(events, e => e.Type == EgressEventType.Connection && e.Reason == "ask_timeout");
    }

    [Fact]
    public async Task Without_a_control_plane_an_ask_is_denied_at_once()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, AskPolicy);

        var result = await proxy.CurlAsync(proxy.HttpsUrl("/echo"));

        Assert.Equal(403, result.ConnectStatusCode);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_policy_update_is_validated_swapped_and_acknowledged()
    {
        await using var plane = TestControlPlane.Tcp();
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, "version: 1\naddresses:\n  allow: [\"127.0.0.0/8\"]\n", o => o with { Control = plane.Endpoint, ControlSpoolPath = SpoolPath() });
        var (connection, _) = await plane.AcceptHelloAsync();
        Assert.Equal(403, (await proxy.CurlAsync(proxy.HttpsUrl("/echo"))).ConnectStatusCode);

        var invalid = JsonSerializer.Serialize("version: 1\negress:\n  - alow: api.test\n");
        await connection.SendAsync($$"""{"type":"policy.update","version":"v2","policy":{{invalid}}}""");
        var rejected = await connection.ReadMessageAsync("policy.ack");
        var valid = JsonSerializer.Serialize($"version: 1\negress:\n  - allow: api.test\n    ports: [{fixture.Origin.HttpsPort}]\naddresses:\n  allow: [\"127.0.0.0/8\"]\n");
        await connection.SendAsync($$"""{"type":"policy.update","version":"v3","policy":{{valid}}}""");
        var accepted = await connection.ReadMessageAsync("policy.ack");

        Assert.False(rejected.GetProperty("ok").GetBoolean());
        Assert.Contains("did you mean 'allow'", rejected.GetProperty("errors")[0].GetString(), StringComparison.Ordinal);
        Assert.True(accepted.GetProperty("ok").GetBoolean());
        Assert.Equal(200, (await proxy.CurlAsync(proxy.HttpsUrl("/echo"))).StatusCode);
        var events = await proxy.EventsAsync();
        Assert.Contains(events, e => e.Type == EgressEventType.Policy && e.Decision == "deny");
        Assert.Contains(events, e => e.Type == EgressEventType.Policy && e.Decision == "allow" && e.Detail!.Contains("v3", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Events_reach_the_control_plane_as_they_happen()
    {
        await using var plane = TestControlPlane.Tcp();
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, "version: 1\n", o => o with { Control = plane.Endpoint, ControlSpoolPath = SpoolPath() });
        var (connection, _) = await plane.AcceptHelloAsync();

        await proxy.CurlAsync(proxy.HttpsUrl("/echo"));
        var first = await connection.ReadMessageAsync("connection");

        Assert.Equal("deny", first.GetProperty("decision").GetString());
        Assert.Equal("default_deny", first.GetProperty("reason").GetString());
        Assert.Equal("test-session", first.GetProperty("session").GetString());
    }

    private static string SpoolPath() => Path.Combine(Path.GetTempPath(), "airlock-test-spool-" + Guid.NewGuid().ToString("N"), "spool.ndjson");
}
