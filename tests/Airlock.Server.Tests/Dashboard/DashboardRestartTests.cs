using System.Net;
using System.Net.Sockets;
using System.Text;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;
using Airlock.Sandboxes.Local;
using Airlock.Server.Auth;
using Airlock.Server.Configuration;
using Airlock.Server.Hosting;
using Airlock.Server.Tests.Api;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenQA.Selenium;

namespace Airlock.Server.Tests.Dashboard;

/// <summary>
/// The page's live feed across a gateway restart: the gateway stops and starts again on the same address and store,
/// the page reconnects by itself, and every event (also those a proxy spooled while the gateway was away) is shown
/// exactly once.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DashboardRestartTests : IAsyncLifetime
{
    private const string SessionId = "sb-00000000dd";

    private DirectoryInfo _root = null!;
    private int _apiPort;
    private int _controlPort;
    private GatewayHost? _gateway;
    private HeadlessChromium? _chromium;

    public async Task InitializeAsync()
    {
        _root = Directory.CreateDirectory(Path.Combine("/var/tmp", "al-dsh-" + Guid.NewGuid().ToString("N")[..8]));
        (_apiPort, _controlPort) = (FreePort(), FreePort());
        _gateway = await StartGatewayAsync();
    }

    public async Task DisposeAsync()
    {
        _chromium?.Dispose();
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        _root.Delete(recursive: true);
    }

    [Fact]
    public async Task The_feed_reconnects_after_a_gateway_restart_and_shows_every_event_once()
    {
        var token = (await _gateway!.Store.CreateTokenAsync(TokenScope.Admin, null, "dashboard", CancellationToken.None)).Token;
        await using var proxy = new ControlChannel(
            ControlEndpoint.Tcp("127.0.0.1", _controlPort),
            new ControlChannelOptions { SessionId = SessionId, SpoolPath = Path.Combine(_root.FullName, "spool"), MaxBackoff = TimeSpan.FromMilliseconds(500) },
            new NoPolicyUpdates(),
            NullLogger<ControlChannel>.Instance);
        proxy.Start();
        _chromium = HeadlessChromium.Start();
        var page = _chromium.Driver;
        page.Navigate().GoToUrl(_gateway.ApiAddress);
        _chromium.WaitFor(d => d.FindElement(By.Id("token")) is { Displayed: true } e ? e : null, "the sign-in form").SendKeys(token);
        page.FindElement(By.Id("login-submit")).Click();
        _chromium.WaitUntil(d => d.FindElement(By.Id("status")).Text == "live", "the live feed");

        Send(proxy, 0, 3);
        _chromium.WaitUntil(d => Shown(d).Count == 3, "the first three events");

        await _gateway.DisposeAsync();
        _gateway = null;
        _chromium.WaitUntil(d => d.FindElement(By.Id("status")).Text == "reconnecting", "the feed reconnecting");
        Send(proxy, 3, 5); // spooled by the proxy while the gateway is away
        _gateway = await StartGatewayAsync();
        _chromium.WaitUntil(d => d.FindElement(By.Id("status")).Text == "live" && Shown(d).Count == 5, "the spooled events after the restart");
        Send(proxy, 5, 6);
        _chromium.WaitUntil(d => Shown(d).Count == 6, "a live event after the restart");

        var shown = Shown(page);
        Assert.Equal(["e5", "e4", "e3", "e2", "e1", "e0"], shown);
        Assert.Equal(
            ["deny", "allow", "deny", "allow", "deny", "allow"],
            page.FindElements(By.CssSelector("#feed tr.event")).Select(r => r.GetDomAttribute("data-decision")));
    }

    private static List<string> Shown(IWebDriver page) =>
        [.. page.FindElements(By.CssSelector("#feed tr.event")).Select(r => r.GetDomAttribute("data-id")!)];

    private static void Send(ControlChannel proxy, int from, int to)
    {
        for (var i = from; i < to; i++)
        {
            proxy.SendEvent(Encoding.UTF8.GetBytes(EventJson.ToJson(new EgressEvent
            {
                Type = EgressEventType.Request,
                Ts = DateTimeOffset.UtcNow,
                Session = SessionId,
                Id = $"e{i}",
                Conn = "c-1",
                Decision = i % 2 == 0 ? "allow" : "deny",
                Reason = i % 2 == 0 ? "allowed_by_rule" : "default_deny",
                Mode = "enforce",
                Host = "example.org",
                Port = 443,
                Tls = "inspect",
            }) + "\n"));
        }
    }

    private Task<GatewayHost> StartGatewayAsync() => GatewayHost.StartAsync(
        new ServerConfig { Listen = $"127.0.0.1:{_apiPort}", ControlListen = $"127.0.0.1:{_controlPort}", Store = $"sqlite:{_root.FullName}/airlock.db" },
        new GatewayHostOptions
        {
            LocalDriver = new LocalDriverOptions { StateDirectory = Path.Combine(_root.FullName, "s"), AirlockCommand = ["dotnet", Path.Combine(AppContext.BaseDirectory, "airlock.dll")] },
            Logging = logging => logging.SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.None),
        },
        CancellationToken.None);

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
