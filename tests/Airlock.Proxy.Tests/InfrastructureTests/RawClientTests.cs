using System.Net.Security;
using System.Net.Sockets;
using Airlock.Proxy.Tests.Infrastructure;

namespace Airlock.Proxy.Tests.InfrastructureTests;

public class RawClientTests(FakeOriginFixture fixture) : IClassFixture<FakeOriginFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private FakeOrigin Origin => fixture.Origin;

    [Fact]
    public async Task Reads_a_response_head_and_keeps_the_body_pending()
    {
        await using var client = await RawClient.ConnectAsync(Origin.HttpEndPoint);

        var head = await client.SendAndReadHeadAsync("GET /status/200 HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n", Wait);
        var rest = await client.ReadToEndAsync(Wait);

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", head, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", head, StringComparison.Ordinal);
        Assert.Equal(200, RawClient.StatusCodeOf(head));
        Assert.Equal("status 200\n", rest);
        Assert.True(client.PeerClosed);
    }

    [Fact]
    public async Task Malformed_request_line_gets_400_and_a_close()
    {
        await using var client = await RawClient.ConnectAsync(Origin.HttpEndPoint);

        var head = await client.SendAndReadHeadAsync("GET /a b c\r\n\r\n", Wait);

        Assert.Equal(400, RawClient.StatusCodeOf(head));
        Assert.True(await client.WaitForCloseAsync(Wait));
    }

    [Fact]
    public async Task Sends_a_head_one_byte_at_a_time()
    {
        await using var client = await RawClient.ConnectAsync(Origin.HttpEndPoint);
        const string Request = "GET /echo HTTP/1.1\r\nHost: api.test\r\n\r\n";

        var sent = await client.SendSlowlyAsync(Request, TimeSpan.FromMilliseconds(1));
        var head = await client.ReadHeadAsync(Wait);

        Assert.Equal(Request.Length, sent);
        Assert.Equal(200, RawClient.StatusCodeOf(head));
    }

    [Fact]
    public async Task Silence_is_a_timeout_and_not_a_close()
    {
        await using var silent = SilentOrigin.Start();
        await using var client = await RawClient.ConnectAsync(silent.EndPoint);

        await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");

        await Assert.ThrowsAsync<TimeoutException>(() => client.ReadHeadAsync(TimeSpan.FromMilliseconds(100)));
        Assert.False(await client.WaitForCloseAsync(TimeSpan.FromMilliseconds(100)));
        Assert.False(client.PeerClosed);
    }

    [Fact]
    public async Task Close_before_any_head_returns_empty()
    {
        await using var silent = SilentOrigin.Start();
        await using var client = await RawClient.ConnectAsync(silent.EndPoint);

        var reading = client.ReadHeadAsync(Wait);
        await silent.DisposeAsync();

        Assert.Equal(string.Empty, await reading);
        Assert.True(client.PeerClosed);
    }

    [Fact]
    public async Task Continues_over_tls_with_a_chosen_sni()
    {
        var marker = Guid.NewGuid().ToString("N");
        await using var client = await RawClient.ConnectAsync(Origin.HttpsEndPoint);

        var tls = await client.StartTlsAsync("deep.origin.test", TestCertificates.Root, Wait, SslApplicationProtocol.Http11);
        var head = await client.SendAndReadHeadAsync($"GET /echo?m={marker} HTTP/1.1\r\nHost: api.test\r\n\r\n", Wait);

        Assert.Equal(SslApplicationProtocol.Http11, tls.NegotiatedApplicationProtocol);
        Assert.Equal(200, RawClient.StatusCodeOf(head));
        var recorded = await Origin.WaitForRequestAsync(r => r.Query.Contains(marker, StringComparison.Ordinal), Wait);
        Assert.Equal("deep.origin.test", recorded.Sni);
        Assert.Equal("api.test", recorded.Host);
    }

    [Fact]
    public async Task Refused_port_refuses()
    {
        using var refused = new RefusedPort();

        var error = await Assert.ThrowsAsync<SocketException>(() => RawClient.ConnectAsync(refused.EndPoint));

        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }
}
