using System.Net;

namespace Airlock.Client.Tests;

/// <summary>Policies through the SDK: validate, store versions, read, list, hot reload a running sandbox, suggest.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PoliciesTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    private const string Allow127 = "version: 1\negress:\n  - allow: 127.0.0.2\n    ports: [1-65535]\naddresses:\n  allow: [\"127.0.0.0/8\"]\n";

    [Fact]
    public async Task Validation_reports_each_problem_where_it_is_with_a_suggestion()
    {
        var valid = await gateway.Sessions.ValidatePolicyAsync(TestGateway.DenyAll);
        var invalid = await gateway.Sessions.ValidatePolicyAsync("version: 1\negress:\n  - alow: example.com\n");

        Assert.Equal((true, 0), (valid.Valid, valid.Problems.Count(p => p.Severity == "error")));
        Assert.False(invalid.Valid);
        var problem = invalid.Problems[0];
        Assert.Equal((3, 5, "error"), (problem.Line, problem.Column, problem.Severity));
        Assert.Equal("did you mean 'allow'?", problem.Suggestion);
    }

    [Fact]
    public async Task Versions_are_stored_read_and_listed_and_bad_ones_are_refused_with_their_errors()
    {
        var first = await gateway.Admin.PutPolicyAsync("sdk-team", TestGateway.DenyAll);
        var second = await gateway.Admin.PutPolicyAsync("sdk-team", Allow127);
        var latest = await gateway.Sessions.GetPolicyAsync("sdk-team");
        var older = await gateway.Sessions.GetPolicyAsync("sdk-team", 1);
        var listed = await gateway.Sessions.ListPoliciesAsync();
        var invalid = await Assert.ThrowsAsync<AirlockApiException>(() => gateway.Admin.PutPolicyAsync("sdk-team", "version: 1\negress:\n  - alow: x\n"));
        var notAdmin = await Assert.ThrowsAsync<AirlockApiException>(() => gateway.Sessions.PutPolicyAsync("sdk-other", TestGateway.DenyAll));
        var missing = await Assert.ThrowsAsync<AirlockApiException>(() => gateway.Sessions.GetPolicyAsync("sdk-team", 9));

        Assert.Equal((1, 2), (first.Version, second.Version));
        Assert.Equal((2, Allow127), (latest.Version, latest.Text));
        Assert.Equal(TestGateway.DenyAll, older.Text);
        Assert.Equal(2, Assert.Single(listed, p => p.Name == "sdk-team").LatestVersion);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Contains(invalid.Errors["policy"], e => e.StartsWith("sdk-team:3:5:", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Forbidden, notAdmin.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(2, (await gateway.Sessions.GetPolicyAsync("sdk-team")).Version);
    }

    [Fact]
    public async Task A_running_sandbox_takes_a_new_policy_inline_or_stored_and_its_proxy_enforces_it()
    {
        var port = GatewayFixture.ClosedPort();
        await gateway.Admin.PutPolicyAsync("sdk-deny", TestGateway.DenyAll);
        var sandbox = await gateway.Sessions.CreateSandboxAsync(new CreateSandboxRequest { Policy = TestGateway.DenyAll });

        var before = await GatewayFixture.CurlAsync(gateway.Sessions, sandbox.Id, $"http://127.0.0.2:{port}/");
        var inline = await gateway.Sessions.ApplySandboxPolicyAsync(sandbox.Id, new ApplyPolicyRequest { Policy = Allow127 });
        var allowed = await GatewayFixture.CurlAsync(gateway.Sessions, sandbox.Id, $"http://127.0.0.2:{port}/");
        var stored = await gateway.Sessions.ApplySandboxPolicyAsync(sandbox.Id, new ApplyPolicyRequest { PolicyName = "sdk-deny" });
        var deniedAgain = await GatewayFixture.CurlAsync(gateway.Sessions, sandbox.Id, $"http://127.0.0.2:{port}/");
        var invalid = await Assert.ThrowsAsync<AirlockApiException>(() => gateway.Sessions.ApplySandboxPolicyAsync(sandbox.Id, new ApplyPolicyRequest { Policy = "version: 1\negress:\n  - alow: x\n" }));
        var missing = await Assert.ThrowsAsync<AirlockApiException>(() => gateway.Sessions.ApplySandboxPolicyAsync("sb-0000000000", new ApplyPolicyRequest { Policy = Allow127 }));

        Assert.Equal("403", before);
        Assert.Equal((sandbox.Id, inline.PolicyVersion, inline.PolicyVersion), (inline.PolicyName, inline.ActivePolicyVersion, inline.PolicyVersion));
        Assert.NotEqual("403", allowed);
        Assert.Equal(("sdk-deny", 1, 1), (stored.PolicyName, stored.PolicyVersion, stored.ActivePolicyVersion));
        Assert.Equal("403", deniedAgain);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_suggestion_is_built_from_what_the_sandbox_tried()
    {
        var port = GatewayFixture.ClosedPort();
        var sandbox = await gateway.Sessions.CreateSandboxAsync(new CreateSandboxRequest { Policy = TestGateway.DenyAll });
        Assert.Equal("403", await GatewayFixture.CurlAsync(gateway.Sessions, sandbox.Id, $"http://127.0.0.2:{port}/data"));

        // Events reach the store from the proxy asynchronously: wait for the denial, then ask.
        var seen = false;
        for (var deadline = DateTime.UtcNow.AddSeconds(90); !seen && DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            seen = (await gateway.Sessions.QueryEventsAsync(new EventFilter { Session = sandbox.Id, Host = "127.0.0.2" })).Items.Count > 0;
        }

        var suggestion = await gateway.Sessions.SuggestPolicyAsync(sandbox.Id, "sdk-suggested");
        var missing = await Assert.ThrowsAsync<AirlockApiException>(() => gateway.Sessions.SuggestPolicyAsync("sb-0000000000"));

        Assert.True(seen);
        Assert.Contains("127.0.0.2", suggestion.Policy, StringComparison.Ordinal);
        Assert.Contains("sdk-suggested", suggestion.Policy, StringComparison.Ordinal);
        Assert.True(suggestion.Events >= 1);
        Assert.Equal(1, suggestion.Destinations);
        Assert.True((await gateway.Sessions.ValidatePolicyAsync(suggestion.Policy)).Valid);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
