using System.Collections.Immutable;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Airlock.Sandboxes;
using Airlock.Sandboxes.Local;
using Airlock.Server.Auth;
using Airlock.Server.Configuration;
using Airlock.Server.Hosting;
using Airlock.Server.Tests.Api;
using Microsoft.Extensions.Logging;

namespace Airlock.Server.Tests.Hosting;

/// <summary>
/// The gateway and its driver kept in agreement, with real local sandboxes: a restart re-attaches what still runs
/// (and the events its proxy spooled meanwhile arrive), marks what died, removes orphans; TTL and idle timeouts
/// delete sandboxes.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ReconciliationTests : IAsyncLifetime
{
    private DirectoryInfo _root = null!;
    private int _apiPort;
    private int _controlPort;
    private GatewayHost? _host;
    private string _token = null!;

    public Task InitializeAsync()
    {
        _root = Directory.CreateDirectory(Path.Combine("/var/tmp", "al-rec-" + Guid.NewGuid().ToString("N")[..8]));
        (_apiPort, _controlPort) = (FreePort(), FreePort());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        var driver = Driver();
        foreach (var sandbox in await driver.ListAsync(CancellationToken.None))
        {
            await driver.DeleteAsync(sandbox.Id, CancellationToken.None);
        }

        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _root.Delete(recursive: true);
    }

    private LocalDriverOptions DriverOptions() => new()
    {
        StateDirectory = Path.Combine(_root.FullName, "s"),
        AirlockCommand = ["dotnet", Path.Combine(AppContext.BaseDirectory, "airlock.dll")],
    };

    /// <summary>The same driver the gateway uses (same state directory), for what happens behind its back.</summary>
    private LocalSandboxDriver Driver() => new(DriverOptions() with { Control = Airlock.Proxy.Control.ControlEndpoint.Tcp("127.0.0.1", _controlPort) });

    private async Task<HttpClient> StartAsync()
    {
        _host = await GatewayHost.StartAsync(
            new ServerConfig { Listen = $"127.0.0.1:{_apiPort}", ControlListen = $"127.0.0.1:{_controlPort}", Store = $"sqlite:{_root.FullName}/airlock.db" },
            new GatewayHostOptions { LocalDriver = DriverOptions(), ReconcileInterval = TimeSpan.FromMilliseconds(200), Logging = l => l.SetMinimumLevel(LogLevel.None) },
            CancellationToken.None);
        _token ??= (await _host.Store.CreateTokenAsync(TokenScope.Admin, null, "test", CancellationToken.None)).Token;
        var client = new HttpClient { BaseAddress = _host.ApiAddress, Timeout = TimeSpan.FromSeconds(120) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        return client;
    }

    private async Task StopAsync()
    {
        await _host!.DisposeAsync();
        _host = null;
    }

    private static async Task<JsonElement> SandboxAsync(HttpClient client, string id) =>
        JsonDocument.Parse(await client.GetStringAsync(new Uri($"/v1/sandboxes/{id}", UriKind.Relative))).RootElement.Clone();

    private static async Task<JsonElement> UntilAsync(HttpClient client, string id, Func<JsonElement, bool> condition)
    {
        var sandbox = await SandboxAsync(client, id);
        for (var deadline = DateTime.UtcNow.AddSeconds(60); !condition(sandbox) && DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            sandbox = await SandboxAsync(client, id);
        }

        return sandbox;
    }

    [Fact]
    public async Task A_restart_reattaches_running_sandboxes_marks_dead_ones_removes_orphans_and_loses_no_event()
    {
        await using var origin = await LoopbackOrigin.StartAsync();
        var policy = "version: 1\ndefault: deny\negress: []\n" + LoopbackOrigin.AddressesAllow;
        var client = await StartAsync();
        var survivor = await SandboxCurl.CreateAsync(client, policy);
        var dying = await SandboxCurl.CreateAsync(client, policy);
        await StopAsync();

        // While the gateway is away: one sandbox dies, one appears that no record owns, and the survivor's
        // proxy decides (and spools) a request.
        var driver = Driver();
        await driver.DeleteAsync(dying, CancellationToken.None);
        var orphan = await driver.CreateAsync(
            new SandboxSpec { PolicyText = policy, PolicySource = "orphan", WorkDirectory = Directory.CreateDirectory(Path.Combine(_root.FullName, "orphan")).FullName, Environment = ImmutableDictionary<string, string>.Empty },
            CancellationToken.None);
        var whileAway = await ExecCurlAsync(driver, survivor, origin.Url + "/while-away");

        client = await StartAsync();
        var dead = await UntilAsync(client, dying, s => s.GetProperty("state").GetString() != "ready");
        var alive = await SandboxAsync(client, survivor);
        var afterRestart = await SandboxCurl.GetAsync(client, survivor, origin.Url + "/after-restart");
        var orphanGone = false;
        for (var deadline = DateTime.UtcNow.AddSeconds(60); !orphanGone && DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            orphanGone = await driver.GetAsync(orphan.Id, CancellationToken.None) is null;
        }

        string[] paths = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(60); paths.Length < 2 && DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            var events = JsonDocument.Parse(await client.GetStringAsync(new Uri($"/v1/events?session={survivor}&decision=deny", UriKind.Relative))).RootElement;
            paths = [.. events.GetProperty("items").EnumerateArray().Select(e => e.TryGetProperty("path", out var path) ? path.GetString() ?? "" : "").Where(p => p.StartsWith('/')).Distinct().Order(StringComparer.Ordinal)];
        }

        Assert.Equal("403", whileAway);
        Assert.Equal("failed", dead.GetProperty("state").GetString());
        Assert.Contains("no longer runs", dead.GetProperty("stateReason").GetString(), StringComparison.Ordinal);
        Assert.Equal("ready", alive.GetProperty("state").GetString());
        Assert.Equal("403", afterRestart);
        Assert.True(orphanGone, $"orphan {orphan.Id} still runs");
        Assert.Equal(["/after-restart", "/while-away"], paths);
    }

    [Fact]
    public async Task A_sandbox_past_its_ttl_or_idle_timeout_is_deleted_with_the_reason()
    {
        var client = await StartAsync();
        var created = await Task.WhenAll(
            client.PostAsync(new Uri("/v1/sandboxes", UriKind.Relative), new StringContent("{\"policy\":\"version: 1\\n\",\"ttl\":\"3s\"}", System.Text.Encoding.UTF8, "application/json")),
            client.PostAsync(new Uri("/v1/sandboxes", UriKind.Relative), new StringContent("{\"policy\":\"version: 1\\n\",\"idleTimeout\":\"3s\"}", System.Text.Encoding.UTF8, "application/json")),
            client.PostAsync(new Uri("/v1/sandboxes", UriKind.Relative), new StringContent("{\"policy\":\"version: 1\\n\"}", System.Text.Encoding.UTF8, "application/json")));
        var ids = await Task.WhenAll(created.Select(async r => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!));

        var expired = await UntilAsync(client, ids[0], s => s.GetProperty("state").GetString() == "deleted");
        var idle = await UntilAsync(client, ids[1], s => s.GetProperty("state").GetString() == "deleted");
        var kept = await SandboxAsync(client, ids[2]);
        var running = (await _host!.Driver.ListAsync(CancellationToken.None)).Select(s => s.Id).ToList();

        Assert.All(created, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        Assert.Equal("deleted", expired.GetProperty("state").GetString());
        Assert.StartsWith("expired", expired.GetProperty("stateReason").GetString(), StringComparison.Ordinal);
        Assert.Equal("deleted", idle.GetProperty("state").GetString());
        Assert.StartsWith("idle", idle.GetProperty("stateReason").GetString(), StringComparison.Ordinal);
        Assert.Equal("ready", kept.GetProperty("state").GetString());
        Assert.Equal([ids[2]], running);
    }

    private static async Task<string> ExecCurlAsync(LocalSandboxDriver driver, string id, string url)
    {
        using var stdout = new MemoryStream();
        await driver.ExecAsync(
            id,
            new ExecRequest { Command = ["curl", "-s", "--max-time", "30", "-o", "/dev/null", "-w", "%{http_code}", url] },
            new ExecStreams(null, stdout, Stream.Null),
            CancellationToken.None);
        return System.Text.Encoding.UTF8.GetString(stdout.ToArray()).Trim();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
