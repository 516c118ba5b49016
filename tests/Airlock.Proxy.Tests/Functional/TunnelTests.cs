using Airlock.Proxy.Events;
using Airlock.Proxy.Tests.Infrastructure;

namespace Airlock.Proxy.Tests.Functional;

/// <summary>Passthrough and opaque-TCP tunnels, plain HTTP, and address classification.</summary>
public class TunnelTests(FakeOriginFixture fixture) : IClassFixture<FakeOriginFixture>
{
    [Fact]
    public async Task Passthrough_relays_the_origins_own_TLS_untouched()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, TestPolicies.Passthrough);

        // The client trusts the origin's CA, not the session CA: only passthrough can satisfy it.
        var result = await Curl.RunAsync("--proxy", proxy.ProxyUrl, "--cacert", TestCertificates.RootPemPath, proxy.HttpsUrl("/echo"));

        Assert.Equal(200, result.StatusCode);
        var events = await proxy.EventsAsync();
        var connection = Assert.Single(events, e => e.Type == EgressEventType.Connection);
        Assert.Equal(("allow", "passthrough"), (connection.Decision, connection.Tls));
        Assert.DoesNotContain(events, e => e.Type == EgressEventType.Request);
        Assert.True(Assert.Single(events, e => e.Type == EgressEventType.Close).BytesOut > 500);
    }

    [Fact]
    public async Task Passthrough_refuses_an_SNI_other_than_the_CONNECT_target()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, TestPolicies.Passthrough);
        await using var client = await RawClient.ConnectAsync(proxy.Port);

        await client.SendAndReadHeadAsync($"CONNECT api.test:{fixture.Origin.HttpsPort} HTTP/1.1\r\n\r\n", TimeSpan.FromSeconds(10));
        await Assert.ThrowsAnyAsync<Exception>(() => client.StartTlsAsync("a.origin.test", TestCertificates.Root, TimeSpan.FromSeconds(10)));

        var events = await proxy.EventsAsync();
        Assert.Contains(events, e => e.Type == EgressEventType.Connection && e.Reason == "sni_mismatch");
    }

    [Fact]
    public async Task Non_TLS_bytes_after_CONNECT_need_a_tcp_rule()
    {
        const string policy = """
            version: 1
            egress:
              - allow: api.test
                ports: [{http}]
                tls: passthrough
              - allow: other.test
                ports: [{http}]
                protocol: tcp
            addresses:
              allow: ["127.0.0.0/8"]
            """;
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, policy);

        await using (var refused = await RawClient.ConnectAsync(proxy.Port))
        {
            await refused.SendAndReadHeadAsync($"CONNECT api.test:{fixture.Origin.HttpPort} HTTP/1.1\r\n\r\n", TimeSpan.FromSeconds(10));
            await refused.SendAsync("SSH-2.0-OpenSSH_9.0\r\n");
            Assert.True(await refused.WaitForCloseAsync(TimeSpan.FromSeconds(10)));
        }

        await using (var relayed = await RawClient.ConnectAsync(proxy.Port))
        {
            await relayed.SendAndReadHeadAsync($"CONNECT other.test:{fixture.Origin.HttpPort} HTTP/1.1\r\n\r\n", TimeSpan.FromSeconds(10));
            var head = await relayed.SendAndReadHeadAsync("GET /echo HTTP/1.1\r\nHost: anything\r\nConnection: close\r\n\r\n", TimeSpan.FromSeconds(10));
            Assert.Equal(200, RawClient.StatusCodeOf(head));
        }

        var events = await proxy.EventsAsync();
        Assert.Contains(events, e => e.Reason == "protocol_not_allowed" && e.Host == "api.test");
        Assert.Contains(events, e => e.Type == EgressEventType.Connection && e.Host == "other.test" && e.Decision == "allow" && e.Scheme == "tcp");
    }

    [Fact]
    public async Task Plain_HTTP_absolute_form_requests_are_decided_per_request()
    {
        const string policy = """
            version: 1
            egress:
              - allow: api.test
                ports: [{http}]
                http:
                  - methods: [GET]
                    paths: ["/echo"]
            addresses:
              allow: ["127.0.0.0/8"]
            """;
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, policy);

        var allowed = await Curl.RunAsync("--proxy", proxy.ProxyUrl, proxy.HttpUrl("/echo"));
        var denied = await Curl.RunAsync("--proxy", proxy.ProxyUrl, proxy.HttpUrl("/status/200"));
        var elsewhere = await Curl.RunAsync("--proxy", proxy.ProxyUrl, proxy.HttpUrl("/echo", host: "other.test"));

        Assert.Equal(200, allowed.StatusCode);
        Assert.Equal((403, "no_matching_http_rule"), (denied.StatusCode, denied.Header("x-airlock-reason")));
        Assert.Equal((403, "default_deny"), (elsewhere.StatusCode, elsewhere.Header("x-airlock-reason")));
        var events = await proxy.EventsAsync();
        Assert.Equal(3, events.Count(e => e.Type == EgressEventType.Request));
        Assert.All(events.Where(e => e.Type == EgressEventType.Request), e => Assert.Equal("http", e.Scheme));
    }

    [Fact]
    public async Task A_name_resolving_to_a_blocked_address_is_refused()
    {
        const string policy = """
            version: 1
            egress:
              - allow: api.test
                ports: [{https}]
            """;
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, policy);

        var result = await proxy.CurlAsync(proxy.HttpsUrl("/echo"));

        Assert.Equal(403, result.ConnectStatusCode);
        var events = await proxy.EventsAsync();
        var connection = Assert.Single(events, e => e.Type == EgressEventType.Connection);
        Assert.Equal(("deny", "blocked_address"), (connection.Decision, connection.Reason));
        Assert.Contains("loopback", connection.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("CONNECT api.test HTTP/1.1\r\n\r\n", 400)]
    [InlineData("CONNECT api.test:99999 HTTP/1.1\r\n\r\n", 400)]
    [InlineData("CONNECT exa%00mple.test:443 HTTP/1.1\r\n\r\n", 400)]
    [InlineData("CONNECT http://api.test:443 HTTP/1.1\r\n\r\n", 400)]
    [InlineData("CONNECT api.test:443 HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", 400)]
    public async Task Malformed_CONNECT_lines_get_400_and_an_event(string head, int status)
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, "version: 1\n");
        await using var client = await RawClient.ConnectAsync(proxy.Port);

        var response = await client.SendAndReadHeadAsync(head, TimeSpan.FromSeconds(10));

        Assert.Equal(status, RawClient.StatusCodeOf(response));
        var events = await proxy.EventsAsync();
        Assert.Contains(events, e => e.Reason == "malformed_request" && e.Decision == "deny");
    }

    [Fact]
    public async Task An_endless_CONNECT_head_gets_431()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, "version: 1\n");
        await using var client = await RawClient.ConnectAsync(proxy.Port);

        var response = await client.SendAndReadHeadAsync("CONNECT api.test:443 HTTP/1.1\r\n" + new string('x', 20_000), TimeSpan.FromSeconds(10));

        Assert.Equal(431, RawClient.StatusCodeOf(response));
    }

    [Fact]
    public async Task An_unreachable_upstream_gets_502_with_the_cause()
    {
        const string policy = """
            version: 1
            egress:
              - allow: api.test
                ports: ["1-65535"]
              - allow: other.test
                ports: ["1-65535"]
                tls: passthrough
            addresses:
              allow: ["127.0.0.0/8"]
            """;
        using var refused = new RefusedPort();
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, policy);

        var intercepted = await proxy.CurlAsync($"https://api.test:{refused.Port}/");
        var relayed = await proxy.CurlAsync($"https://other.test:{refused.Port}/");

        Assert.Equal(502, intercepted.StatusCode);
        Assert.Equal("error", intercepted.Header("x-airlock-decision"));
        Assert.Contains("upstream_refused", intercepted.Stdout, StringComparison.Ordinal);
        Assert.Equal(502, relayed.ConnectStatusCode);
        var events = await proxy.EventsAsync();
        Assert.Equal(2, events.Count(e => e.Type == EgressEventType.Error && e.Reason == "upstream_refused"));
    }

    [Fact]
    public async Task A_slow_upstream_gets_504()
    {
        const string policy = """
            version: 1
            egress:
              - allow: api.test
                ports: [{https}]
            addresses:
              allow: ["127.0.0.0/8"]
            """;
        await using var proxy = await ProxyHarness.StartAsync(
            fixture.Origin,
            policy,
            o => o with { Limits = o.Limits with { UpstreamActivityTimeout = TimeSpan.FromMilliseconds(500) } });

        var result = await proxy.CurlAsync(proxy.HttpsUrl("/slow?ms=5000"));

        Assert.Equal(504, result.StatusCode);
        Assert.Contains("upstream_timeout", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upstream_TLS_is_verified()
    {
        const string policy = """
            version: 1
            egress:
              - allow: api.test
                ports: [{https}]
            addresses:
              allow: ["127.0.0.0/8"]
            """;
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, policy, o => o with { UpstreamRoots = [] });

        var result = await proxy.CurlAsync(proxy.HttpsUrl("/echo"));

        Assert.Equal(502, result.StatusCode);
        Assert.Contains("upstream_tls", result.Stdout, StringComparison.Ordinal);
    }
}
