using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace Airlock.Cli.Tests.Serve;

/// <summary><c>airlock serve</c>: the real command, in process for its refusals and as a process for a run.</summary>
public sealed partial class ServeCommandTests
{
    [Fact]
    public async Task A_config_with_mistakes_is_refused_with_every_position_and_exit_2()
    {
        using var config = new TempPolicy("listen: 127.0.0.1:0\ndriver: kubernets\nkubernetes:\n  namespce: agents\n");

        var run = await CliRun.Of("serve", "--config", config.Path);

        Assert.Equal(2, run.ExitCode);
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith($"{config.Path}:2:9: driver: 'kubernets' is not one of local, kubernetes; did you mean 'kubernetes'?", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith($"{config.Path}:4:3: kubernetes: unknown key 'namespce'; did you mean 'namespace'?", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--listen", "localhost")]
    [InlineData("--control-listen", "example.com:7070")]
    public async Task A_bad_address_is_a_usage_error(string option, string value)
    {
        var run = await CliRun.Of("serve", option, value);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"{option} '{value}' is not IP:PORT", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_kubernetes_driver_without_a_config_file_says_what_it_needs()
    {
        var run = await CliRun.Of("serve", "--driver", "kubernetes", "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("kubernetes.namespace and kubernetes.image", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task It_serves_health_and_readiness_and_stops_on_sigterm()
    {
        // The NativeAOT binary when the test script built one (what ships), else the JIT build.
        var aot = Environment.GetEnvironmentVariable("AIRLOCK_AOT_BINARY");
        var start = new ProcessStartInfo(aot ?? "dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        var state = Directory.CreateTempSubdirectory("airlock-serve-").FullName;
        var store = $"sqlite:{state}/airlock.db";
        var token = (await CliRun.Of("token", "create", "--scope", "admin", "--store", store)).Stdout.Trim();
        foreach (var arg in (aot is null ? [Path.Combine(AppContext.BaseDirectory, "airlock.dll")] : Array.Empty<string>()).Concat(["serve", "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0", "--store", store]))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["AIRLOCK_STATE_DIR"] = state;
        using var serve = Process.Start(start)!;
        var stderr = serve.StandardError.ReadToEndAsync();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var line = await serve.StandardOutput.ReadLineAsync(timeout.Token) ?? string.Empty;
            var api = Started().Match(line);
            Assert.True(api.Success, $"unexpected first line: {line}");

            using var http = new HttpClient { BaseAddress = new Uri(api.Groups[1].Value), Timeout = TimeSpan.FromSeconds(20) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("/v1/sandboxes", UriKind.Relative))).StatusCode);
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            var openApi = await http.GetAsync(new Uri("/openapi.json", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);
            Assert.Contains("/v1/sandboxes", await openApi.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal("{\"items\":[]}", await http.GetStringAsync(new Uri("/v1/sandboxes", UriKind.Relative)));

            Process.Start("kill", ["-TERM", serve.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            await serve.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, serve.ExitCode);
            Assert.Contains("airlock serve: stopping", await stderr, StringComparison.Ordinal);
        }
        finally
        {
            if (!serve.HasExited)
            {
                serve.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task A_token_is_printed_once_on_stdout_and_a_bad_ttl_is_a_usage_error()
    {
        var state = Directory.CreateTempSubdirectory("airlock-token-").FullName;
        var created = await CliRun.Of("token", "create", "--scope", "sessions", "--ttl", "2h", "--store", $"sqlite:{state}/airlock.db");
        var bad = await CliRun.Of("token", "create", "--scope", "admin", "--ttl", "2 hours", "--store", $"sqlite:{state}/airlock.db");
        var badScope = await CliRun.Of("token", "create", "--scope", "root", "--store", $"sqlite:{state}/airlock.db");

        Assert.Equal(0, created.ExitCode);
        Assert.Matches("^alk_[A-Za-z0-9]+_[A-Za-z0-9_-]+\n$", created.Stdout);
        Assert.Contains("scope sessions, expires", created.Stderr, StringComparison.Ordinal);
        Assert.Equal((1, string.Empty), (bad.ExitCode, bad.Stdout));
        Assert.Contains("--ttl '2 hours'", bad.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, badScope.ExitCode);
    }

    [Fact]
    public async Task A_generated_token_is_fresh_each_time_and_stored_nowhere()
    {
        var first = await CliRun.Of("token", "generate");
        var second = await CliRun.Of("token", "generate");

        Assert.Equal((0, 0), (first.ExitCode, second.ExitCode));
        Assert.Matches("^alk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}\n$", first.Stdout);
        Assert.NotEqual(first.Stdout, second.Stdout);
    }

    [GeneratedRegex(@"^airlock serve: api (http://127\.0\.0\.1:\d+/) control 127\.0\.0\.1:\d+ driver local$")]
    private static partial Regex Started();
}
