using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Text;
using Airlock.Proxy.Tests.Infrastructure;

namespace Airlock.Proxy.Tests.InfrastructureTests;

public class FakeOriginTests(FakeOriginFixture fixture) : IClassFixture<FakeOriginFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private FakeOrigin Origin => fixture.Origin;

    [Theory]
    [InlineData("1.1", "HTTP/1.1")]
    [InlineData("2.0", "HTTP/2")]
    public async Task Https_echo_over_h1_and_h2_reports_what_arrived(string version, string protocol)
    {
        using var client = Origin.CreateClient(Version.Parse(version));

        using var response = await client.GetAsync(Origin.HttpsUrl("/echo?a=1"));
        var echo = await response.Content.ReadFromJsonAsync(FakeOriginJson.Default.EchoResponse);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Version.Parse(version), response.Version);
        Assert.NotNull(echo);
        Assert.Equal(protocol, echo.Protocol);
        Assert.Equal("GET", echo.Method);
        Assert.Equal("/echo", echo.Path);
        Assert.Equal("?a=1", echo.Query);
        Assert.Equal("https", echo.Scheme);
        Assert.Equal("api.test", echo.Sni);
        Assert.Equal($"api.test:{Origin.HttpsPort}", echo.Host);
        Assert.Equal($"api.test:{Origin.HttpsPort}", echo.Header("host"));
    }

    [Fact]
    public async Task Certificate_covers_the_wildcard_name_and_the_address()
    {
        using var client = Origin.CreateClient(HttpVersion.Version20);

        using var wildcard = await client.GetAsync(Origin.HttpsUrl("/echo", "deep.origin.test"));
        using var byAddress = await client.GetAsync(new Uri($"https://{Origin.Address}:{Origin.HttpsPort}/echo"));

        Assert.Equal(HttpStatusCode.OK, wildcard.StatusCode);
        Assert.Equal(HttpStatusCode.OK, byAddress.StatusCode);
        var echo = await byAddress.Content.ReadFromJsonAsync(FakeOriginJson.Default.EchoResponse);
        Assert.Null(echo!.Sni); // clients send no SNI for an IP
    }

    [Fact]
    public async Task A_client_trusting_another_root_is_refused()
    {
        using var other = TestCertificates.CreateCertificateAuthority("Not the test root");
        using var client = new HttpClient(TestCertificates.CreateHandler(other, Origin.Address));

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(Origin.HttpsUrl("/echo")));

        Assert.IsType<AuthenticationException>(error.InnerException);
    }

    [Fact]
    public async Task Plain_http_port_serves_without_tls()
    {
        using var client = Origin.CreateClient();

        var echo = await client.GetFromJsonAsync(Origin.HttpUrl("/echo"), FakeOriginJson.Default.EchoResponse);

        Assert.Equal("http", echo!.Scheme);
        Assert.Equal("HTTP/1.1", echo.Protocol);
        Assert.Null(echo.Sni);
    }

    [Fact]
    public async Task Requests_are_recorded_with_headers_body_and_target()
    {
        var marker = Guid.NewGuid().ToString("N");
        using var client = Origin.CreateClient(HttpVersion.Version20);
        using var request = new HttpRequestMessage(HttpMethod.Post, Origin.HttpsUrl($"/anything/{marker}?x=1"))
        {
            Version = HttpVersion.Version20, // DefaultRequestVersion applies only to requests the client builds
            Content = new StringContent("hello origin", Encoding.UTF8, "text/plain"),
        };
        request.Headers.Add("X-Injected", ["one", "two"]);

        using var response = await client.SendAsync(request);
        var recorded = await Origin.WaitForRequestAsync(r => r.Path.EndsWith(marker, StringComparison.Ordinal), Wait);

        Assert.Equal("POST", recorded.Method);
        Assert.Equal("HTTP/2", recorded.Protocol);
        Assert.Equal($"/anything/{marker}?x=1", recorded.RawTarget);
        Assert.Equal($"/anything/{marker}?x=1", recorded.PathAndQuery);
        Assert.Equal("one, two", recorded.Header("x-injected"));
        Assert.False(recorded.HasHeader("Authorization"));
        Assert.Equal(12, recorded.BodyLength);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("hello origin"u8)), recorded.BodySha256);
        Assert.Equal("api.test", recorded.Sni);
        Assert.Equal(Origin.HttpsPort, recorded.LocalPort);
        Assert.Equal(OriginRequestEnd.Completed, await recorded.Ended.WaitAsync(Wait));
        Assert.Contains(recorded, Origin.Requests);
        Assert.Equal(recorded.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues(FakeOrigin.RequestHeader).Single());
        Assert.True(Origin.ConnectionCount > 0);
    }

    [Fact]
    public async Task Head_gets_the_echo_head_without_a_body()
    {
        using var client = Origin.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Head, Origin.HttpsUrl("/echo"));

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task WaitForRequest_times_out_naming_what_did_arrive()
    {
        var error = await Assert.ThrowsAsync<TimeoutException>(() => Origin.WaitForRequestAsync(r => r.Path == "/never", TimeSpan.FromMilliseconds(50)));

        Assert.Contains("received", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/big/1048576")]
    [InlineData("/big/1048576?chunked=1")]
    public async Task Big_streams_n_bytes_of_the_pattern(string path)
    {
        using var client = Origin.CreateClient(HttpVersion.Version20);

        using var response = await client.GetAsync(Origin.HttpsUrl(path), HttpCompletionOption.ResponseHeadersRead);
        var announced = response.Content.Headers.NonValidated.TryGetValues("Content-Length", out var length) ? length.ToString() : null;
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(1048576, body.Length);
        Assert.Equal(path.Contains("chunked", StringComparison.Ordinal) ? null : "1048576", announced);
        for (var i = 0; i < body.Length; i++)
        {
            Assert.True(body[i] == FakeOrigin.BigBodyByte(i), $"byte {i}");
        }
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Slow_is_cancelled_when_the_client_gives_up(string version)
    {
        var marker = Guid.NewGuid().ToString("N");
        using var client = Origin.CreateClient(Version.Parse(version));
        using var cancel = new CancellationTokenSource();

        var call = client.GetAsync(Origin.HttpsUrl($"/slow?ms=60000&m={marker}"), cancel.Token);
        var recorded = await Origin.WaitForRequestAsync(r => r.Query.Contains(marker, StringComparison.Ordinal), Wait);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(OriginRequestEnd.Aborted, await recorded.Ended.WaitAsync(Wait));
    }

    [Fact]
    public async Task Slow_answers_after_the_delay()
    {
        using var client = Origin.CreateClient();

        var text = await client.GetStringAsync(Origin.HttpsUrl("/slow?ms=20"));

        Assert.Equal("slow\n", text);
    }

    [Theory]
    [InlineData(418)]
    [InlineData(503)]
    [InlineData(204)]
    public async Task Status_returns_the_code(int code)
    {
        using var client = Origin.CreateClient();

        using var response = await client.GetAsync(Origin.HttpsUrl($"/status/{code}"));

        Assert.Equal(code, (int)response.StatusCode);
    }

    [Fact]
    public async Task Status_redirects_point_at_echo()
    {
        using var client = Origin.CreateClient();

        using var response = await client.GetAsync(Origin.HttpsUrl("/status/302"));

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("/echo", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Headers_returns_the_request_headers()
    {
        using var client = Origin.CreateClient();
        client.DefaultRequestHeaders.Add("X-Probe", "42");

        var headers = await client.GetFromJsonAsync(Origin.HttpsUrl("/headers"), FakeOriginJson.Default.DictionaryStringStringArray);

        Assert.Equal(["42"], headers!["X-Probe"]);
    }

    [Fact]
    public async Task Sse_sends_flushed_events()
    {
        using var client = Origin.CreateClient(HttpVersion.Version20);

        using var response = await client.GetAsync(Origin.HttpsUrl("/sse?count=3&ms=10"), HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var data = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Add(line["data: ".Length..]);
            }
        }

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["event 0", "event 1", "event 2"], data);
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Ws_echoes_text_and_binary_messages(string version)
    {
        using var invoker = new HttpMessageInvoker(TestCertificates.CreateHandler(TestCertificates.Root, Origin.Address));
        using var socket = new ClientWebSocket();
        socket.Options.HttpVersion = Version.Parse(version);
        socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        socket.Options.AddSubProtocol("echo.v1");
        using var limit = new CancellationTokenSource(Wait);

        await socket.ConnectAsync(new Uri($"wss://api.test:{Origin.HttpsPort}/ws"), invoker, limit.Token);
        await socket.SendAsync("ping"u8.ToArray(), WebSocketMessageType.Text, true, limit.Token);
        var text = await ReceiveAsync(socket, limit.Token);
        await socket.SendAsync(new byte[] { 0, 1, 2, 255 }, WebSocketMessageType.Binary, true, limit.Token);
        var binary = await ReceiveAsync(socket, limit.Token);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", limit.Token);

        Assert.Equal("echo.v1", socket.SubProtocol);
        Assert.Equal(WebSocketMessageType.Text, text.Type);
        Assert.Equal("ping"u8.ToArray(), text.Payload);
        Assert.Equal(WebSocketMessageType.Binary, binary.Type);
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, binary.Payload);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Reset_aborts_the_response(string version)
    {
        var marker = Guid.NewGuid().ToString("N");
        using var client = Origin.CreateClient(Version.Parse(version));

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetByteArrayAsync(Origin.HttpsUrl($"/reset?after=1000&m={marker}")));

        var recorded = await Origin.WaitForRequestAsync(r => r.Query.Contains(marker, StringComparison.Ordinal), Wait);
        Assert.Equal(OriginRequestEnd.Aborted, await recorded.Ended.WaitAsync(Wait));
    }

    [Fact]
    public async Task Origin_binds_another_loopback_address_and_refuses_others()
    {
        await using var second = await FakeOrigin.StartAsync(new FakeOriginOptions { Address = IPAddress.Parse("127.0.0.2") });
        using var client = second.CreateClient();

        var echo = await client.GetFromJsonAsync(second.HttpsUrl("/echo"), FakeOriginJson.Default.EchoResponse);

        Assert.Equal("127.0.0.2", second.HttpsEndPoint.Address.ToString());
        Assert.Equal("api.test", echo!.Sni);
        await Assert.ThrowsAsync<ArgumentException>(() => FakeOrigin.StartAsync(new FakeOriginOptions { Address = IPAddress.Any }));
    }

    [Fact]
    public async Task Dispose_ends_requests_still_running()
    {
        var origin = await FakeOrigin.StartAsync();
        using var client = origin.CreateClient();
        var call = client.GetAsync(origin.HttpsUrl("/slow?ms=60000"));
        var recorded = await origin.WaitForRequestAsync(r => r.Path == "/slow", Wait);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await origin.DisposeAsync();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"dispose took {clock.Elapsed}");
        await Assert.ThrowsAnyAsync<Exception>(() => call);
        Assert.Equal(OriginRequestEnd.Aborted, await recorded.Ended.WaitAsync(Wait));
    }

    private static async Task<(WebSocketMessageType Type, byte[] Payload)> ReceiveAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[1024];
        using var message = new MemoryStream();
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken);
            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);

        return (result.MessageType, message.ToArray());
    }
}
