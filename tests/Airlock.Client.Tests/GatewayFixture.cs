using Airlock.Server.Auth;
using Airlock.Server.Hosting;

namespace Airlock.Client.Tests;

/// <summary>One real gateway (and its tokens) shared by a test class whose tests each make their own sandboxes.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GatewayFixture : IAsyncLifetime
{
    private DirectoryInfo _dir = null!;

    public GatewayHost Host { get; private set; } = null!;

    public AirlockClient Admin { get; private set; } = null!;

    public AirlockClient Sessions { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _dir = TestGateway.NewDirectory();
        Host = await TestGateway.StartAsync(_dir);
        Admin = new AirlockClient(Host.ApiAddress, await TestGateway.TokenAsync(Host, TokenScope.Admin));
        Sessions = new AirlockClient(Host.ApiAddress, await TestGateway.TokenAsync(Host, TokenScope.Sessions));
    }

    public async Task DisposeAsync()
    {
        Admin.Dispose();
        Sessions.Dispose();
        await TestGateway.StopAsync(Host);
        _dir.Delete(recursive: true);
    }

    /// <summary>
    /// <c>curl</c> inside the sandbox to <paramref name="url"/>, through its proxy: the HTTP status it got (<c>403</c> a
    /// policy denial, <c>502</c> allowed but nobody listening, <c>200</c>).
    /// </summary>
    public static async Task<string> CurlAsync(AirlockClient client, string sandbox, string url)
    {
        var result = await client.ExecAsync(sandbox, new ExecCommandRequest
        {
            Command = ["curl", "-s", "--max-time", "90", "-o", "/dev/null", "-w", "%{http_code}", url],
            Timeout = "120s",
        });
        return result.Stdout.Trim();
    }

    /// <summary>A policy that asks for 127.0.0.2 (loopback outside the sandbox's NO_PROXY) and may then dial it.</summary>
    public static string AskPolicy(string timeout) =>
        $"version: 1\negress:\n  - name: ask-local\n    ask: 127.0.0.2\n    timeout: {timeout}\naddresses:\n  allow: [\"127.0.0.0/8\"]\n";

    /// <summary>A port on 127.0.0.2 where nothing listens: an allowed request gets 502 from the proxy, a denied one 403.</summary>
    public static int ClosedPort() => TestGateway.FreePort();
}
