using System.Net;
using System.Net.Sockets;
using System.Text;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;
using ProxyEvent = Airlock.Proxy.Events.EgressEvent;
using Airlock.Sandboxes.Local;
using Airlock.Server.Auth;
using Airlock.Server.Configuration;
using Airlock.Server.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Airlock.Client.Tests;

/// <summary>A real gateway in process (loopback), on a SQLite store and the local driver, under a short directory.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class TestGateway
{
    public const string DenyAll = "version: 1\nname: deny-all\ndefault: deny\negress: []\n";

    /// <summary>A fresh directory; short, because the sandboxes' unix sockets live under it.</summary>
    public static DirectoryInfo NewDirectory() =>
        Directory.CreateDirectory(Path.Combine("/var/tmp", "al-sdk-" + Guid.NewGuid().ToString("N")[..8]));

    /// <summary>Starts a gateway on <paramref name="directory"/>'s store; ports 0 pick free ones.</summary>
    public static Task<GatewayHost> StartAsync(DirectoryInfo directory, int apiPort = 0, int controlPort = 0) =>
        GatewayHost.StartAsync(
            new ServerConfig { Listen = $"127.0.0.1:{apiPort}", ControlListen = $"127.0.0.1:{controlPort}", Store = $"sqlite:{directory.FullName}/airlock.db" },
            new GatewayHostOptions
            {
                LocalDriver = new LocalDriverOptions { StateDirectory = Path.Combine(directory.FullName, "s"), AirlockCommand = ["dotnet", Path.Combine(AppContext.BaseDirectory, "airlock.dll")] },
                Logging = logging => logging.SetMinimumLevel(LogLevel.None),
            },
            CancellationToken.None);

    /// <summary>Deletes what the driver still runs, stops the gateway.</summary>
    public static async Task StopAsync(GatewayHost host)
    {
        foreach (var sandbox in await host.Driver.ListAsync(CancellationToken.None))
        {
            await host.Driver.DeleteAsync(sandbox.Id, CancellationToken.None);
        }

        await host.DisposeAsync();
    }

    public static async Task<string> TokenAsync(GatewayHost host, TokenScope scope) =>
        (await host.Store.CreateTokenAsync(scope, null, "test", CancellationToken.None)).Token;

    /// <summary>A port free now (the kernel's pick), so that two gateways in a row can use the same one.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A proxy's real control channel, dialling the gateway's control port and spooling while it is away.</summary>
    public static ControlChannel Proxy(int controlPort, string session, DirectoryInfo directory)
    {
        var channel = new ControlChannel(
            ControlEndpoint.Tcp("127.0.0.1", controlPort),
            new ControlChannelOptions
            {
                SessionId = session,
                SpoolPath = Path.Combine(directory.FullName, "spool-" + session),
                InitialBackoff = TimeSpan.FromMilliseconds(50),
                MaxBackoff = TimeSpan.FromMilliseconds(300),
            },
            new NoPolicyUpdates(),
            NullLogger<ControlChannel>.Instance);
        channel.Start();
        return channel;
    }

    /// <summary>The NDJSON line of event <c>e{i}</c>: even ones allowed, odd ones denied.</summary>
    public static byte[] Event(string session, int i) => Encoding.UTF8.GetBytes(EventJson.ToJson(new ProxyEvent
    {
        Type = EgressEventType.Request,
        Ts = DateTimeOffset.UtcNow,
        Session = session,
        Id = $"e{i}",
        Conn = "c-1",
        Decision = i % 2 == 0 ? "allow" : "deny",
        Reason = i % 2 == 0 ? "rule" : "default_deny",
        Mode = "enforce",
        Host = "example.org",
        Port = 443,
        Method = "GET",
        Path = $"/{i}",
        Status = i % 2 == 0 ? 200 : 403,
        Tls = "inspect",
    }) + "\n");

    public static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        for (var i = 0; i < 400 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        return condition();
    }

    private sealed class NoPolicyUpdates : IControlHandler
    {
        public string? PolicyVersion => null;

        public ValueTask<PolicyUpdateResult> OnPolicyUpdateAsync(string version, string policyText, CancellationToken cancellationToken) =>
            ValueTask.FromResult(PolicyUpdateResult.Rejected(["not in this test"]));
    }
}
