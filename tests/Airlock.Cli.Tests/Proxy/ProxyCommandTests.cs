using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Airlock.Cli.Tests.Proxy;

/// <summary><c>airlock proxy</c> as a real process: start, refuse through it with curl, stop on SIGTERM.</summary>
public partial class ProxyCommandTests
{
    [Fact]
    public async Task The_proxy_runs_refuses_records_and_stops_cleanly_on_SIGTERM()
    {
        var directory = Directory.CreateTempSubdirectory("airlock-cli-proxy-").FullName;
        var policy = Path.Combine(directory, "p.yaml");
        await File.WriteAllTextAsync(policy, "version: 1\negress:\n  - allow: api.example.com\n");
        var events = Path.Combine(directory, "events.ndjson");
        var caCert = Path.Combine(directory, "ca.pem");

        using var proxy = Start("proxy", "--policy", policy, "--listen", "127.0.0.1:0", "--events", events, "--ca-cert-out", caCert, "--session", "cli-test");
        var port = await ReadPortAsync(proxy);

        var connect = await RunAsync("curl", "-sS", "--max-time", "10", "--proxy", $"http://127.0.0.1:{port}", "https://evil.example/", "-o", "/dev/null", "-w", "%{http_connect}");
        var plain = await RunAsync("curl", "-sS", "--max-time", "10", "--proxy", $"http://127.0.0.1:{port}", "http://evil.example/x");
        await RunAsync("kill", "-TERM", proxy.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(proxy.WaitForExit(TimeSpan.FromSeconds(15)), "the proxy did not stop on SIGTERM");

        Assert.Equal("403", connect.Stdout.Trim());
        using (var body = JsonDocument.Parse(plain.Stdout))
        {
            Assert.Equal("default_deny", body.RootElement.GetProperty("reason").GetString());
        }

        Assert.Equal(0, proxy.ExitCode);
        var lines = await File.ReadAllLinesAsync(events);
        var decisions = lines.Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.GetProperty("type").GetString() is "connection" or "request").ToList();
        Assert.Equal(2, decisions.Count);
        Assert.All(decisions, e => Assert.Equal("cli-test", e.GetProperty("session").GetString()));
        var pem = await File.ReadAllTextAsync(caCert);
        Assert.Contains("BEGIN CERTIFICATE", pem, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", pem, StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task An_invalid_policy_exits_2_before_listening()
    {
        var policy = Path.GetTempFileName();
        await File.WriteAllTextAsync(policy, "version: 1\negress:\n  - alow: x.example.com\n");

        var run = await CliRun.Of("proxy", "--policy", policy, "--listen", "127.0.0.1:0");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(":3:5: error: unknown key 'alow'", run.Stderr, StringComparison.Ordinal);
        File.Delete(policy);
    }

    [Theory]
    [InlineData("--secret", "TOKEN=inline-value", "never inline")]
    [InlineData("--resolve", "api.example.com=not-an-ip", "is not HOST=IP")]
    [InlineData("--listen", "localhost:3128", "not an IP address")]
    [InlineData("--control", "ftp://x", "")]
    public async Task Bad_options_are_usage_errors(string option, string value, string fragment)
    {
        var run = await CliRun.Of("proxy", "--policy", Repository.Example("audit.yaml"), option, value);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains(fragment, run.Stderr, StringComparison.Ordinal);
    }

    private static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "airlock.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start)!;
    }

    private static async Task<int> ReadPortAsync(Process proxy)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await proxy.StandardError.ReadLineAsync(timeout.Token) is { } line)
        {
            if (ListeningOn().Match(line) is { Success: true } match)
            {
                return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException("the proxy exited before listening");
    }

    private static async Task<(int ExitCode, string Stdout)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, stdout);
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningOn();
}
