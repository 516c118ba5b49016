using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Airlock.Proxy.Tests.Infrastructure;

namespace Airlock.Proxy.Tests.Functional;

/// <summary>
/// The NativeAOT build of <c>airlock proxy</c> (the one the sandboxes start) intercepting and forwarding for
/// real. test.sh publishes it and names it in <c>AIRLOCK_AOT_BINARY</c>; without that the test is skipped.
/// </summary>
public partial class NativeAotProxyTests(FakeOriginFixture fixture) : IClassFixture<FakeOriginFixture>
{
    [SkippableFact]
    public async Task The_native_binary_intercepts_forwards_and_injects()
    {
        var binary = Environment.GetEnvironmentVariable("AIRLOCK_AOT_BINARY");
        Skip.If(string.IsNullOrEmpty(binary) || !File.Exists(binary), "AIRLOCK_AOT_BINARY is not set (test.sh sets it after the NativeAOT publish)");
        var directory = Directory.CreateTempSubdirectory("airlock-aot-").FullName;
        var origin = fixture.Origin;
        await File.WriteAllTextAsync(Path.Combine(directory, "p.yaml"), string.Create(CultureInfo.InvariantCulture, $"""
            version: 1
            egress:
              - allow: api.test
                ports: [{origin.HttpsPort}]
                inject:
                  - header: Authorization
                    value: "Bearer {"{{"}secret:TOKEN{"}}"}"
              - allow: a.origin.test
                ports: [{origin.HttpsPort}]
                tls: passthrough
            addresses:
              allow: ["127.0.0.0/8"]
            """));
        await File.WriteAllTextAsync(Path.Combine(directory, "token"), "aot-secret-value\n");
        var start = new ProcessStartInfo(binary!) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[]
        {
            "proxy", "--policy", Path.Combine(directory, "p.yaml"), "--listen", "127.0.0.1:0",
            "--ca-cert-out", Path.Combine(directory, "ca.pem"), "--events", Path.Combine(directory, "events.ndjson"),
            "--resolve", $"api.test={origin.Address}", "--resolve", $"a.origin.test={origin.Address}",
            "--upstream-ca", TestCertificates.RootPemPath, "--secret", $"TOKEN=@{Path.Combine(directory, "token")}",
        })
        {
            start.ArgumentList.Add(arg);
        }

        using var proxy = Process.Start(start)!;
        try
        {
            var port = await ReadPortAsync(proxy);
            var proxyUrl = $"http://127.0.0.1:{port}";

            var intercepted = await Curl.RunAsync("--proxy", proxyUrl, "--cacert", Path.Combine(directory, "ca.pem"), $"https://api.test:{origin.HttpsPort}/echo");
            var passthrough = await Curl.RunAsync("--proxy", proxyUrl, "--cacert", TestCertificates.RootPemPath, $"https://a.origin.test:{origin.HttpsPort}/echo");

            Assert.Equal((200, "2"), (intercepted.StatusCode, intercepted.HttpVersion));
            Assert.Contains("Bearer aot-secret-value", intercepted.Stdout, StringComparison.Ordinal);
            Assert.Equal(200, passthrough.StatusCode);
        }
        finally
        {
            proxy.Kill();
            await proxy.WaitForExitAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<int> ReadPortAsync(Process proxy)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await proxy.StandardError.ReadLineAsync(timeout.Token) is { } line)
        {
            if (ListeningOn().Match(line) is { Success: true } match)
            {
                return int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException("the proxy exited before listening");
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningOn();
}
