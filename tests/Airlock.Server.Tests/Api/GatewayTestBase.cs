using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Airlock.Proxy.Control;
using Airlock.Sandboxes.Local;
using Airlock.Server.Auth;
using Airlock.Server.Configuration;
using Airlock.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace Airlock.Server.Tests.Api;

/// <summary>
/// A real gateway per test (in process, loopback), on a fresh SQLite store and the local driver with the real
/// <c>airlock</c> binary, with an admin and a sessions client; sandboxes still running are deleted at the end.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public abstract class GatewayTestBase : IAsyncLifetime, IDisposable
{
    /// <summary>A policy that allows nothing.</summary>
    protected const string DenyAll = "version: 1\nname: deny-all\ndefault: deny\negress: []\n";

    /// <summary>The test's directory: short, because the sandboxes' unix sockets live under it.</summary>
    protected DirectoryInfo Root { get; private set; } = null!;

    protected GatewayHost Host { get; private set; } = null!;

    protected HttpClient Admin { get; private set; } = null!;

    protected HttpClient Session { get; private set; } = null!;

    protected HttpClient Anonymous { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Root = Directory.CreateDirectory(Path.Combine("/var/tmp", "al-api-" + Guid.NewGuid().ToString("N")[..8]));
        Host = await GatewayHost.StartAsync(
            new ServerConfig { Listen = "127.0.0.1:0", ControlListen = "127.0.0.1:0", Store = await StoreUrlAsync() },
            new GatewayHostOptions
            {
                LocalDriver = new LocalDriverOptions { StateDirectory = Path.Combine(Root.FullName, "s"), AirlockCommand = ["dotnet", Path.Combine(AppContext.BaseDirectory, "airlock.dll")] },
                Logging = logging => logging.SetMinimumLevel(LogLevel.None),
            },
            CancellationToken.None);
        Admin = await ClientAsync(TokenScope.Admin);
        Session = await ClientAsync(TokenScope.Sessions);
        Anonymous = new HttpClient { BaseAddress = Host.ApiAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var sandbox in await Host.Driver.ListAsync(CancellationToken.None))
        {
            await Host.Driver.DeleteAsync(sandbox.Id, CancellationToken.None);
        }

        await Host.DisposeAsync();
        Root.Delete(recursive: true);
    }

    /// <summary>The store the gateway runs on: a fresh SQLite file under <see cref="Root"/> unless a test class says otherwise.</summary>
    protected virtual Task<string> StoreUrlAsync() => Task.FromResult($"sqlite:{Root.FullName}/airlock.db");

    public void Dispose()
    {
        Admin.Dispose();
        Session.Dispose();
        Anonymous.Dispose();
        GC.SuppressFinalize(this);
    }

    private async Task<HttpClient> ClientAsync(TokenScope scope)
    {
        var token = await Host.Store.CreateTokenAsync(scope, null, "test", CancellationToken.None);
        var client = new HttpClient { BaseAddress = Host.ApiAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
        return client;
    }

    protected static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    protected static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");
}

/// <summary>A proxy's control handler for tests that only send events: every policy update is refused.</summary>
internal sealed class NoPolicyUpdates : IControlHandler
{
    public string? PolicyVersion => null;

    public ValueTask<PolicyUpdateResult> OnPolicyUpdateAsync(string version, string policyText, CancellationToken cancellationToken) =>
        ValueTask.FromResult(PolicyUpdateResult.Rejected(["not in this test"]));
}

/// <summary>Requests made from inside a sandbox, through the gateway's exec API and the sandbox's proxy.</summary>
internal static class SandboxCurl
{
    /// <summary>Creates a sandbox on <paramref name="policy"/> and returns its id.</summary>
    public static async Task<string> CreateAsync(HttpClient client, string policy)
    {
        var created = await client.PostAsync(new Uri("/v1/sandboxes", UriKind.Relative), new StringContent($"{{\"policy\":{JsonSerializer.Serialize(policy)}}}", Encoding.UTF8, "application/json"));
        var body = await created.Content.ReadAsStringAsync();
        Assert.True(created.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary><c>curl</c> inside the sandbox: "STATUS BODY" (the body only for a 200).</summary>
    public static async Task<string> GetAsync(HttpClient client, string sandbox, string url)
    {
        var script = $"code=$(curl -s --max-time 60 -o /tmp/body -w '%{{http_code}}' '{url}'); if [ \"$code\" = 200 ]; then echo \"$code $(cat /tmp/body)\"; else echo \"$code\"; fi";
        var response = await client.PostAsync(
            new Uri($"/v1/sandboxes/{sandbox}/exec?buffered=true", UriKind.Relative),
            new StringContent($"{{\"command\":[\"sh\",\"-c\",{JsonSerializer.Serialize(script)}],\"timeout\":\"90s\"}}", Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("stdout").GetString()!.Trim();
    }
}
