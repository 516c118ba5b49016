namespace Airlock.Server.Tests.Store;

public abstract partial class ServerStoreTests
{
    [Fact]
    public async Task Policy_versions_count_up_per_name_and_each_version_is_kept()
    {
        Assert.Equal(1, await Store.PutPolicyAsync("web", "egress: [v1]", CancellationToken.None));
        Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, await Store.PutPolicyAsync("web", "egress: [v2]", CancellationToken.None));
        Assert.Equal(1, await Store.PutPolicyAsync("api", "egress: [a1]", CancellationToken.None));

        var latest = await Store.GetPolicyAsync("web", null, CancellationToken.None);
        Assert.NotNull(latest);
        Assert.Equal(2, latest.Version);
        Assert.Equal("egress: [v2]", latest.Text);
        Assert.Equal(Start.AddSeconds(1), latest.CreatedAt);
        Assert.Equal("egress: [v1]", (await Store.GetPolicyAsync("web", 1, CancellationToken.None))?.Text);
        Assert.Null(await Store.GetPolicyAsync("web", 3, CancellationToken.None));
        Assert.Null(await Store.GetPolicyAsync("nope", null, CancellationToken.None));

        var list = await Store.ListPoliciesAsync(CancellationToken.None);
        Assert.Equal(["api", "web"], list.Select(p => p.Name));
        Assert.Equal([1, 2], list.Select(p => p.LatestVersion));
        Assert.Equal(Start.AddSeconds(1), list[1].UpdatedAt);
    }

    [Fact]
    public async Task Concurrent_puts_of_one_policy_get_distinct_consecutive_versions()
    {
        var versions = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() => Store.PutPolicyAsync("shared", $"v: {i}", CancellationToken.None))));

        Assert.Equal(Enumerable.Range(1, 12), versions.Order());
        Assert.Equal(12, (await Store.GetPolicyAsync("shared", null, CancellationToken.None))?.Version);
    }

    [Fact]
    public async Task An_empty_policy_name_is_an_argument_error()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Store.PutPolicyAsync(string.Empty, "x", CancellationToken.None));
    }
}
