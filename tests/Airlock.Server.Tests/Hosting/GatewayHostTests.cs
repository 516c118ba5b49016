using System.Net;
using System.Net.Sockets;
using System.Text;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;
using Airlock.Sandboxes;
using Airlock.Sandboxes.Local;
using Airlock.Server.Configuration;
using Airlock.Server.Hosting;
using Airlock.Server.Tests.Api;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Airlock.Server.Tests.Hosting;

/// <summary>The gateway host in process, on loopback, with real sockets and the proxy's real control channel.</summary>
public sealed class GatewayHostTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("airlock-gw-");
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(20) };

    public void Dispose()
    {
        _http.Dispose();
        _dir.Delete(recursive: true);
    }

    private GatewayHostOptions Options => new()
    {
        LocalDriver = new LocalDriverOptions { StateDirectory = Path.Combine(_dir.FullName, "state"), AirlockCommand = ["/bin/false"] },
        Logging = logging => logging.SetMinimumLevel(LogLevel.None),
    };

    private ServerConfig Loopback => new() { Listen = "127.0.0.1:0", ControlListen = "127.0.0.1:0", Store = "sqlite:" + Path.Combine(_dir.FullName, "store", "airlock.db") };

    [Fact]
    public async Task With_the_local_driver_it_is_healthy_and_ready()
    {
        await using var host = await GatewayHost.StartAsync(Loopback, Options, CancellationToken.None);

        var health = await _http.GetAsync(new Uri(host.ApiAddress, "/healthz"));
        var ready = await _http.GetAsync(new Uri(host.ApiAddress, "/readyz"));

        Assert.Equal((HttpStatusCode.OK, "ok\n"), (health.StatusCode, await health.Content.ReadAsStringAsync()));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("local", host.Driver.Name);
        Assert.Equal(IPAddress.Loopback, host.ControlAddress.Address);
    }

    [Fact]
    public async Task A_cluster_that_does_not_answer_makes_it_unready_with_the_reason_but_still_healthy()
    {
        var kubeconfig = Path.Combine(_dir.FullName, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, $$"""
            apiVersion: v1
            kind: Config
            clusters:
              - name: gone
                cluster:
                  server: http://127.0.0.1:{{ClosedPort()}}
            users:
              - name: nobody
                user: {token: not-a-real-token}
            contexts:
              - name: gone
                context: {cluster: gone, user: nobody}
            current-context: gone
            """);
        var config = Loopback with
        {
            Driver = GatewayDriver.Kubernetes,
            Kubernetes = new KubernetesGatewayConfig { Kubeconfig = kubeconfig, Namespace = "agents", Image = "python:3.12" },
        };
        await using var host = await GatewayHost.StartAsync(config, Options, CancellationToken.None);

        var ready = await _http.GetAsync(new Uri(host.ApiAddress, "/readyz"));
        var health = await _http.GetAsync(new Uri(host.ApiAddress, "/healthz"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("the kubernetes driver", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task A_kubeconfig_that_cannot_be_read_stops_the_start_and_frees_the_control_port()
    {
        var port = ClosedPort();
        var config = Loopback with
        {
            ControlListen = $"127.0.0.1:{port}",
            Driver = GatewayDriver.Kubernetes,
            Kubernetes = new KubernetesGatewayConfig { Kubeconfig = Path.Combine(_dir.FullName, "missing"), Namespace = "agents", Image = "python:3.12" },
        };

        var error = await Assert.ThrowsAsync<SandboxException>(() => GatewayHost.StartAsync(config, Options, CancellationToken.None));

        Assert.Contains("Kubernetes configuration", error.Message, StringComparison.Ordinal);
        using var again = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        again.Bind(new IPEndPoint(IPAddress.Loopback, port));
    }

    [Fact]
    public async Task A_sandboxs_proxy_dials_the_control_plane_and_its_events_arrive()
    {
        await using var host = await GatewayHost.StartAsync(Loopback, Options, CancellationToken.None);
        await using var proxy = new ControlChannel(
            ControlEndpoint.Tcp("127.0.0.1", host.ControlAddress.Port),
            new ControlChannelOptions { SessionId = "sb-0123456789", SpoolPath = Path.Combine(_dir.FullName, "spool") },
            new NoPolicyUpdates(),
            NullLogger<ControlChannel>.Instance);
        proxy.Start();

        proxy.SendEvent(Encoding.UTF8.GetBytes(EventJson.ToJson(new EgressEvent
        {
            Type = EgressEventType.Request,
            Ts = DateTimeOffset.UtcNow,
            Session = "sb-0123456789",
            Id = "evt-1",
            Conn = "c-1",
            Decision = "deny",
            Reason = "default_deny",
            Mode = "enforce",
            Host = "example.org",
            Port = 443,
            Tls = "intercepted",
        }) + "\n"));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        EgressEvent? first = null;
        await foreach (var e in host.Events.EventsAsync("sb-0123456789", follow: true, timeout.Token))
        {
            first = e;
            break;
        }

        Assert.Equal(("evt-1", "example.org", "deny"), (first?.Id, first?.Host, first?.Decision));
    }

    [Fact]
    public async Task A_bootstrap_admin_token_is_imported_once_and_works_as_admin()
    {
        var token = Airlock.Server.Auth.TokenCommands.Generate();
        int tokens;
        await using (var first = await GatewayHost.StartAsync(Loopback, Options with { BootstrapAdminToken = token }, CancellationToken.None))
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(first.ApiAddress, "/v1/policies/team"))
            {
                Content = new StringContent("version: 1\n"),
            };
            request.Headers.Authorization = new("Bearer", token);
            using var stored = await _http.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.Created, stored.StatusCode);
        }

        await using (var second = await GatewayHost.StartAsync(Loopback, Options with { BootstrapAdminToken = token }, CancellationToken.None))
        {
            tokens = (await second.Store.ListTokensAsync(CancellationToken.None)).Count;
        }

        var malformed = await Assert.ThrowsAsync<Airlock.Server.Store.StoreException>(() => GatewayHost.StartAsync(Loopback, Options with { BootstrapAdminToken = "not-a-token" }, CancellationToken.None));

        Assert.Equal(1, tokens);
        Assert.Contains("bootstrap admin token", malformed.Message, StringComparison.Ordinal);
        Assert.Contains("airlock token generate", malformed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_over_a_tokens_rate_limit_and_repeated_bad_tokens_get_429_with_retry_after()
    {
        await using var host = await GatewayHost.StartAsync(Loopback with { RequestsPerSecond = 1, RequestBurst = 3 }, Options, CancellationToken.None);
        var token = (await host.Store.CreateTokenAsync(Airlock.Server.Auth.TokenScope.Admin, null, "limited", CancellationToken.None)).Token;
        var other = (await host.Store.CreateTokenAsync(Airlock.Server.Auth.TokenScope.Admin, null, "other", CancellationToken.None)).Token;

        async Task<System.Net.HttpStatusCode> GetAsync(string bearer, List<string>? retryAfter = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.ApiAddress, "/v1/policies"));
            request.Headers.Authorization = new("Bearer", bearer);
            using var response = await _http.SendAsync(request);
            retryAfter?.AddRange(response.Headers.TryGetValues("Retry-After", out var values) ? values : []);
            return response.StatusCode;
        }

        var retryAfter = new List<string>();
        var limited = new List<System.Net.HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            limited.Add(await GetAsync(token, retryAfter));
        }

        var othersFirst = await GetAsync(other);
        var guesses = new List<System.Net.HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            guesses.Add(await GetAsync("alk_guess"));
        }

        using var health = await _http.GetAsync(new Uri(host.ApiAddress, "/healthz"));

        Assert.Equal(System.Net.HttpStatusCode.OK, limited[0]);
        Assert.Contains(System.Net.HttpStatusCode.TooManyRequests, limited);
        Assert.True(limited.Count(s => s == System.Net.HttpStatusCode.OK) <= 4, string.Join(", ", limited));
        Assert.NotEmpty(retryAfter);
        Assert.All(retryAfter, r => Assert.True(int.Parse(r, System.Globalization.CultureInfo.InvariantCulture) >= 1));
        Assert.Equal(System.Net.HttpStatusCode.OK, othersFirst);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, guesses[0]);
        Assert.Contains(System.Net.HttpStatusCode.TooManyRequests, guesses);
        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
    }

    private static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
