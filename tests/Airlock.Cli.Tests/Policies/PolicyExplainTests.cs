using System.Text.Json;

namespace Airlock.Cli.Tests.Policies;

public class PolicyExplainTests
{
    private static readonly string CodingAgent = Repository.Example("coding-agent.yaml");

    [Fact]
    public async Task An_allowed_request_exits_0_and_names_the_rule()
    {
        var run = await CliRun.Of("policy", "explain", CodingAgent, "--url", "https://api.github.com/repos/a/b");

        Assert.Equal(0, run.ExitCode);
        var lines = run.Stdout.Split('\n');
        Assert.Equal("allow GET https://api.github.com:443/repos/a/b", lines[0]);
        Assert.Contains("reason:  allowed_by_rule", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("rule:    egress[0] allow api.github.com \"github-api-read-only\" at ", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("coding-agent.yaml:9:5", run.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://evil.example/x", "GET", "default_deny")]
    [InlineData("https://api.github.com/repos/a/b", "POST", "no_matching_http_rule")]
    [InlineData("https://gist.github.com/", "GET", "denied_by_rule")]
    [InlineData("https://exa%mple.com/", "GET", "malformed_host")]
    public async Task A_denied_request_exits_3_with_the_reason(string url, string method, string reason)
    {
        var run = await CliRun.Of("policy", "explain", CodingAgent, "--url", url, "--method", method);

        Assert.Equal(3, run.ExitCode);
        Assert.StartsWith("deny ", run.Stdout, StringComparison.Ordinal);
        Assert.Contains($"reason:  {reason}: ", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ask_rule_exits_4()
    {
        var run = await CliRun.Of("policy", "explain", Repository.Example("ask-unknown.yaml"), "--url", "https://new.example.org/");

        Assert.Equal(4, run.ExitCode);
        Assert.StartsWith("ask ", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("ask_pending", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resolved_private_addresses_are_blocked()
    {
        var run = await CliRun.Of(
            "policy", "explain", CodingAgent, "--url", "https://api.github.com/user", "--resolve", "api.github.com=10.1.2.3");

        Assert.Equal(3, run.ExitCode);
        Assert.Contains("reason:  blocked_address", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("address: 10.1.2.3 blocked: ", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_output_carries_the_event_fields()
    {
        var run = await CliRun.Of(
            "policy", "explain", CodingAgent, "--url", "https://API.GitHub.com./user", "--method", "GET",
            "--resolve", "api.github.com=140.82.112.6", "--output", "json");

        Assert.Equal(0, run.ExitCode);
        using var json = JsonDocument.Parse(run.Stdout);
        var root = json.RootElement;
        Assert.Equal("allow", root.GetProperty("decision").GetString());
        Assert.Equal("allowed_by_rule", root.GetProperty("reason").GetString());
        Assert.Equal(0, root.GetProperty("rule").GetProperty("index").GetInt32());
        Assert.Equal("allow", root.GetProperty("rule").GetProperty("kind").GetString());
        Assert.Equal("github-api-read-only", root.GetProperty("rule").GetProperty("name").GetString());
        Assert.Equal("api.github.com", root.GetProperty("host").GetString());
        Assert.Equal(443, root.GetProperty("port").GetInt32());
        Assert.Equal("/user", root.GetProperty("path").GetString());
        Assert.False(root.GetProperty("would_deny").GetBoolean());
        Assert.True(root.GetProperty("addresses")[0].GetProperty("allowed").GetBoolean());
    }

    [Fact]
    public async Task Json_output_of_a_default_deny_has_a_null_rule()
    {
        var run = await CliRun.Of("policy", "explain", CodingAgent, "--url", "https://evil.example/", "-o", "json");

        using var json = JsonDocument.Parse(run.Stdout);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("rule").ValueKind);
        Assert.Equal("deny", json.RootElement.GetProperty("decision").GetString());
    }

    [Fact]
    public async Task Audit_mode_says_the_deny_would_be_let_through()
    {
        var run = await CliRun.Of("policy", "explain", Repository.Example("audit.yaml"), "--url", "https://evil.example/");

        Assert.Equal(3, run.ExitCode);
        Assert.Contains("would_deny", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Injected_headers_are_shown_as_templates_never_as_secrets()
    {
        var run = await CliRun.Of("policy", "explain", CodingAgent, "--url", "https://api.anthropic.com/v1/messages", "--method", "POST");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("inject:  x-api-key: {{secret:ANTHROPIC_API_KEY}}", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Opaque_tcp_is_explained_without_http()
    {
        var run = await CliRun.Of("policy", "explain", CodingAgent, "--url", "tcp://github.com:22");

        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("allow tcp://github.com:22", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("tls:     opaque tcp", run.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("api.github.com/user")]
    [InlineData("ftp://api.github.com/")]
    [InlineData("https://user:pw@api.github.com/")]
    [InlineData("https://api.github.com:99999/")]
    [InlineData("tcp://github.com")]
    public async Task A_bad_url_is_a_usage_error(string url)
    {
        var run = await CliRun.Of("policy", "explain", CodingAgent, "--url", url);

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("airlock: --url: ", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_policy_exits_2()
    {
        using var policy = new TempPolicy("version: 1\negress: 5\n");

        var run = await CliRun.Of("policy", "explain", policy.Path, "--url", "https://a.example/");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(":2:9: error: ", run.Stderr, StringComparison.Ordinal);
    }
}
