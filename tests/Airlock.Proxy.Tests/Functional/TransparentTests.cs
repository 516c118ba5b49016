using System.Globalization;
using System.Net;
using Airlock.Proxy.Events;
using Airlock.Proxy.Tests.Infrastructure;

namespace Airlock.Proxy.Tests.Functional;

/// <summary>
/// The transparent front door for real: a client in its own network namespace connects to addresses of its
/// choosing; nftables on this host redirects the connections to the proxy, which reads SO_ORIGINAL_DST.
/// </summary>
public class TransparentTests(FakeOriginFixture fixture) : IClassFixture<FakeOriginFixture>
{
    /// <summary>An address the client "chooses"; nothing listens there, the redirect takes the connection.</summary>
    private const string ChosenAddress = "203.0.113.10";

    private const string Policy = """
        version: 1
        egress:
          - allow: api.test
            ports: [{https}, {http}]
            http:
              - methods: [GET]
                paths: ["/echo"]
        addresses:
          allow: ["127.0.0.0/8"]
        """;

    [SkippableFact]
    public async Task A_redirected_TLS_connection_is_decided_on_its_SNI_and_intercepted()
    {
        await using var setup = await TransparentSetup.StartAsync(fixture.Origin, Policy);
        var port = fixture.Origin.HttpsPort.ToString(CultureInfo.InvariantCulture);

        var allowed = await setup.CurlAsync("--resolve", $"api.test:{port}:{ChosenAddress}", $"https://api.test:{port}/echo");
        var l7 = await setup.CurlAsync("--resolve", $"api.test:{port}:{ChosenAddress}", $"https://api.test:{port}/admin");

        Assert.EndsWith("200", allowed.Stdout.TrimEnd(), StringComparison.Ordinal);
        Assert.EndsWith("403", l7.Stdout.TrimEnd(), StringComparison.Ordinal);
        var events = await setup.Proxy.EventsAsync();
        var connection = events.First(e => e.Type == EgressEventType.Connection);
        Assert.Equal(("allow", "api.test", "inspect", "127.0.0.1"), (connection.Decision, connection.Host, connection.Tls, connection.ResolvedIp));
        Assert.Contains(events, e => e.Type == EgressEventType.Request && e.Reason == "no_matching_http_rule");
    }

    [SkippableFact]
    public async Task A_forged_SNI_reaches_only_the_host_it_names_never_the_chosen_address()
    {
        await using var setup = await TransparentSetup.StartAsync(fixture.Origin, Policy);
        var port = fixture.Origin.HttpsPort.ToString(CultureInfo.InvariantCulture);
        var before = fixture.Origin.Requests.Count;

        // The client dials an address of its choosing and claims to be talking to api.test.
        var result = await setup.CurlAsync("--resolve", $"api.test:{port}:198.51.100.77", $"https://api.test:{port}/echo");

        Assert.EndsWith("200", result.Stdout.TrimEnd(), StringComparison.Ordinal);
        Assert.Single(fixture.Origin.Requests.Skip(before));
        var events = await setup.Proxy.EventsAsync();
        Assert.Equal("127.0.0.1", events.First(e => e.Type == EgressEventType.Connection).ResolvedIp);
    }

    [SkippableFact]
    public async Task A_redirected_plain_HTTP_request_is_decided_on_its_Host()
    {
        await using var setup = await TransparentSetup.StartAsync(fixture.Origin, Policy);
        var port = fixture.Origin.HttpPort.ToString(CultureInfo.InvariantCulture);

        var allowed = await setup.CurlAsync("-H", "Host: api.test", $"http://{ChosenAddress}:{port}/echo");
        var denied = await setup.CurlAsync("-H", "Host: evil.test", $"http://{ChosenAddress}:{port}/echo");

        Assert.EndsWith("200", allowed.Stdout.TrimEnd(), StringComparison.Ordinal);
        Assert.EndsWith("403", denied.Stdout.TrimEnd(), StringComparison.Ordinal);
        var events = await setup.Proxy.EventsAsync();
        Assert.Contains(events, e => e.Type == EgressEventType.Connection && e.Host == "evil.test" && e.Reason == "default_deny");
    }

    [SkippableFact]
    public async Task Without_SNI_or_Host_the_original_address_is_decided_on()
    {
        await using var setup = await TransparentSetup.StartAsync(fixture.Origin, Policy);
        var port = fixture.Origin.HttpPort.ToString(CultureInfo.InvariantCulture);

        var result = await setup.Network.ExecAsync("bash", "-c", $"exec 3<>/dev/tcp/{ChosenAddress}/{port}; printf 'SSH-2.0-x\\r\\n' >&3; timeout 5 cat <&3; echo done");

        Assert.Contains("done", result.Stdout, StringComparison.Ordinal);
        var events = await setup.Proxy.EventsAsync();
        var connection = Assert.Single(events, e => e.Type == EgressEventType.Connection);
        Assert.Equal((ChosenAddress, "deny", "default_deny"), (connection.Host, connection.Decision, connection.Reason));
    }

    /// <summary>A namespace client, a proxy with a transparent listener on the host end, and the redirect.</summary>
    private sealed class TransparentSetup : IAsyncDisposable
    {
        private TransparentSetup(TestNetwork network, ProxyHarness proxy)
        {
            Network = network;
            Proxy = proxy;
        }

        public TestNetwork Network { get; }

        public ProxyHarness Proxy { get; }

        public static async Task<TransparentSetup> StartAsync(FakeOrigin origin, string policy)
        {
            Skip.If(TestNetwork.Unavailable is not null, TestNetwork.Unavailable);
            var network = await TestNetwork.CreateAsync();
            var proxy = await ProxyHarness.StartAsync(origin, policy, o => o with { TransparentListen = new IPEndPoint(network.HostAddress, 0) });
            await network.RedirectAsync(proxy.Server.TransparentPort!.Value, origin.HttpsPort, origin.HttpPort);
            return new TransparentSetup(network, proxy);
        }

        /// <summary>Runs curl inside the namespace, trusting the session CA; stdout ends with the status code.</summary>
        public async Task<(int ExitCode, string Stdout, string Stderr)> CurlAsync(params string[] args) =>
            await Network.ExecAsync(["curl", "-sS", "--max-time", "10", "--cacert", Proxy.CaPemPath, "-o", "/dev/null", "-w", "%{http_code}", .. args]);

        public async ValueTask DisposeAsync()
        {
            await Proxy.DisposeAsync();
            await Network.DisposeAsync();
        }
    }
}
