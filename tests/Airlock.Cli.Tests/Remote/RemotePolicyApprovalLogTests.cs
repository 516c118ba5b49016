using System.Text;
using System.Text.Json;

namespace Airlock.Cli.Tests.Remote;

/// <summary><c>airlock policy push|apply</c>, <c>approvals</c> and <c>sandbox logs</c> against a real gateway, with real sandboxes making real requests.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RemotePolicyApprovalLogTests(RemoteGateway gateway) : IClassFixture<RemoteGateway>
{
    [Fact]
    public async Task Policies_are_pushed_as_versions_and_applied_to_a_running_sandbox_whose_proxy_enforces_them()
    {
        var port = RemoteGateway.ClosedPort();
        var url = $"http://127.0.0.1:{port}/".Replace("127.0.0.1", "127.0.0.2", StringComparison.Ordinal);
        using var deny = new TempPolicy(RemoteGateway.DenyAll);
        using var allow = new TempPolicy(RemoteGateway.Allow127);
        using var invalid = new TempPolicy("version: 1\negress:\n  - alow: x\n");

        var first = await gateway.RunAsTokenAsync(gateway.AdminToken, "policy", "push", "cli-deny", deny.Path);
        var second = await gateway.RunAsTokenAsync(gateway.AdminToken, "policy", "push", "--output", "json", "cli-deny", deny.Path);
        var refused = await gateway.RunAsTokenAsync(gateway.AdminToken, "policy", "push", "cli-deny", invalid.Path);
        var notAdmin = await gateway.RunAsync("policy", "push", "cli-other", deny.Path);

        Assert.Equal((0, "cli-deny version 1\n"), (first.ExitCode, first.Stdout));
        Assert.Equal(2, JsonDocument.Parse(second.Stdout).RootElement.GetProperty("version").GetInt32());
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains($"{invalid.Path}:3:5:", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal(77, notAdmin.ExitCode);
        Assert.Contains("403", notAdmin.Stderr, StringComparison.Ordinal);

        var id = (await gateway.RunAsync("sandbox", "create", "--policy-name", "cli-deny")).Stdout.Trim();
        Assert.StartsWith("sb-", id, StringComparison.Ordinal);
        var before = await gateway.CurlAsync(id, url);
        var inline = await gateway.RunAsync("policy", "apply", "--output", "json", id, allow.Path);
        var allowed = await gateway.CurlAsync(id, url);
        var stored = await gateway.RunAsync("policy", "apply", id, "--name", "cli-deny", "--version", "1");
        var deniedAgain = await gateway.CurlAsync(id, url);
        var badApply = await gateway.RunAsync("policy", "apply", id, invalid.Path);

        Assert.Equal("403", before);
        Assert.True(inline.ExitCode == 0, inline.ToString());
        var view = JsonDocument.Parse(inline.Stdout).RootElement;
        Assert.Equal(id, view.GetProperty("policy_name").GetString());
        Assert.Equal(view.GetProperty("policy_version").GetInt32(), view.GetProperty("active_policy_version").GetInt32());
        Assert.Equal("502", allowed);
        Assert.Equal((0, $"{id}: policy cli-deny version 1 active\n"), (stored.ExitCode, stored.Stdout));
        Assert.Equal("403", deniedAgain);
        Assert.Equal(2, badApply.ExitCode);
        Assert.Contains($"{invalid.Path}:3:5:", badApply.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Held_requests_are_listed_approved_once_or_for_the_session_and_denied()
    {
        var port = RemoteGateway.ClosedPort();
        var id = await gateway.CreateSandboxAsync(RemoteGateway.Ask127);

        var firstCurl = gateway.CurlAsync(id, $"http://127.0.0.2:{port}/one");
        var pending = await gateway.UntilAsync(items => items.GetArrayLength() > 0, "approvals", "ls", "--sandbox", id, "--output", "json");
        var first = pending[0];
        var firstId = first.GetProperty("id").GetString()!;
        var table = await gateway.RunAsync("approvals", "ls");
        var approved = await gateway.RunAsync("approvals", "approve", firstId);
        var again = await gateway.RunAsync("approvals", "deny", firstId, "--output", "json");

        Assert.Equal(("127.0.0.2", port, "ask-local", "pending", id), (first.GetProperty("host").GetString(), first.GetProperty("port").GetInt32(), first.GetProperty("rule").GetString(), first.GetProperty("state").GetString(), first.GetProperty("session").GetString()));
        Assert.Contains(table.Stdout.Split('\n'), line => line.StartsWith(firstId, StringComparison.Ordinal) && line.Contains($"127.0.0.2:{port}", StringComparison.Ordinal));
        Assert.Equal((0, $"{firstId}: approved 127.0.0.2:{port} for sandbox {id}\n"), (approved.ExitCode, approved.Stdout));
        Assert.Equal("502", await firstCurl);
        Assert.Equal(125, again.ExitCode);
        Assert.Contains("409", again.Stderr, StringComparison.Ordinal);
        Assert.Equal(409, JsonDocument.Parse(again.Stdout).RootElement.GetProperty("error").GetProperty("status").GetInt32());

        var secondCurl = gateway.CurlAsync(id, $"http://127.0.0.2:{port}/two");
        var second = (await gateway.UntilAsync(items => items.EnumerateArray().Any(a => a.GetProperty("id").GetString() != firstId), "approvals", "ls", "--sandbox", id, "--output", "json"))
            .EnumerateArray().First(a => a.GetProperty("id").GetString() != firstId).GetProperty("id").GetString()!;
        var denied = await gateway.RunAsync("approvals", "deny", second, "--output", "json");

        Assert.Equal("denied", JsonDocument.Parse(denied.Stdout).RootElement.GetProperty("state").GetString());
        Assert.Equal("403", await secondCurl);

        var thirdCurl = gateway.CurlAsync(id, $"http://127.0.0.2:{port}/three");
        var third = (await gateway.UntilAsync(items => items.GetArrayLength() > 0, "approvals", "ls", "--sandbox", id, "--output", "json"))[0].GetProperty("id").GetString()!;
        var sessionWide = await gateway.RunAsync("approvals", "approve", third, "--session-wide", "--output", "json");
        Assert.Equal("502", await thirdCurl);
        await gateway.UntilAsync(s => s.GetProperty("active_policy_version").ValueKind == JsonValueKind.Number && s.GetProperty("active_policy_version").GetInt32() == 2, "sandbox", "get", id, "--output", "json");

        Assert.Equal("session", JsonDocument.Parse(sessionWide.Stdout).RootElement.GetProperty("scope").GetString());
        Assert.Equal("502", await gateway.CurlAsync(id, $"http://127.0.0.2:{port}/four"));
        Assert.Equal("[]\n", (await gateway.RunAsync("approvals", "ls", "--sandbox", id, "--output", "json")).Stdout);
    }

    [Fact]
    public async Task Logs_show_a_sandbox_events_and_follow_them_live_until_it_is_removed()
    {
        var port = RemoteGateway.ClosedPort();
        var id = await gateway.CreateSandboxAsync(RemoteGateway.DenyAll);
        Assert.Equal("403", await gateway.CurlAsync(id, $"http://127.0.0.2:{port}/before"));

        // Events reach the store from the proxy asynchronously.
        JsonElement denial = default;
        for (var deadline = DateTime.UtcNow.AddSeconds(90); denial.ValueKind == JsonValueKind.Undefined && DateTime.UtcNow < deadline; await Task.Delay(200))
        {
            var lines = (await gateway.RunAsync("sandbox", "logs", id, "--output", "json")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            denial = lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).FirstOrDefault(e => e.GetProperty("host").GetString() == "127.0.0.2");
        }

        var text = await gateway.RunAsync("sandbox", "logs", id);

        Assert.Equal(("deny", port, id), (denial.GetProperty("decision").GetString(), denial.GetProperty("port").GetInt32(), denial.GetProperty("session").GetString()));
        Assert.Contains(text.Stdout.Split('\n'), l => l.Contains($"deny 127.0.0.2:{port}", StringComparison.Ordinal) && l.Contains("default_deny", StringComparison.Ordinal));

        var output = new SynchronizedWriter();
        using var giveUp = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var follow = Task.Run(() => AirlockCommand.RunAsync(
            ["sandbox", "logs", "-f", "--output", "json", id],
            output,
            TextWriter.Null,
            name => name switch { "AIRLOCK_SERVER" => gateway.Server, "AIRLOCK_TOKEN" => gateway.SessionsToken, _ => null },
            giveUp.Token));

        // History first, then what happens while following.
        Assert.Equal("403", await gateway.CurlAsync(id, $"http://127.0.0.2:{port}/followed"));
        for (var deadline = DateTime.UtcNow.AddSeconds(90); !output.Text.Contains("/followed", StringComparison.Ordinal) && DateTime.UtcNow < deadline; await Task.Delay(100))
        {
        }

        Assert.Contains("/followed", output.Text, StringComparison.Ordinal);
        Assert.Contains("/before", output.Text, StringComparison.Ordinal);

        Assert.Equal(0, (await gateway.RunAsync("sandbox", "rm", id)).ExitCode);
        Assert.Equal(0, await follow);
        Assert.False(giveUp.IsCancellationRequested);
    }

    /// <summary>A writer a test can read while a command still writes to it.</summary>
    private sealed class SynchronizedWriter : TextWriter
    {
        private readonly StringBuilder _text = new();

        public override Encoding Encoding => Encoding.UTF8;

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public override void Write(char value)
        {
            lock (_text)
            {
                _text.Append(value);
            }
        }

        public override void Write(string? value)
        {
            lock (_text)
            {
                _text.Append(value);
            }
        }
    }
}
