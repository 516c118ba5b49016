using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;
using Airlock.Sandboxes.Local;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Airlock.Sandboxes.Tests.Local;

/// <summary>
/// Local sandboxes whose proxies dial a real <see cref="ControlPlaneListener"/> on loopback: events reach its hub
/// under the sandbox id, policy updates and ask decisions come back, and a plane that is away gets the spool later.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LocalSandboxControlTests : IAsyncLifetime
{
    private const string OriginHost = "origin.test";

    private const string DenyAll = "version: 1\naddresses:\n  allow: [\"127.0.0.0/8\"]\n";

    private const string AllowOrigin = "version: 1\negress:\n  - allow: origin.test\naddresses:\n  allow: [\"127.0.0.0/8\"]\n";

    private const string AskOrigin = "version: 1\negress:\n  - ask: origin.test\n    timeout: 20s\naddresses:\n  allow: [\"127.0.0.0/8\"]\n";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);

    private readonly SessionEventHub _hub = new();
    private readonly List<ControlPlaneListener> _listeners = [];
    private DirectoryInfo _directory = null!;
    private string _state = null!;
    private WebApplication _origin = null!;
    private int _originPort;

    public async Task InitializeAsync()
    {
        _directory = Directory.CreateDirectory(Path.Combine("/var/tmp", "al-ctl-" + Guid.NewGuid().ToString("N")[..8]));
        _state = Path.Combine(_directory.FullName, "state");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _origin = builder.Build();
        _origin.MapGet("/", () => Results.Text("hello from the origin"));
        await _origin.StartAsync();
        _originPort = new Uri(_origin.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
    }

    public async Task DisposeAsync()
    {
        var driver = Driver(null);
        foreach (var sandbox in await driver.ListAsync(CancellationToken.None))
        {
            await driver.DeleteAsync(sandbox.Id, CancellationToken.None);
        }

        foreach (var listener in _listeners)
        {
            await listener.DisposeAsync();
        }

        await _origin.DisposeAsync();
        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Events_reach_the_control_plane_under_the_sandbox_id_and_a_policy_update_takes_effect()
    {
        var listener = Listen(0);
        var driver = Driver(Endpoint(listener));
        var info = await driver.CreateAsync(Spec(DenyAll), CancellationToken.None);

        var before = await CurlAsync(driver, info.Id);
        var denied = await WaitForAsync(info.Id, e => e.Host == OriginHost && e.Decision == "deny");
        var update = await listener.UpdatePolicyAsync(info.Id, "v2", AllowOrigin, Patience, CancellationToken.None);
        var after = await CurlAsync(driver, info.Id);
        var allowed = await WaitForAsync(info.Id, e => e.Host == OriginHost && e.Decision == "allow");
        var applied = await WaitForAsync(info.Id, e => e.Type == EgressEventType.Policy);
        var inFile = await InFileAsync(driver, info.Id, [denied.Id, allowed.Id, applied.Id]);

        Assert.Equal("403", before.Trim());
        Assert.Equal(info.Id, denied.Session);
        Assert.Equal("default_deny", denied.Reason);
        Assert.True(update.Ok, string.Join("; ", update.Errors));
        Assert.Equal("200 hello from the origin", after.Trim());
        Assert.Contains("policy v2 applied", applied.Detail, StringComparison.Ordinal);
        Assert.True(inFile, "the events file lacks events the control plane got");
    }

    [Fact]
    public async Task An_ask_is_decided_by_the_control_plane()
    {
        var listener = Listen(0);
        var driver = Driver(Endpoint(listener));
        var info = await driver.CreateAsync(Spec(AskOrigin), CancellationToken.None);
        var asked = new TaskCompletionSource<ProxyAsk>(TaskCreationOptions.RunContinuationsAsynchronously);
        _hub.Asked += ask =>
        {
            asked.TrySetResult(ask);
            listener.TrySendDecision(ask.Session, ask.AskId, new AskAnswer(AskOutcome.Allow, AskScope.Once));
        };

        var output = await CurlAsync(driver, info.Id);
        var ask = await asked.Task.WaitAsync(Patience);

        Assert.Equal((info.Id, OriginHost), (ask.Session, ask.Host));
        Assert.Equal("200 hello from the origin", output.Trim());
        await WaitForAsync(info.Id, e => e.Host == OriginHost && e.Reason == "ask_approved");
    }

    [Fact]
    public async Task A_sandbox_works_while_the_control_plane_is_away_and_its_spool_arrives_when_the_plane_starts()
    {
        var port = FreePort();
        var driver = Driver(ControlEndpoint.Tcp("127.0.0.1", port));
        var info = await driver.CreateAsync(Spec(DenyAll), CancellationToken.None);

        var output = await CurlAsync(driver, info.Id);
        var inFile = await PollAsync(() => ReadEvents(driver, info.Id).Any(e => e.Host == OriginHost && e.Decision == "deny"));
        var spool = Path.Combine(_state, "sandboxes", info.Id, LocalSandboxSupervisor.ControlSpoolName);
        var spooled = await PollAsync(() => File.Exists(spool) && new FileInfo(spool).Length > 0);
        var log = await File.ReadAllTextAsync(Path.Combine(_state, "sandboxes", info.Id, "supervisor.log"));
        Listen(port);
        var arrived = await WaitForAsync(info.Id, e => e.Host == OriginHost && e.Decision == "deny");

        Assert.Equal("403", output.Trim());
        Assert.True(inFile, "the deny is not in the events file");
        Assert.True(spooled, "nothing was spooled in the sandbox's state directory");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(spool));
        Assert.Contains($"Cannot reach the control plane at tcp:127.0.0.1:{port}", log, StringComparison.Ordinal);
        Assert.True(await InFileAsync(driver, info.Id, [arrived.Id]), "the event that arrived from the spool is not the one in the events file");
    }

    private LocalSandboxDriver Driver(ControlEndpoint? control) => new(new LocalDriverOptions
    {
        StateDirectory = _state,
        AirlockCommand = ["dotnet", Path.Combine(AppContext.BaseDirectory, "airlock.dll")],
        Control = control,
    });

    private ControlPlaneListener Listen(int port)
    {
        var listener = ControlPlaneListener.Start(new IPEndPoint(IPAddress.Loopback, port), _hub);
        _listeners.Add(listener);
        return listener;
    }

    private static ControlEndpoint Endpoint(ControlPlaneListener listener) =>
        ControlEndpoint.Tcp("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint).Port);

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private SandboxSpec Spec(string policy) => new()
    {
        PolicyText = policy,
        PolicySource = "inline.yaml",
        WorkDirectory = Directory.CreateDirectory(Path.Combine(_directory.FullName, "work-" + Guid.NewGuid().ToString("N")[..6])).FullName,
        Environment = ImmutableDictionary<string, string>.Empty,
        Resolve = new Dictionary<string, IPAddress[]> { [OriginHost] = [IPAddress.Loopback] },
        ResolvePorts = new Dictionary<string, int> { [OriginHost] = _originPort },
    };

    /// <summary>A plain HTTP request from inside the sandbox (through its proxy): the status and the body.</summary>
    private static async Task<string> CurlAsync(LocalSandboxDriver driver, string id)
    {
        using var stdout = new MemoryStream();
        await driver.ExecAsync(
            id,
            new ExecRequest { Command = ["curl", "-s", "--max-time", "30", "-o", "/tmp/body", "-w", "%{http_code}", $"http://{OriginHost}/"] },
            new ExecStreams(null, stdout, Stream.Null),
            CancellationToken.None);
        var status = Encoding.UTF8.GetString(stdout.ToArray());
        using var body = new MemoryStream();
        await driver.DownloadAsync(id, "/tmp/body", body, CancellationToken.None);
        return status == "200" ? status + " " + Encoding.UTF8.GetString(body.ToArray()) : status;
    }

    /// <summary>The first event of the session that arrives through the hub and matches.</summary>
    private async Task<EgressEvent> WaitForAsync(string session, Func<EgressEvent, bool> match)
    {
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            await foreach (var egressEvent in _hub.EventsAsync(session, follow: true, timeout.Token))
            {
                if (match(egressEvent))
                {
                    return egressEvent;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Reported below.
        }

        var seen = _hub.EventsAsync(session, follow: false, CancellationToken.None).ToBlockingEnumerable().Select(e => $"{e.Type} {e.Host} {e.Decision} {e.Reason}");
        throw new Xunit.Sdk.XunitException($"no matching event for {session} through the control plane; it got: {string.Join(", ", seen)}");
    }

    private static List<EgressEvent> ReadEvents(LocalSandboxDriver driver, string id) =>
        [.. driver.EventsAsync(id, follow: false, CancellationToken.None).ToBlockingEnumerable()];

    /// <summary>Whether the sandbox's events file comes to hold all of these event ids (it is written beside the channel, not after it).</summary>
    private static Task<bool> InFileAsync(LocalSandboxDriver driver, string id, string[] ids) =>
        PollAsync(() => ids.Except(ReadEvents(driver, id).Select(e => e.Id)).Any() is false);

    private static async Task<bool> PollAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100; i++)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }
}
