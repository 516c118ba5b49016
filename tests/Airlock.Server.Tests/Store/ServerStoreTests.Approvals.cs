using Airlock.Server.Store;

namespace Airlock.Server.Tests.Store;

public abstract partial class ServerStoreTests
{
    private static NewApproval Ask(string id, string session = "sbx_a", TimeSpan? wait = null) => new()
    {
        Id = id,
        Session = session,
        Host = "pypi.org",
        Port = 443,
        Rule = "ask-pypi",
        RequestedAt = Start,
        ExpiresAt = Start + (wait ?? TimeSpan.FromMinutes(5)),
    };

    [Fact]
    public async Task An_approval_is_decided_once()
    {
        Assert.True(await Store.InsertApprovalAsync(Ask("ask_1"), CancellationToken.None));
        Assert.False(await Store.InsertApprovalAsync(Ask("ask_1"), CancellationToken.None));
        Clock.Advance(TimeSpan.FromSeconds(10));

        Assert.True(await Store.DecideApprovalAsync("ask_1", approve: true, ApprovalScope.Session, "tok_admin", CancellationToken.None));
        Assert.False(await Store.DecideApprovalAsync("ask_1", approve: false, ApprovalScope.Once, "someone_else", CancellationToken.None));
        Assert.False(await Store.DecideApprovalAsync("ask_none", approve: true, ApprovalScope.Once, "tok_admin", CancellationToken.None));

        var approval = await Store.GetApprovalAsync("ask_1", CancellationToken.None);
        Assert.NotNull(approval);
        Assert.Equal(ApprovalState.Approved, approval.State);
        Assert.Equal(ApprovalScope.Session, approval.Scope);
        Assert.Equal("tok_admin", approval.DecidedBy);
        Assert.Equal(Start.AddSeconds(10), approval.DecidedAt);
        Assert.Equal(("sbx_a", "pypi.org", 443, "ask-pypi", Start, Start.AddMinutes(5)), (approval.Session, approval.Host, approval.Port, approval.Rule, approval.RequestedAt, approval.ExpiresAt));
        Assert.Empty(await Store.ListPendingApprovalsAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task Pending_approvals_are_listed_oldest_first_and_by_session()
    {
        await Store.InsertApprovalAsync(Ask("ask_2", "s2") with { RequestedAt = Start.AddSeconds(2) }, CancellationToken.None);
        await Store.InsertApprovalAsync(Ask("ask_1", "s1"), CancellationToken.None);
        await Store.InsertApprovalAsync(Ask("ask_3", "s1") with { RequestedAt = Start.AddSeconds(3) }, CancellationToken.None);
        Assert.True(await Store.DecideApprovalAsync("ask_3", approve: false, ApprovalScope.Once, "tok", CancellationToken.None));

        Assert.Equal(["ask_1", "ask_2"], (await Store.ListPendingApprovalsAsync(null, CancellationToken.None)).Select(a => a.Id));
        Assert.Equal(["ask_1"], (await Store.ListPendingApprovalsAsync("s1", CancellationToken.None)).Select(a => a.Id));
        Assert.Equal(ApprovalState.Denied, (await Store.GetApprovalAsync("ask_3", CancellationToken.None))?.State);
        Assert.Null(await Store.GetApprovalAsync("ask_none", CancellationToken.None));
    }

    [Fact]
    public async Task Expired_approvals_cannot_be_decided_and_are_timed_out_once()
    {
        await Store.InsertApprovalAsync(Ask("ask_short", wait: TimeSpan.FromSeconds(30)), CancellationToken.None);
        await Store.InsertApprovalAsync(Ask("ask_long", wait: TimeSpan.FromMinutes(10)), CancellationToken.None);
        Clock.Advance(TimeSpan.FromSeconds(30));

        Assert.False(await Store.DecideApprovalAsync("ask_short", approve: true, ApprovalScope.Once, "tok", CancellationToken.None));
        var timedOut = await Store.TimeOutExpiredApprovalsAsync(CancellationToken.None);

        var record = Assert.Single(timedOut);
        Assert.Equal("ask_short", record.Id);
        Assert.Equal(ApprovalState.TimedOut, record.State);
        Assert.Equal(Start.AddSeconds(30), record.DecidedAt);
        Assert.Null(record.DecidedBy);
        Assert.Empty(await Store.TimeOutExpiredApprovalsAsync(CancellationToken.None));
        Assert.Equal(["ask_long"], (await Store.ListPendingApprovalsAsync(null, CancellationToken.None)).Select(a => a.Id));
    }

    [Fact]
    public async Task An_approval_the_proxy_gave_up_on_is_timed_out_and_then_cannot_be_decided()
    {
        await Store.InsertApprovalAsync(Ask("ask_1"), CancellationToken.None);

        Assert.True(await Store.MarkApprovalTimedOutAsync("ask_1", CancellationToken.None));
        Assert.False(await Store.MarkApprovalTimedOutAsync("ask_1", CancellationToken.None));
        Assert.False(await Store.DecideApprovalAsync("ask_1", approve: true, ApprovalScope.Once, "tok", CancellationToken.None));
        Assert.Equal(ApprovalState.TimedOut, (await Store.GetApprovalAsync("ask_1", CancellationToken.None))?.State);
    }
}
