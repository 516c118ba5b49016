using System.Net;
using System.Text.Json;
using Airlock.Server.Auth;
using Airlock.Server.Tests.Api;
using OpenQA.Selenium;

namespace Airlock.Server.Tests.Dashboard;

/// <summary>
/// A real gateway (<see cref="GatewayTestBase"/>), a <see cref="LoopbackOrigin"/> the sandboxes may be allowed to
/// reach, and the real headless Chromium on the gateway's dashboard.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public abstract class DashboardTestBase : GatewayTestBase, IAsyncLifetime
{
    private HeadlessChromium? _chromium;

    /// <summary>An HTTP origin on 127.0.0.2 that answers <c>hello {path}</c>.</summary>
    protected LoopbackOrigin Origin { get; private set; } = null!;

    /// <summary>An admin token's text, to type into the page.</summary>
    protected string AdminToken { get; private set; } = null!;

    internal HeadlessChromium Chromium => _chromium ??= HeadlessChromium.Start();

    protected IWebDriver Page => Chromium.Driver;

    public new async Task InitializeAsync()
    {
        await base.InitializeAsync();
        AdminToken = (await Host.Store.CreateTokenAsync(TokenScope.Admin, null, "dashboard", CancellationToken.None)).Token;
        Origin = await LoopbackOrigin.StartAsync();
    }

    public override async Task DisposeAsync()
    {
        _chromium?.Dispose();
        await Origin.DisposeAsync();
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

    /// <summary>A curl in the sandbox, through its proxy: the HTTP status, a line break, then the body.</summary>
    protected static string Curl(string url) =>
        $"curl -s --max-time 80 -o /tmp/body -w '%{{http_code}}' '{url}'; echo; cat /tmp/body";
}
