using System.Net;
using System.Net.WebSockets;
using System.Text;
using Airlock.Proxy.Events;
using Airlock.Proxy.Tests.Infrastructure;

namespace Airlock.Proxy.Tests.Functional;

/// <summary>Smuggling shapes, oversized and slow heads, bodies on read-only rules, WebSockets, other clients.</summary>
public class HostileClientTests(FakeOriginFixture fixture) : IClassFixture<FakeOriginFixture>
{
    private const string Policy = """
        version: 1
        egress:
          - allow: api.test
            ports: [{https}, {http}]
            http:
              - methods: [GET, HEAD]
                paths: ["/echo", "/ws", "/big/*"]
          - allow: "*.origin.test"
            ports: [{https}, {http}]
        addresses:
          allow: ["127.0.0.0/8"]
        """;

    /// <summary>Request shapes, and whether the head may already have gone upstream when the body turns out bad.</summary>
    public static TheoryData<string, bool> SmugglingShapes() => new()
    {
        { "POST /echo HTTP/1.1\r\nHost: a.origin.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false },
        { "POST /echo HTTP/1.1\r\nHost: a.origin.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", true },
        { "GET /echo HTTP/1.1\r\nHost: a.origin.test\r\nX-Folded: a\r\n b\r\n\r\n", false },
        { "GET /echo HTTP/1.1\r\nHost: a.origin.test\r\nHost: api.test\r\n\r\n", false },
        { "POST /echo HTTP/1.1\r\nHost: a.origin.test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", false },
        { "POST /echo HTTP/1.1\r\nHost: a.origin.test\r\nTransfer-Encoding: gzip, chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n", false },
    };

    [Theory]
    [MemberData(nameof(SmugglingShapes))]
    public async Task Smuggling_shapes_inside_an_intercepted_tunnel_get_400_and_an_event(string request, bool headMayBeForwarded)
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, Policy);

        // Each case marks its own requests: one a case before may still reach the shared origin late.
        var marker = Guid.NewGuid().ToString("N");
        await using var client = await RawClient.ConnectAsync(proxy.Port);
        await client.SendAndReadHeadAsync($"CONNECT a.origin.test:{fixture.Origin.HttpsPort} HTTP/1.1\r\n\r\n", TimeSpan.FromSeconds(10));
        await client.StartTlsAsync("a.origin.test", proxy.SessionCa.Certificate, TimeSpan.FromSeconds(10));

        var head = await client.SendAndReadHeadAsync(request.Replace(" /echo ", $" /echo?case={marker} ", StringComparison.Ordinal), TimeSpan.FromSeconds(10));

        Assert.Equal(400, RawClient.StatusCodeOf(head));
        // Bodies are streamed, so a bad chunk may be found after the head went upstream; no byte of it may follow.
        var reached = fixture.Origin.Requests.Where(r => r.Query.Contains(marker, StringComparison.Ordinal)).ToList();
        Assert.True(headMayBeForwarded ? reached.Count <= 1 : reached.Count == 0, string.Join(" | ", reached));
        Assert.All(reached, r => Assert.Equal(0, r.BodyLength));
        var events = await proxy.EventsAsync();
        Assert.Contains(events, e => e.Reason == "malformed_request" && e.Status == 400);
    }

    [Fact]
    public async Task Smuggling_shapes_on_the_plain_front_door_get_400_too()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, Policy);
        await using var client = await RawClient.ConnectAsync(proxy.Port);

        var head = await client.SendAndReadHeadAsync(
            $"POST http://a.origin.test:{fixture.Origin.HttpPort}/echo HTTP/1.1\r\nHost: a.origin.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            TimeSpan.FromSeconds(10));

        Assert.Equal(400, RawClient.StatusCodeOf(head));
    }

    [Fact]
    public async Task An_oversized_request_head_gets_431()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, Policy);

        var result = await proxy.CurlAsync("-H", "X-Big: " + new string('a', 40_000), proxy.HttpsUrl("/echo", host: "a.origin.test"));

        Assert.Equal(431, result.StatusCode);
        var events = await proxy.EventsAsync();
        Assert.Contains(events, e => e.Reason == "malformed_request" && e.Status == 400);
    }

    [Fact]
    public async Task A_slow_head_is_cut_off()
    {
        await using var proxy = await ProxyHarness.StartAsync(
            fixture.Origin,
            Policy,
            o => o with { Limits = o.Limits with { HeadTimeout = TimeSpan.FromSeconds(1) } });
        await using var client = await RawClient.ConnectAsync(proxy.Port);

        await client.SendAsync("CONNECT api.test:");

        Assert.True(await client.WaitForCloseAsync(TimeSpan.FromSeconds(10)));
        var events = await proxy.EventsAsync();
        Assert.Contains(events, e => e.Reason == "head_timeout");
    }

    [Fact]
    public async Task A_GET_with_a_body_on_a_read_only_rule_is_refused()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, Policy);

        var withBody = await proxy.CurlAsync("-X", "GET", "--data-binary", "exfiltrated", proxy.HttpsUrl("/echo"));
        var withoutBody = await proxy.CurlAsync(proxy.HttpsUrl("/echo"));

        Assert.Equal(403, withBody.StatusCode);
        Assert.Equal("no_matching_http_rule", withBody.Header("x-airlock-reason"));
        Assert.Equal(200, withoutBody.StatusCode);
    }

    [Fact]
    public async Task WebSockets_are_policed_then_relayed()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, Policy);
        var handler = new SocketsHttpHandler
        {
            Proxy = new WebProxy(proxy.ProxyUrl),
            SslOptions = { RemoteCertificateValidationCallback = TestCertificates.TrustOnly(proxy.SessionCa.Certificate) },
        };
        using var invoker = new HttpMessageInvoker(handler);

        using (var socket = new ClientWebSocket())
        {
            await socket.ConnectAsync(new Uri($"wss://api.test:{fixture.Origin.HttpsPort}/ws"), invoker, CancellationToken.None);
            await socket.SendAsync("ping"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            var buffer = new byte[64];
            var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
            Assert.Equal("ping", Encoding.UTF8.GetString(buffer, 0, received.Count));
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        using var denied = new ClientWebSocket();
        var error = await Assert.ThrowsAsync<WebSocketException>(() =>
            denied.ConnectAsync(new Uri($"wss://api.test:{fixture.Origin.HttpsPort}/admin-ws"), invoker, CancellationToken.None));
        Assert.Contains("403", error.Message, StringComparison.Ordinal);

        var events = await proxy.EventsAsync();
        Assert.Contains(events, e => e.Type == EgressEventType.Request && e.Path == "/ws" && e.Decision == "allow");
        Assert.Contains(events, e => e.Type == EgressEventType.Request && e.Path == "/admin-ws" && e.Reason == "no_matching_http_rule");
    }

    [Fact]
    public async Task HttpClient_with_a_WebProxy_works_over_HTTP2()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, Policy);
        using var client = new HttpClient(new SocketsHttpHandler
        {
            Proxy = new WebProxy(proxy.ProxyUrl),
            SslOptions = { RemoteCertificateValidationCallback = TestCertificates.TrustOnly(proxy.SessionCa.Certificate) },
        })
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var response = await client.GetAsync(new Uri(proxy.HttpsUrl("/big/65536")));
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal(65_536, body.Length);
    }

    [Theory]
    [InlineData("127.1")]
    [InlineData("2130706433")]
    [InlineData("0x7f.0.0.1")]
    [InlineData("0177.0.0.1")]
    [InlineData("[::ffff:127.0.0.1]")]
    public async Task Every_spelling_of_a_denied_address_is_denied(string spelling)
    {
        const string policy = """
            version: 1
            default: allow
            egress:
              - deny: 127.0.0.1
            addresses:
              allow: ["127.0.0.0/8"]
            """;
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, policy);
        await using var client = await RawClient.ConnectAsync(proxy.Port);

        var head = await client.SendAndReadHeadAsync($"CONNECT {spelling}:{fixture.Origin.HttpsPort} HTTP/1.1\r\n\r\n", TimeSpan.FromSeconds(10));

        Assert.Equal(403, RawClient.StatusCodeOf(head));
        Assert.Contains("denied_by_rule", head, StringComparison.Ordinal);
    }
}
