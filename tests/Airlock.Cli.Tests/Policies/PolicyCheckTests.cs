namespace Airlock.Cli.Tests.Policies;

public class PolicyCheckTests
{
    public static TheoryData<string> Examples() =>
        [.. Directory.GetFiles(Path.Combine(Repository.Root, "examples", "policies"), "*.yaml").Select(f => Path.GetFileName(f))];

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Every_example_policy_is_valid_without_warnings(string example)
    {
        var run = await CliRun.Of("policy", "check", Repository.Example(example));

        Assert.Equal(0, run.ExitCode);
        Assert.Contains(": ok: ", run.Stdout, StringComparison.Ordinal);
        Assert.Equal(string.Empty, run.Stderr);
    }

    [Fact]
    public async Task A_valid_policy_gets_a_one_line_summary()
    {
        using var policy = new TempPolicy("version: 1\nmode: audit\negress:\n  - allow: a.example.com\n  - deny: b.example.com\n  - ask: \"**\"\n");

        var run = await CliRun.Of("policy", "check", policy.Path);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal($"{policy.Path}: ok: 3 rules (1 allow, 1 deny, 1 ask), mode audit, default deny", run.Stdout.TrimEnd());
    }

    [Fact]
    public async Task An_invalid_policy_exits_2_with_every_error_positioned()
    {
        using var policy = new TempPolicy("""
            version: 1
            egress:
              - allow: api.example.com
                port: [443]
              - allow: "*.com"
              - allow: ok.example.com
                ports: [70000]
            """);

        var run = await CliRun.Of("policy", "check", policy.Path);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal(string.Empty, run.Stdout);
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith($"{policy.Path}:4:5: error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains("did you mean 'ports'?", lines[0], StringComparison.Ordinal);
        Assert.StartsWith($"{policy.Path}:5:12: error: ", lines[1], StringComparison.Ordinal);
        Assert.StartsWith($"{policy.Path}:7:13: error: ", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Several_files_are_checked_and_one_invalid_file_fails_the_run()
    {
        using var bad = new TempPolicy("version: 2\n");

        var run = await CliRun.Of("policy", "check", Repository.Example("audit.yaml"), bad.Path);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("audit.yaml: ok: ", run.Stdout, StringComparison.Ordinal);
        Assert.Contains($"{bad.Path}:1:10: error: ", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_is_reported_not_thrown()
    {
        var run = await CliRun.Of("policy", "check", "/nonexistent/policy.yaml");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("/nonexistent/policy.yaml", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shadowed_rules_warn_but_pass()
    {
        using var policy = new TempPolicy("version: 1\negress:\n  - allow: \"**.example.com\"\n  - allow: api.example.com\n");

        var run = await CliRun.Of("policy", "check", policy.Path);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains(":4:5: warning: ", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("1 warning(s)", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_file_is_a_usage_error()
    {
        var run = await CliRun.Of("policy", "check");

        Assert.Equal(1, run.ExitCode);
        Assert.NotEqual(string.Empty, run.Stderr);
    }
}
