namespace Airlock.Cli.Tests.Demo;

public class DemoCommandTests
{
    [Fact]
    public async Task Demo_shows_allowed_denied_l7_denied_and_injected_requests_offline()
    {
        var run = await CliRun.Of("demo");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(string.Empty, run.Stderr);
        foreach (var expected in new[] { "allowed_by_rule", "no_matching_http_rule", "denied_by_rule", "default_deny", "blocked_address", "inject x-api-key", "malformed_host" })
        {
            Assert.Contains(expected, run.Stdout, StringComparison.Ordinal);
        }

        Assert.Contains("5 allowed, 7 denied.", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_accepts_another_policy()
    {
        var run = await CliRun.Of("demo", "--policy", Repository.Example("locked-down.yaml"));

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("0 allowed, 12 denied.", run.Stdout, StringComparison.Ordinal);
    }
}
