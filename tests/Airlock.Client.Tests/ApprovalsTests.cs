using System.Net;
using System.Threading.Channels;

namespace Airlock.Client.Tests;

/// <summary>Approvals through the SDK: a real sandbox's proxy holds an <c>ask</c>; it is listed, streamed and decided.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ApprovalsTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    private AirlockClient Client => gateway.Sessions;

    private async Task<Approval> NextPendingAsync(string sandbox, params string[] seen)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(90); DateTime.UtcNow < deadline; await Task.Delay(50))
        {
            if ((await Client.ListApprovalsAsync(sandbox)).FirstOrDefault(a => !seen.Contains(a.Id)) is { } approval)
            {
                return approval;
            }
        }

        throw new TimeoutException($"no pending approval for {sandbox}");
    }

    private static async Task<Approval> NextAsync(ChannelReader<Approval> reader, string id, ApprovalState state)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (true)
        {
            var approval = await reader.ReadAsync(deadline.Token);
            if (approval.Id == id && approval.State == state)
            {
                return approval;
            }
        }
    }

    [Fact]
    public async Task An_ask_is_streamed_listed_and_decided_once_and_the_held_request_follows_each_decision()
    {
        var port = GatewayFixture.ClosedPort();
        var sandbox = await Client.CreateSandboxAsync(new CreateSandboxRequest { Policy = GatewayFixture.AskPolicy("90s") });
        using var stop = new CancellationTokenSource();
        var streamed = Channel.CreateUnbounded<Approval>();
        var reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var approval in Client.StreamApprovalsAsync(sandbox.Id, cancellationToken: stop.Token))
                {
                    await streamed.Writer.WriteAsync(approval);
                }
            }
            catch (OperationCanceledException)
            {
                // Stopped by the test.
            }
        });

        var firstCurl = GatewayFixture.CurlAsync(Client, sandbox.Id, $"http://127.0.0.2:{port}/one");
        var first = await NextPendingAsync(sandbox.Id);
        var announced = await NextAsync(streamed.Reader, first.Id, ApprovalState.Pending);
        var approved = await Client.DecideApprovalAsync(first.Id, ApprovalDecision.Approve);
        var again = await Assert.ThrowsAsync<AirlockApiException>(() => Client.DecideApprovalAsync(first.Id, ApprovalDecision.Deny));
        var streamedDecision = await NextAsync(streamed.Reader, first.Id, ApprovalState.Approved);

        Assert.Equal((sandbox.Id, "127.0.0.2", port, "ask-local", ApprovalState.Pending, (ApprovalScope?)null), (first.Session, first.Host, first.Port, first.Rule, first.State, first.Scope));
        Assert.True(first.ExpiresAt > first.RequestedAt);
        Assert.Equal(first.Id, announced.Id);
        Assert.Equal((ApprovalState.Approved, (ApprovalScope?)ApprovalScope.Once), (approved.State, approved.Scope));
        Assert.NotNull(approved.DecidedAt);
        Assert.Equal("502", await firstCurl); // let through, to a port where nothing listens
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("approved", again.Extensions["state"].GetString());
        Assert.Equal(approved.DecidedAt, streamedDecision.DecidedAt);

        var secondCurl = GatewayFixture.CurlAsync(Client, sandbox.Id, $"http://127.0.0.2:{port}/two");
        var second = await NextPendingAsync(sandbox.Id, first.Id);
        var denied = await Client.DecideApprovalAsync(second.Id, ApprovalDecision.Deny);

        Assert.Equal(ApprovalState.Denied, denied.State);
        Assert.Equal("403", await secondCurl);
        Assert.Equal(ApprovalState.Denied, (await Client.GetApprovalAsync(second.Id)).State);
        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<AirlockApiException>(() => Client.GetApprovalAsync("nope"))).StatusCode);
        await stop.CancelAsync();
        await reading;
    }

    [Fact]
    public async Task Approving_for_the_session_amends_the_sandbox_policy()
    {
        var port = GatewayFixture.ClosedPort();
        var sandbox = await Client.CreateSandboxAsync(new CreateSandboxRequest { Policy = GatewayFixture.AskPolicy("90s") });

        var curl = GatewayFixture.CurlAsync(Client, sandbox.Id, $"http://127.0.0.2:{port}/");
        var pending = await NextPendingAsync(sandbox.Id);
        var approved = await Client.DecideApprovalAsync(pending.Id, ApprovalDecision.Approve, ApprovalScope.Session);
        Assert.Equal("502", await curl);
        var active = sandbox.ActivePolicyVersion;
        for (var deadline = DateTime.UtcNow.AddSeconds(90); active != 2 && DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            active = (await Client.GetSandboxAsync(sandbox.Id)).ActivePolicyVersion;
        }

        var later = await GatewayFixture.CurlAsync(Client, sandbox.Id, $"http://127.0.0.2:{port}/later");

        Assert.Equal(ApprovalScope.Session, approved.Scope);
        Assert.Equal(2, active);
        Assert.Equal("502", later);
        Assert.Empty(await Client.ListApprovalsAsync(sandbox.Id));
        Assert.Contains("allow: 127.0.0.2", (await Client.GetPolicyAsync(sandbox.Id, 2)).Text, StringComparison.Ordinal);
    }
}
