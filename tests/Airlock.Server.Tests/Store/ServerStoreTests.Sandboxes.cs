using Airlock.Server.Auth;
using Airlock.Server.Store;

namespace Airlock.Server.Tests.Store;

public abstract partial class ServerStoreTests
{
    private Task<SandboxRecord> CreateSandboxAsync(string id, IReadOnlyDictionary<string, string>? labels = null, string? owner = null) =>
        Store.CreateSandboxAsync(
            new NewSandbox { Id = id, Driver = "local", Labels = labels ?? new Dictionary<string, string>(), OwnerTokenId = owner },
            CancellationToken.None);

    [Fact]
    public async Task A_sandbox_round_trips_every_field()
    {
        var owner = await Store.CreateTokenAsync(TokenScope.Sessions, null, null, CancellationToken.None);
        var spec = new NewSandbox
        {
            Id = "sbx_1",
            Driver = "kubernetes",
            Labels = new Dictionary<string, string> { ["team"] = "infra", ["ünïcode key"] = "välue \"quoted\"" },
            PolicyName = "github-readonly",
            PolicyVersion = 3,
            ExpiresAt = Start.AddHours(2).AddTicks(9_999),
            IdleTimeoutSeconds = 600,
            OwnerTokenId = owner.Info.Id,
        };

        var created = await Store.CreateSandboxAsync(spec, CancellationToken.None);
        var fetched = await Store.GetSandboxAsync("sbx_1", CancellationToken.None);

        Assert.NotNull(fetched);
        Assert.Equal(SandboxState.Pending, fetched.State);
        Assert.Equal("kubernetes", fetched.Driver);
        Assert.Equal(spec.Labels, fetched.Labels);
        Assert.Equal("github-readonly", fetched.PolicyName);
        Assert.Equal(3, fetched.PolicyVersion);
        Assert.Null(fetched.ActivePolicyVersion);
        Assert.Equal(Start.AddHours(2), fetched.ExpiresAt);
        Assert.Equal(600, fetched.IdleTimeoutSeconds);
        Assert.Equal(owner.Info.Id, fetched.OwnerTokenId);
        Assert.Equal(Start, fetched.CreatedAt);
        Assert.Equal(Start, fetched.UpdatedAt);
        Assert.Equal(Start, fetched.LastActivityAt);
        Assert.Null(fetched.StateReason);
        Assert.Equal(created.Labels, fetched.Labels);
        Assert.Equal(created with { Labels = fetched.Labels }, fetched);
        Assert.Null(await Store.GetSandboxAsync("sbx_none", CancellationToken.None));
    }

    [Fact]
    public async Task A_duplicate_sandbox_id_is_refused_and_the_first_is_kept()
    {
        await CreateSandboxAsync("sbx_dup", new Dictionary<string, string> { ["v"] = "1" });

        await Assert.ThrowsAsync<InvalidOperationException>(() => CreateSandboxAsync("sbx_dup", new Dictionary<string, string> { ["v"] = "2" }));

        Assert.Equal("1", (await Store.GetSandboxAsync("sbx_dup", CancellationToken.None))!.Labels["v"]);
    }

    [Fact]
    public async Task A_sandbox_owned_by_an_unknown_token_is_refused_by_the_foreign_key()
    {
        await Assert.ThrowsAnyAsync<Exception>(() => CreateSandboxAsync("sbx_orphan", owner: "nosuchtoken0"));

        Assert.Null(await Store.GetSandboxAsync("sbx_orphan", CancellationToken.None));
    }

    [Fact]
    public async Task State_changes_record_the_reason_and_the_time()
    {
        await CreateSandboxAsync("sbx_s");
        Clock.Advance(TimeSpan.FromSeconds(3));

        var failed = await Store.UpdateSandboxStateAsync("sbx_s", SandboxState.Failed, "image pull failed", CancellationToken.None);

        Assert.NotNull(failed);
        Assert.Equal(SandboxState.Failed, failed.State);
        Assert.Equal("image pull failed", failed.StateReason);
        Assert.Equal(Start.AddSeconds(3), failed.UpdatedAt);
        Assert.Equal(Start, failed.CreatedAt);
        Assert.Equal(failed, await Store.GetSandboxAsync("sbx_s", CancellationToken.None) is { } s ? s with { Labels = failed.Labels } : null);

        var deleting = await Store.UpdateSandboxStateAsync("sbx_s", SandboxState.Deleting, null, CancellationToken.None);
        Assert.Equal(SandboxState.Deleting, deleting!.State);
        Assert.Null(deleting.StateReason);
        Assert.Null(await Store.UpdateSandboxStateAsync("sbx_none", SandboxState.Ready, null, CancellationToken.None));
    }

    [Fact]
    public async Task Policy_versions_and_activity_are_recorded()
    {
        await CreateSandboxAsync("sbx_p");
        Clock.Advance(TimeSpan.FromMinutes(1));

        Assert.True(await Store.SetSandboxPolicyAsync("sbx_p", "web", 2, CancellationToken.None));
        Assert.True(await Store.SetActivePolicyVersionAsync("sbx_p", 2, CancellationToken.None));
        Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.True(await Store.TouchSandboxAsync("sbx_p", CancellationToken.None));

        var sandbox = (await Store.GetSandboxAsync("sbx_p", CancellationToken.None))!;
        Assert.Equal("web", sandbox.PolicyName);
        Assert.Equal(2, sandbox.PolicyVersion);
        Assert.Equal(2, sandbox.ActivePolicyVersion);
        Assert.Equal(Start.AddMinutes(2), sandbox.LastActivityAt);
        Assert.Equal(Start.AddMinutes(1), sandbox.UpdatedAt);

        Assert.False(await Store.SetSandboxPolicyAsync("sbx_none", "web", 1, CancellationToken.None));
        Assert.False(await Store.SetActivePolicyVersionAsync("sbx_none", 1, CancellationToken.None));
        Assert.False(await Store.TouchSandboxAsync("sbx_none", CancellationToken.None));
    }

    [Fact]
    public async Task Listing_filters_by_state_by_every_label_and_by_owner()
    {
        var owner = await Store.CreateTokenAsync(TokenScope.Sessions, null, null, CancellationToken.None);
        await CreateSandboxAsync("sbx_a", new Dictionary<string, string> { ["team"] = "infra", ["env"] = "prod" }, owner.Info.Id);
        await CreateSandboxAsync("sbx_b", new Dictionary<string, string> { ["team"] = "infra", ["env"] = "dev" });
        await CreateSandboxAsync("sbx_c", new Dictionary<string, string> { ["team"] = "web", ["env"] = "prod" });
        await CreateSandboxAsync("sbx_d", new Dictionary<string, string> { ["prod"] = "env" });
        await Store.UpdateSandboxStateAsync("sbx_b", SandboxState.Ready, null, CancellationToken.None);
        await Store.UpdateSandboxStateAsync("sbx_c", SandboxState.Deleted, null, CancellationToken.None);

        async Task<string[]> Ids(SandboxQuery query) =>
            [.. (await Store.ListSandboxesAsync(query, CancellationToken.None)).Items.Select(s => s.Id)];

        Assert.Equal(["sbx_a", "sbx_b", "sbx_c", "sbx_d"], await Ids(new SandboxQuery()));
        Assert.Equal(["sbx_b"], await Ids(new SandboxQuery { States = [SandboxState.Ready] }));
        Assert.Equal(["sbx_a", "sbx_b", "sbx_d"], await Ids(new SandboxQuery { States = [SandboxState.Pending, SandboxState.Ready] }));
        Assert.Equal(["sbx_a", "sbx_b"], await Ids(new SandboxQuery { Labels = new Dictionary<string, string> { ["team"] = "infra" } }));
        Assert.Equal(["sbx_a"], await Ids(new SandboxQuery { Labels = new Dictionary<string, string> { ["team"] = "infra", ["env"] = "prod" } }));
        Assert.Equal(["sbx_a", "sbx_c"], await Ids(new SandboxQuery { Labels = new Dictionary<string, string> { ["env"] = "prod" } }));
        Assert.Empty(await Ids(new SandboxQuery { Labels = new Dictionary<string, string> { ["team"] = "infra", ["env"] = "staging" } }));
        Assert.Empty(await Ids(new SandboxQuery { Labels = new Dictionary<string, string> { ["team"] = "INFRA" } }));
        Assert.Equal(["sbx_a"], await Ids(new SandboxQuery { OwnerTokenId = owner.Info.Id }));
        Assert.Equal(["sbx_c"], await Ids(new SandboxQuery { States = [SandboxState.Deleted], Labels = new Dictionary<string, string> { ["env"] = "prod" } }));
    }

    [Fact]
    public async Task Paging_returns_every_sandbox_exactly_once_even_with_equal_creation_times()
    {
        var expected = new List<string>();
        for (var i = 0; i < 23; i++)
        {
            // Groups of three share a creation time, so the id must break ties.
            if (i % 3 == 0)
            {
                Clock.Advance(TimeSpan.FromMilliseconds(1));
            }

            var id = $"sbx_{(i * 7919) % 23:D2}";
            await CreateSandboxAsync(id);
            expected.Add(id);
        }

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Store.ListSandboxesAsync(new SandboxQuery { Limit = 5, After = cursor }, CancellationToken.None);
            Assert.True(page.Items.Count <= 5);
            seen.AddRange(page.Items.Select(s => s.Id));
            cursor = page.NextCursor;
            pages++;

            // A sandbox created while paging comes after everything listed so far.
            if (pages == 2)
            {
                Clock.Advance(TimeSpan.FromSeconds(1));
                await CreateSandboxAsync("sbx_late");
            }
        }
        while (cursor is not null);

        var all = (await Store.ListSandboxesAsync(new SandboxQuery { Limit = 1000 }, CancellationToken.None)).Items.Select(s => s.Id).ToList();
        Assert.Equal(24, all.Count);
        Assert.Equal(all, seen);
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal("sbx_late", seen[^1]);
        Assert.Equal(5, pages);
    }

    [Fact]
    public async Task An_exact_last_page_has_no_cursor_and_the_limit_is_capped()
    {
        for (var i = 0; i < 4; i++)
        {
            await CreateSandboxAsync($"sbx_{i}");
        }

        var page = await Store.ListSandboxesAsync(new SandboxQuery { Limit = 4 }, CancellationToken.None);
        Assert.Equal(4, page.Items.Count);
        Assert.Null(page.NextCursor);

        var one = await Store.ListSandboxesAsync(new SandboxQuery { Limit = 0 }, CancellationToken.None);
        Assert.Single(one.Items);
        Assert.NotNull(one.NextCursor);
    }

    [Fact]
    public async Task A_cursor_this_store_did_not_issue_is_an_argument_error()
    {
        foreach (var bad in (string[])["not base64!", "bm8tZG90", "LjEyMw", "eC5pZA"])
        {
            var e = await Assert.ThrowsAsync<ArgumentException>(() => Store.ListSandboxesAsync(new SandboxQuery { After = bad }, CancellationToken.None));
            Assert.Contains("cursor", e.Message, StringComparison.Ordinal);
        }
    }
}
