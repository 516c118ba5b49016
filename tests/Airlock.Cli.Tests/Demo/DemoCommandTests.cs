using System.Diagnostics;

namespace Airlock.Cli.Tests.Demo;

/// <summary>The README's first command: a real sandbox, the real proxy, local stand-in origins.</summary>
public class DemoCommandTests
{
    [Fact]
    public async Task Demo_runs_an_agent_in_a_sandbox_and_shows_allowed_denied_l7_denied_and_injected_requests()
    {
        var run = await RunProcessAsync("demo");

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("\"saw\":\"GET /repos/dotnet/runtime/issues\"", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"reason\":\"no_matching_http_rule\"", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"origin\":\"api.anthropic.com\",\"saw\":\"POST /v1/messages\",\"x-api-key\":\"sk-demo-...\"", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("airlock: denied CONNECT gist.github.com:443 (denied_by_rule)", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("airlock: denied CONNECT evil.example:443 (default_deny)", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("Couldn't connect to server", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("airlock: 5 allowed, 4 denied", run.Stderr, StringComparison.Ordinal);
    }

    /// <summary>The demo's sandboxed agent writes to the process's own stdout, so the CLI runs as a real process here.</summary>
    private static async Task<CliRun> RunProcessAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "airlock.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return new CliRun(process.ExitCode, await stdout, await stderr);
    }
}
