using System.Net;
using System.Text.Json;
using Airlock.Server.Auth;
using Airlock.Server.Tests.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenQA.Selenium;

namespace Airlock.Server.Tests.Dashboard;

/// <summary>
/// A real gateway (<see cref="GatewayTestBase"/>), a loopback origin the sandboxes may be allowed to reach, and the
/// real headless Chromium on the gateway's dashboard.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public abstract class DashboardTestBase : GatewayTestBase, IAsyncLifetime
{
    protected const string OriginBody = "hello from the origin";

    private WebApplication _origin = null!;
    private HeadlessChromium? _chromium;

    /// <summary>The loopback origin's port.</summary>
    protected int OriginPort { get; private set; }

    /// <summary>An admin token's text, to type into the page.</summary>
    protected string AdminToken { get; private set; } = null!;

    internal HeadlessChromium Chromium => _chromium ??= HeadlessChromium.Start();

    protected IWebDriver Page => Chromium.Driver;

    public new async Task InitializeAsync()
    {
        await base.InitializeAsync();
        AdminToken = (await Host.Store.CreateTokenAsync(TokenScope.Admin, null, "dashboard", CancellationToken.None)).Token;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _origin = builder.Build();
        _origin.MapGet("/", () => Results.Text(OriginBody));
        await _origin.StartAsync();
        OriginPort = new Uri(_origin.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
    }

    public new async Task DisposeAsync()
    {
        _chromium?.Dispose();
        await _origin.DisposeAsync();
        await base.DisposeAsync();
    }

    /// <summary>Opens the dashboard and signs in with <paramref name="token"/> (the admin token when null).</summary>
    protected void SignIn(string? token = null)
    {
        Page.Navigate().GoToUrl(Host.ApiAddress);
        var field = Chromium.WaitFor(d => d.FindElement(By.Id("token")) is { Displayed: true } e ? e : null, "the sign-in form");
        field.SendKeys(token ?? AdminToken);
        Page.FindElement(By.Id("login-submit")).Click();
    }

    /// <summary>Signs in and waits for the dashboard and its live event feed.</summary>
    protected void SignInAndWaitLive()
    {
        SignIn();
        Chromium.WaitUntil(d => d.FindElement(By.Id("status")).Text == "live", "the live event feed connected");
    }

    /// <summary>Creates a sandbox through the API (as the admin) and returns its id.</summary>
    protected async Task<string> CreateSandboxAsync(string policy, string labels = "{}")
    {
        var created = await Admin.PostAsync(new Uri("/v1/sandboxes", UriKind.Relative), Body($"{{\"policy\":{JsonSerializer.Serialize(policy)},\"labels\":{labels}}}"));
        var body = await JsonAsync(created);
        Assert.True(created.StatusCode == HttpStatusCode.Created, body.ToString());
        return body.GetProperty("id").GetString()!;
    }

    /// <summary>Runs a shell command in the sandbox through the API; its exit code and standard output.</summary>
    protected async Task<(int? Exit, string Stdout)> ExecAsync(string id, string script)
    {
        var response = await Admin.PostAsync(
            new Uri($"/v1/sandboxes/{id}/exec?buffered=true", UriKind.Relative),
            Body($"{{\"command\":[\"sh\",\"-c\",{JsonSerializer.Serialize(script)}],\"timeout\":\"90s\"}}"));
        var body = await JsonAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        var exit = body.GetProperty("exit");
        return (exit.ValueKind == JsonValueKind.Number ? exit.GetInt32() : null, body.GetProperty("stdout").GetString()!);
    }

    /// <summary>A curl through the sandbox's proxy (also for loopback addresses, which NO_PROXY would send direct): the HTTP status, then the body.</summary>
    protected static string Curl(string url) =>
        $"curl -s --max-time 80 --noproxy '' -x \"$HTTP_PROXY\" -o /tmp/body -w '%{{http_code}}' '{url}'; echo; cat /tmp/body";
}
