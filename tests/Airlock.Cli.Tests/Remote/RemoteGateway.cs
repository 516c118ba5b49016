using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Airlock.Sandboxes.Local;
using Airlock.Server.Auth;
using Airlock.Server.Configuration;
using Airlock.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace Airlock.Cli.Tests.Remote;

/// <summary>
/// A real gateway in process (loopback, SQLite, real local sandboxes under a short directory) for the CLI's remote mode,
/// with an admin and a sessions token; <see cref="RunAsync"/> runs the real command tree against it.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RemoteGateway : IAsyncLifetime
{
    private DirectoryInfo _dir = null!;

    public GatewayHost Host { get; private set; } = null!;

    public string Server => Host.ApiAddress.ToString();

    public string AdminToken { get; private set; } = null!;

    public string SessionsToken { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _dir = Directory.CreateDirectory(Path.Combine("/var/tmp", "al-cli-" + Guid.NewGuid().ToString("N")[..8]));
        Host = await GatewayHost.StartAsync(
            new ServerConfig { Listen = "127.0.0.1:0", ControlListen = "127.0.0.1:0", Store = $"sqlite:{_dir.FullName}/airlock.db" },
            new GatewayHostOptions
            {
                LocalDriver = new LocalDriverOptions { StateDirectory = Path.Combine(_dir.FullName, "s"), AirlockCommand = ["dotnet", Path.Combine(AppContext.BaseDirectory, "airlock.dll")] },
                Logging = logging => logging.SetMinimumLevel(LogLevel.None),
            },
            CancellationToken.None);
        AdminToken = (await Host.Store.CreateTokenAsync(TokenScope.Admin, null, "cli test", CancellationToken.None)).Token;
        SessionsToken = (await Host.Store.CreateTokenAsync(TokenScope.Sessions, null, "cli test", CancellationToken.None)).Token;
    }

    public async Task DisposeAsync()
    {
        foreach (var sandbox in await Host.Driver.ListAsync(CancellationToken.None))
        {
            await Host.Driver.DeleteAsync(sandbox.Id, CancellationToken.None);
        }

        await Host.DisposeAsync();
        _dir.Delete(recursive: true);
    }

    /// <summary>The CLI with <c>AIRLOCK_SERVER</c> and <c>AIRLOCK_TOKEN</c> (the sessions token unless another is given).</summary>
    internal Task<CliRun> RunAsync(params string[] args) => RunAsTokenAsync(SessionsToken, args);

    internal Task<CliRun> RunAsTokenAsync(string token, params string[] args) =>
        CliRun.With(new Dictionary<string, string> { ["AIRLOCK_SERVER"] = Server, ["AIRLOCK_TOKEN"] = token }, CancellationToken.None, args);

    /// <summary>Creates a sandbox with the CLI and returns its id.</summary>
    public async Task<string> CreateSandboxAsync(string policy, params string[] options)
    {
        using var file = new TempPolicy(policy);
        var run = await RunAsync(["sandbox", "create", "--policy", file.Path, .. options]);
        Assert.True(run.ExitCode == 0, run.ToString());
        return run.Stdout.Trim();
    }

    /// <summary><c>curl</c> inside the sandbox through <c>airlock sandbox exec</c>: the HTTP status it got.</summary>
    public async Task<string> CurlAsync(string sandbox, string url)
    {
        var run = await RunAsync("sandbox", "exec", sandbox, "--", "curl", "-s", "--max-time", "90", "-o", "/dev/null", "-w", "%{http_code}", url);
        Assert.True(run.ExitCode == 0, run.ToString());
        return run.Stdout.Trim();
    }

    /// <summary>Runs the CLI until <paramref name="done"/> holds for its JSON output (events and approvals arrive asynchronously).</summary>
    public async Task<JsonElement> UntilAsync(Func<JsonElement, bool> done, params string[] args)
    {
        JsonElement last = default;
        for (var deadline = DateTime.UtcNow.AddSeconds(90); DateTime.UtcNow < deadline; await Task.Delay(200))
        {
            var run = await RunAsync(args);
            Assert.True(run.ExitCode == 0, run.ToString());
            last = JsonDocument.Parse(run.Stdout).RootElement.Clone();
            if (done(last))
            {
                return last;
            }
        }

        throw new TimeoutException($"airlock {string.Join(' ', args)} never showed what was awaited; last: {last}");
    }

    public const string DenyAll = "version: 1\nname: deny-all\ndefault: deny\negress: []\n";

    /// <summary>Allows 127.0.0.2 (loopback outside the sandbox's NO_PROXY) on any port.</summary>
    public const string Allow127 = "version: 1\negress:\n  - allow: 127.0.0.2\n    ports: [1-65535]\naddresses:\n  allow: [\"127.0.0.0/8\"]\n";

    /// <summary>Asks before 127.0.0.2.</summary>
    public const string Ask127 = "version: 1\negress:\n  - name: ask-local\n    ask: 127.0.0.2\n    timeout: 90s\naddresses:\n  allow: [\"127.0.0.0/8\"]\n";

    /// <summary>A loopback port where nothing listens: through the proxy, an allowed request gets 502, a denied one 403.</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
