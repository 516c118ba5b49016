using System.Net.Sockets;
using System.Text;
using Airlock.Proxy.Events;
using Airlock.Proxy.Tests.Infrastructure;

namespace Airlock.Proxy.Tests.Functional;

/// <summary>The unix-socket front door, metrics, client disconnects and hot reload.</summary>
public class OperationsTests(FakeOriginFixture fixture) : IClassFixture<FakeOriginFixture>
{
    private const string Policy = """
        version: 1
        egress:
          - allow: api.test
            ports: [{https}]
        addresses:
          allow: ["127.0.0.0/8"]
        """;

    [Fact]
    public async Task The_unix_socket_front_door_behaves_like_the_explicit_one()
    {
        var path = Path.Combine(Path.GetTempPath(), $"airlock-test-{Guid.NewGuid():N}.sock");
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, Policy, o => o with { UnixSocketPath = path });

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        await using var stream = new NetworkStream(socket);
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"CONNECT api.test:{fixture.Origin.HttpsPort} HTTP/1.1\r\n\r\n"));
        var allowed = await ReadHeadAsync(stream);

        using var denied = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await denied.ConnectAsync(new UnixDomainSocketEndPoint(path));
        await using var deniedStream = new NetworkStream(denied);
        await deniedStream.WriteAsync("CONNECT evil.test:443 HTTP/1.1\r\n\r\n"u8.ToArray());
        var refused = await ReadHeadAsync(deniedStream);

        Assert.StartsWith("HTTP/1.1 200", allowed, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 403", refused, StringComparison.Ordinal);
        File.Delete(path);
    }

    [Fact]
    public async Task Metrics_count_decisions_connections_and_bytes()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, Policy, o => o with { MetricsListen = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0) });
        await proxy.CurlAsync(proxy.HttpsUrl("/echo"));
        await proxy.CurlAsync(proxy.HttpsUrl("/echo", host: "other.test"));

        var scrape = await Curl.RunAsync($"http://127.0.0.1:{proxy.Server.MetricsPort}/metrics");

        Assert.Equal(200, scrape.StatusCode);
        Assert.Contains("airlock_decisions_total{decision=\"allow\",reason=\"allowed_by_rule\"} 2", scrape.Stdout, StringComparison.Ordinal);
        Assert.Contains("airlock_decisions_total{decision=\"deny\",reason=\"default_deny\"} 1", scrape.Stdout, StringComparison.Ordinal);
        Assert.Contains("airlock_connections_total 2", scrape.Stdout, StringComparison.Ordinal);
        Assert.Contains("airlock_tls_handshake_seconds_count 1", scrape.Stdout, StringComparison.Ordinal);
        Assert.Contains("airlock_upstream_latency_seconds_count 1", scrape.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_goes_away_mid_request_leaves_no_upstream_request_behind()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, Policy);
        var before = fixture.Origin.Requests.Count;

        var result = await proxy.CurlAsync("--max-time", "3", proxy.HttpsUrl("/slow?ms=20000&headersFirst=1"));

        Assert.Equal(28, result.ExitCode);
        var upstream = await fixture.Origin.WaitForRequestAsync(r => r.Sequence > before && r.Path == "/slow", TimeSpan.FromSeconds(20));
        var ended = await upstream.Ended.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(OriginRequestEnd.Aborted, ended);
    }

    [Fact]
    public async Task A_reloaded_policy_applies_to_new_connections()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, Policy);
        Assert.Equal(200, (await proxy.CurlAsync(proxy.HttpsUrl("/echo"))).StatusCode);

        proxy.Server.ReplacePolicy(Airlock.Policy.Loading.PolicyLoader.Parse("version: 1\n", "p.yaml").Policy!);

        Assert.Equal(403, (await proxy.CurlAsync(proxy.HttpsUrl("/echo"))).ConnectStatusCode);
        var events = await proxy.EventsAsync();
        Assert.Equal(["allowed_by_rule", "default_deny"], events.Where(e => e.Type == EgressEventType.Connection).Select(e => e.Reason));
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var buffer = new byte[4096];
        var text = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!text.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return text.ToString();
    }
}

/// <summary>Resource bounds: connection count and tunnel lifetime.</summary>
public class LimitTests(FakeOriginFixture fixture) : IClassFixture<FakeOriginFixture>
{
    [Fact]
    public async Task Connections_over_the_limit_are_not_served()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, TestPolicies.Passthrough, o => o with { Limits = o.Limits with { MaxConnections = 2 } });
        await using var first = await RawClient.ConnectAsync(proxy.Port);
        await using var second = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal(200, RawClient.StatusCodeOf(await first.SendAndReadHeadAsync($"CONNECT api.test:{fixture.Origin.HttpsPort} HTTP/1.1\r\n\r\n", TimeSpan.FromSeconds(10))));
        Assert.Equal(200, RawClient.StatusCodeOf(await second.SendAndReadHeadAsync($"CONNECT api.test:{fixture.Origin.HttpsPort} HTTP/1.1\r\n\r\n", TimeSpan.FromSeconds(10))));

        await using var third = await RawClient.ConnectAsync(proxy.Port);

        Assert.True(await third.WaitForCloseAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_relayed_tunnel_ends_at_its_lifetime()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, TestPolicies.Passthrough, o => o with { Limits = o.Limits with { TunnelLifetime = TimeSpan.FromSeconds(1) } });
        await using var client = await RawClient.ConnectAsync(proxy.Port);
        await client.SendAndReadHeadAsync($"CONNECT api.test:{fixture.Origin.HttpsPort} HTTP/1.1\r\n\r\n", TimeSpan.FromSeconds(10));
        await client.StartTlsAsync("api.test", TestCertificates.Root, TimeSpan.FromSeconds(10));

        Assert.True(await client.WaitForCloseAsync(TimeSpan.FromSeconds(10)));
        var events = await proxy.EventsAsync();
        Assert.Single(events, e => e.Type == EgressEventType.Close);
    }
}
