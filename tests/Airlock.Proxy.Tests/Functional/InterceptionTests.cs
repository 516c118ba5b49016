using System.Text.Json;
using Airlock.Proxy.Events;
using Airlock.Proxy.Tests.Infrastructure;

namespace Airlock.Proxy.Tests.Functional;

/// <summary>CONNECT with TLS interception, L7 rules and credential injection, through real curl.</summary>
public class InterceptionTests(FakeOriginFixture fixture) : IClassFixture<FakeOriginFixture>
{
    private const string ReadOnlyApi = """
        version: 1
        egress:
          - name: api-read
            allow: api.test
            ports: [{https}]
            http:
              - methods: [GET, HEAD]
                paths: ["/echo", "/big/*", "/ws", "/slow"]
        addresses:
          allow: ["127.0.0.0/8"]
        """;

    [Fact]
    public async Task An_allowed_request_is_intercepted_forwarded_and_recorded_once()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, ReadOnlyApi);

        var result = await proxy.CurlAsync(proxy.HttpsUrl("/echo?x=1"));

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(200, result.StatusCode);
        Assert.Equal(200, result.ConnectStatusCode);
        Assert.Equal("2", result.HttpVersion);
        var echo = JsonSerializer.Deserialize(result.Stdout, FakeOriginJson.Default.EchoResponse)!;
        Assert.Equal("/echo", echo.Path);

        var events = await proxy.EventsAsync();
        var connection = Assert.Single(events, e => e.Type == EgressEventType.Connection);
        Assert.Equal("allow", connection.Decision);
        Assert.Equal("allowed_by_rule", connection.Reason);
        Assert.Equal(new EventRule(0, "allow", "api-read"), connection.Rule);
        Assert.Equal("inspect", connection.Tls);
        Assert.Equal("api.test", connection.Host);
        Assert.Equal(fixture.Origin.Address.ToString(), connection.ResolvedIp);
        var request = Assert.Single(events, e => e.Type == EgressEventType.Request);
        Assert.Equal(("allow", "GET", "/echo?x=1", 200), (request.Decision, request.Method, request.Path, request.Status));
        Assert.Equal(connection.Conn, request.Conn);
        var close = Assert.Single(events, e => e.Type == EgressEventType.Close);
        Assert.Equal(connection.Conn, close.Conn);
        Assert.True(close.BytesIn > 0 && close.BytesOut > 0);
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
    }

    [Fact]
    public async Task A_request_outside_the_http_rules_gets_a_readable_403_and_never_reaches_the_origin()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, ReadOnlyApi);
        var before = fixture.Origin.Requests.Count;

        var result = await proxy.CurlAsync("-X", "POST", "--data", "x", proxy.HttpsUrl("/echo"));

        Assert.Equal(403, result.StatusCode);
        Assert.Equal("deny", result.Header("x-airlock-decision"));
        using var body = JsonDocument.Parse(result.Stdout);
        Assert.Equal("no_matching_http_rule", body.RootElement.GetProperty("reason").GetString());
        Assert.Equal("POST", body.RootElement.GetProperty("method").GetString());
        Assert.Equal("/echo", body.RootElement.GetProperty("path").GetString());
        Assert.Equal(0, body.RootElement.GetProperty("rule").GetProperty("index").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("hint").GetString()));
        Assert.DoesNotContain(fixture.Origin.Requests.Skip(before), r => r.Method == "POST");

        var events = await proxy.EventsAsync();
        var request = Assert.Single(events, e => e.Type == EgressEventType.Request);
        Assert.Equal(("deny", "no_matching_http_rule", 403), (request.Decision, request.Reason, request.Status));
    }

    [Theory]
    [InlineData("/echo/../echo", 200)]
    [InlineData("/big/../admin", 403)]
    [InlineData("/echo%2f..%2fadmin", 400)]
    public async Task Paths_are_policed_after_normalisation(string path, int status)
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, ReadOnlyApi);

        var result = await proxy.CurlAsync("--path-as-is", proxy.HttpsUrl(path));

        Assert.Equal(status, result.StatusCode);
    }

    [Fact]
    public async Task Http1_clients_are_served_too()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, ReadOnlyApi);

        var result = await proxy.CurlAsync("--http1.1", proxy.HttpsUrl("/big/100000"));

        Assert.Equal(200, result.StatusCode);
        Assert.Equal("1.1", result.HttpVersion);
        Assert.Equal(100_000, result.SizeDownload);
    }

    [Fact]
    public async Task A_destination_outside_the_policy_is_refused_at_CONNECT()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, ReadOnlyApi);

        var result = await proxy.CurlAsync(proxy.HttpsUrl("/echo", host: "other.test"));

        Assert.False(result.Succeeded);
        Assert.Equal(403, result.ConnectStatusCode);
        var events = await proxy.EventsAsync();
        var connection = Assert.Single(events, e => e.Type == EgressEventType.Connection);
        Assert.Equal(("deny", "default_deny", "other.test"), (connection.Decision, connection.Reason, connection.Host));
        Assert.Null(connection.Rule);
        Assert.Equal("none", connection.Tls);
    }

    [Fact]
    public async Task Injected_credentials_replace_the_clients_and_never_reach_the_events()
    {
        const string policy = """
            version: 1
            egress:
              - allow: api.test
                ports: [{https}]
                inject:
                  - header: Authorization
                    value: "Bearer {{secret:TOKEN}}"
            addresses:
              allow: ["127.0.0.0/8"]
            """;
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, policy);

        var result = await proxy.CurlAsync("-H", "Authorization: Bearer sandbox-forgery", proxy.HttpsUrl("/echo?leak=s3cret-token-value"));

        Assert.Equal(200, result.StatusCode);
        var echo = JsonSerializer.Deserialize(result.Stdout, FakeOriginJson.Default.EchoResponse)!;
        Assert.Equal("Bearer s3cret-token-value", echo.Header("Authorization"));
        var events = await proxy.EventsAsync();
        var text = await File.ReadAllTextAsync(proxy.EventsPath);
        Assert.DoesNotContain("s3cret-token-value", text, StringComparison.Ordinal);
        Assert.Contains("[REDACTED]", Assert.Single(events, e => e.Type == EgressEventType.Request).Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Host_header_naming_another_host_inside_the_tunnel_is_refused()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, ReadOnlyApi);

        var result = await proxy.CurlAsync("--http1.1", "-H", "Host: other.test", proxy.HttpsUrl("/echo"));

        Assert.Equal(403, result.StatusCode);
        Assert.Contains("host_mismatch", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_absolute_form_target_to_another_host_inside_the_tunnel_is_refused()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, ReadOnlyApi);
        await using var client = await RawClient.ConnectAsync(proxy.Port);

        var connect = await client.SendAndReadHeadAsync($"CONNECT api.test:{fixture.Origin.HttpsPort} HTTP/1.1\r\nHost: api.test\r\n\r\n", TimeSpan.FromSeconds(10));
        Assert.Equal(200, RawClient.StatusCodeOf(connect));
        await client.StartTlsAsync("api.test", proxy.SessionCa.Certificate, TimeSpan.FromSeconds(10));
        var head = await client.SendAndReadHeadAsync("GET https://other.test/echo HTTP/1.1\r\nHost: api.test\r\n\r\n", TimeSpan.FromSeconds(10));

        Assert.Equal(403, RawClient.StatusCodeOf(head));
        Assert.Contains("host_mismatch", head, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(fixture.Origin.Requests, r => r.Host == "other.test");
    }

    [Fact]
    public async Task An_SNI_that_differs_from_the_CONNECT_target_is_answered_with_403_inside_TLS()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, ReadOnlyApi);
        await using var client = await RawClient.ConnectAsync(proxy.Port);

        await client.SendAndReadHeadAsync($"CONNECT api.test:{fixture.Origin.HttpsPort} HTTP/1.1\r\n\r\n", TimeSpan.FromSeconds(10));
        await client.StartTlsAsync("other.test", proxy.SessionCa.Certificate, TimeSpan.FromSeconds(10));
        var head = await client.SendAndReadHeadAsync("GET /echo HTTP/1.1\r\nHost: other.test\r\n\r\n", TimeSpan.FromSeconds(10));

        Assert.Equal(403, RawClient.StatusCodeOf(head));
        Assert.Contains("sni_mismatch", head, StringComparison.OrdinalIgnoreCase);
        var events = await proxy.EventsAsync();
        Assert.Contains(events, e => e.Reason == "sni_mismatch" && e.Decision == "deny");
    }

    [Fact]
    public async Task Audit_mode_lets_a_denied_request_through_and_records_would_deny()
    {
        await using var proxy = await ProxyHarness.StartAsync(fixture.Origin, ReadOnlyApi.Replace("version: 1", "version: 1\nmode: audit", StringComparison.Ordinal));

        var result = await proxy.CurlAsync("-X", "DELETE", proxy.HttpsUrl("/echo"));

        Assert.Equal(200, result.StatusCode);
        var events = await proxy.EventsAsync();
        var request = Assert.Single(events, e => e.Type == EgressEventType.Request);
        Assert.Equal(("deny", "no_matching_http_rule", true, "audit"), (request.Decision, request.Reason, request.WouldDeny, request.Mode));
    }
}
