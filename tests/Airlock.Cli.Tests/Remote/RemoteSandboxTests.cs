using System.Security.Cryptography;
using System.Text.Json;

namespace Airlock.Cli.Tests.Remote;

/// <summary><c>airlock sandbox …</c> against a real gateway (AIRLOCK_SERVER/AIRLOCK_TOKEN or --server/--token) with real local sandboxes.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RemoteSandboxTests(RemoteGateway gateway) : IClassFixture<RemoteGateway>
{
    [Fact]
    public async Task A_sandbox_is_created_with_progress_shown_got_listed_run_in_copied_to_and_from_and_removed()
    {
        using var policy = new TempPolicy(RemoteGateway.DenyAll);
        var create = await gateway.RunAsync("sandbox", "create", "--policy", policy.Path, "--env", "GREETING=hi", "--ttl", "1h", "--label", "team=cli");

        Assert.True(create.ExitCode == 0, create.ToString());
        var id = create.Stdout.Trim();
        Assert.Matches("^sb-[a-z0-9]+$", id);
        Assert.Contains($"airlock: sandbox {id} created; waiting for it to be ready", create.Stderr, StringComparison.Ordinal);
        Assert.Contains($"airlock: sandbox {id} ready after", create.Stderr, StringComparison.Ordinal);

        var got = await gateway.RunAsync("sandbox", "get", id, "--output", "json");
        var view = JsonDocument.Parse(got.Stdout).RootElement;
        Assert.Equal((0, "ready", "local", "cli"), (got.ExitCode, view.GetProperty("state").GetString(), view.GetProperty("driver").GetString(), view.GetProperty("labels").GetProperty("team").GetString()));
        Assert.InRange(view.GetProperty("expires_at").GetDateTimeOffset() - view.GetProperty("created_at").GetDateTimeOffset(), TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));
        var text = await gateway.RunAsync("sandbox", "get", id);
        Assert.Contains("state:", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("team=cli", text.Stdout, StringComparison.Ordinal);

        var listed = await gateway.RunAsync("sandbox", "ls", "--output", "json");
        var table = await gateway.RunAsync("sandbox", "ls");
        Assert.Contains(JsonDocument.Parse(listed.Stdout).RootElement.EnumerateArray(), s => s.GetProperty("id").GetString() == id && s.GetProperty("state").GetString() == "ready");
        Assert.StartsWith("ID", table.Stdout, StringComparison.Ordinal);
        Assert.Contains(table.Stdout.Split('\n'), line => line.StartsWith(id, StringComparison.Ordinal) && line.Contains("ready", StringComparison.Ordinal) && line.Contains("team=cli", StringComparison.Ordinal));

        var exec = await gateway.RunAsync("sandbox", "exec", id, "--", "sh", "-c", "echo \"$GREETING\"; echo oops >&2; exit 7");
        Assert.Equal((7, "hi\n", "oops\n"), (exec.ExitCode, exec.Stdout, exec.Stderr));
        var execJson = await gateway.RunAsync("sandbox", "exec", "--output", "json", id, "--", "sh", "-c", "printf out; printf err >&2; exit 3");
        var result = JsonDocument.Parse(execJson.Stdout).RootElement;
        Assert.Equal((3, "out", "err", 3), (execJson.ExitCode, result.GetProperty("stdout").GetString(), result.GetProperty("stderr").GetString(), result.GetProperty("exit").GetInt32()));

        var local = Path.Combine(Path.GetTempPath(), $"airlock-cli-{Guid.NewGuid():N}");
        var content = RandomNumberGenerator.GetBytes(500_000);
        await File.WriteAllBytesAsync(local + ".in", content);
        try
        {
            var upload = await gateway.RunAsync("sandbox", "cp", local + ".in", $"{id}:blob.bin");
            var download = await gateway.RunAsync("sandbox", "cp", "--output", "json", $"{id}:blob.bin", local + ".out");
            var inside = await gateway.RunAsync("sandbox", "exec", id, "--", "sha256sum", "blob.bin");
            var missing = await gateway.RunAsync("sandbox", "cp", $"{id}:missing.bin", local + ".missing");

            Assert.True(upload.ExitCode == 0, upload.ToString());
            Assert.True(download.ExitCode == 0, download.ToString());
            Assert.Equal(content, await File.ReadAllBytesAsync(local + ".out"));
            Assert.Equal(content.Length, JsonDocument.Parse(download.Stdout).RootElement.GetProperty("bytes").GetInt64());
            Assert.StartsWith(Convert.ToHexStringLower(SHA256.HashData(content)), inside.Stdout, StringComparison.Ordinal);
            Assert.Equal(125, missing.ExitCode);
            Assert.Contains("404", missing.Stderr, StringComparison.Ordinal);
            Assert.False(File.Exists(local + ".missing"));
            Assert.False(File.Exists(local + ".missing.airlock-partial"));
        }
        finally
        {
            File.Delete(local + ".in");
            File.Delete(local + ".out");
        }

        var removed = await gateway.RunAsync("sandbox", "rm", id);
        var afterwards = await gateway.RunAsync("sandbox", "get", id, "--output", "json");
        var execAfter = await gateway.RunAsync("sandbox", "exec", id, "--", "true");

        Assert.Equal((0, id), (removed.ExitCode, removed.Stdout.Trim()));
        Assert.Equal("deleted", JsonDocument.Parse(afterwards.Stdout).RootElement.GetProperty("state").GetString());
        Assert.DoesNotContain(JsonDocument.Parse((await gateway.RunAsync("sandbox", "ls", "--output", "json")).Stdout).RootElement.EnumerateArray(), s => s.GetProperty("id").GetString() == id);
        Assert.Contains(JsonDocument.Parse((await gateway.RunAsync("sandbox", "ls", "--all", "--output", "json")).Stdout).RootElement.EnumerateArray(), s => s.GetProperty("id").GetString() == id);
        Assert.Equal(125, execAfter.ExitCode);
        Assert.Contains("409", execAfter.Stderr, StringComparison.Ordinal);
        Assert.Contains($"sandbox {id} is deleted", execAfter.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_timed_out_command_exits_124_with_the_reason_and_flags_work_like_the_environment()
    {
        var id = await gateway.CreateSandboxAsync(RemoteGateway.DenyAll);

        var timedOut = await gateway.RunAsync("sandbox", "exec", "--timeout", "2s", id, "--", "sleep", "60");
        var flags = await CliRun.With(new Dictionary<string, string>(), CancellationToken.None, "sandbox", "exec", "--server", gateway.Server, "--token", gateway.SessionsToken, id, "--", "echo", "flags");

        Assert.Equal(124, timedOut.ExitCode);
        Assert.Contains("timed out after 2s", timedOut.Stderr, StringComparison.Ordinal);
        Assert.Equal((0, "flags\n"), (flags.ExitCode, flags.Stdout));
    }

    [Fact]
    public async Task An_unreachable_gateway_a_bad_token_and_a_missing_sandbox_are_clear_errors()
    {
        var unreachable = await CliRun.With(new Dictionary<string, string>(), CancellationToken.None, "sandbox", "ls", "--server", $"http://127.0.0.1:{RemoteGateway.ClosedPort()}", "--token", "alk_x_y");
        var badToken = await gateway.RunAsTokenAsync("alk_abc_forged", "sandbox", "ls");
        var missing = await gateway.RunAsync("sandbox", "get", "sb-0000000000");
        var missingJson = await gateway.RunAsync("sandbox", "get", "sb-0000000000", "--output", "json");
        var noToken = await CliRun.With(new Dictionary<string, string> { ["AIRLOCK_SERVER"] = gateway.Server }, CancellationToken.None, "sandbox", "ls");

        Assert.Equal(69, unreachable.ExitCode);
        Assert.Contains("cannot reach the gateway at http://127.0.0.1:", unreachable.Stderr, StringComparison.Ordinal);
        Assert.Equal(77, badToken.ExitCode);
        Assert.Contains("401", badToken.Stderr, StringComparison.Ordinal);
        Assert.Contains("unknown, expired or revoked", badToken.Stderr, StringComparison.Ordinal);
        Assert.Equal(125, missing.ExitCode);
        Assert.Contains("404", missing.Stderr, StringComparison.Ordinal);
        Assert.Contains("sb-0000000000", missing.Stderr, StringComparison.Ordinal);
        var error = JsonDocument.Parse(missingJson.Stdout).RootElement.GetProperty("error");
        Assert.Equal(404, error.GetProperty("status").GetInt32());
        Assert.Contains("sb-0000000000", error.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, noToken.ExitCode);
        Assert.Contains("AIRLOCK_TOKEN", noToken.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_refuses_local_only_options_and_reports_an_invalid_policy_at_its_place_in_the_file()
    {
        using var invalid = new TempPolicy("version: 1\negress:\n  - alow: example.com\n");
        using var valid = new TempPolicy(RemoteGateway.DenyAll);

        var badPolicy = await gateway.RunAsync("sandbox", "create", "--policy", invalid.Path);
        var workdir = await gateway.RunAsync("sandbox", "create", "--policy", valid.Path, "--workdir", "/tmp");
        var both = await gateway.RunAsync("sandbox", "create", "--policy", valid.Path, "--policy-name", "x");
        var labelLocally = await CliRun.With(new Dictionary<string, string>(), CancellationToken.None, "sandbox", "create", "--policy", valid.Path, "--label", "a=b");

        Assert.Equal(2, badPolicy.ExitCode);
        Assert.Contains($"{invalid.Path}:3:5:", badPolicy.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, workdir.ExitCode);
        Assert.Contains("--workdir", workdir.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, both.ExitCode);
        Assert.Equal(1, labelLocally.ExitCode);
        Assert.Contains("--label needs a gateway", labelLocally.Stderr, StringComparison.Ordinal);
    }
}
