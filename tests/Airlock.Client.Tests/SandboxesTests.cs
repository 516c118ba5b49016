using System.Net;
using Airlock.Server.Auth;
using Airlock.Server.Hosting;

namespace Airlock.Client.Tests;

/// <summary>Sandboxes, errors and probes through the SDK, against a real gateway with real local sandboxes.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SandboxesTests : IAsyncLifetime, IDisposable
{
    private DirectoryInfo _dir = null!;
    private GatewayHost _host = null!;
    private AirlockClient _admin = null!;
    private AirlockClient _session = null!;

    public async Task InitializeAsync()
    {
        _dir = TestGateway.NewDirectory();
        _host = await TestGateway.StartAsync(_dir);
        _admin = new AirlockClient(_host.ApiAddress, await TestGateway.TokenAsync(_host, TokenScope.Admin));
        _session = new AirlockClient(_host.ApiAddress, await TestGateway.TokenAsync(_host, TokenScope.Sessions));
    }

    public async Task DisposeAsync()
    {
        await TestGateway.StopAsync(_host);
        _dir.Delete(recursive: true);
    }

    public void Dispose()
    {
        _admin.Dispose();
        _session.Dispose();
    }

    [Fact]
    public async Task A_sandbox_is_created_got_listed_by_state_and_label_and_deleted()
    {
        var created = await _admin.CreateSandboxAsync(new CreateSandboxRequest { Policy = TestGateway.DenyAll, Ttl = "1h", Labels = new Dictionary<string, string> { ["team"] = "a" } });

        Assert.Equal((SandboxState.Ready, "local"), (created.State, created.Driver));
        Assert.Equal("a", created.Labels["team"]);
        Assert.InRange(created.ExpiresAt!.Value - created.CreatedAt, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));
        Assert.Equal([created.Id], (await _host.Driver.ListAsync(CancellationToken.None)).Select(s => s.Id));
        Assert.Equal(created with { Labels = null! }, await _admin.GetSandboxAsync(created.Id) with { Labels = null! });

        var matching = await _admin.ListSandboxesAsync(new SandboxFilter { States = [SandboxState.Ready], Labels = new Dictionary<string, string> { ["team"] = "a" } });
        var otherLabel = await _admin.ListSandboxesAsync(new SandboxFilter { Labels = new Dictionary<string, string> { ["team"] = "b" } });
        var otherState = await _admin.ListSandboxesAsync(new SandboxFilter { States = [SandboxState.Failed, SandboxState.Deleted] });
        var othersView = await Assert.ThrowsAsync<AirlockApiException>(() => _session.GetSandboxAsync(created.Id));
        Assert.Equal([created.Id], matching.Items.Select(s => s.Id));
        Assert.Null(matching.Next);
        Assert.Empty(otherLabel.Items);
        Assert.Empty(otherState.Items);
        Assert.Equal(HttpStatusCode.NotFound, othersView.StatusCode);
        Assert.Contains(created.Id, othersView.Detail, StringComparison.Ordinal);

        await _admin.DeleteSandboxAsync(created.Id);
        await _admin.DeleteSandboxAsync(created.Id);

        Assert.Equal(SandboxState.Deleted, (await _admin.GetSandboxAsync(created.Id)).State);
        Assert.Empty(await _host.Driver.ListAsync(CancellationToken.None));
        Assert.Equal([created.Id], (await _admin.ListSandboxesAsync(new SandboxFilter { States = [SandboxState.Deleted] })).Items.Select(s => s.Id));
    }

    [Fact]
    public async Task A_sandbox_created_without_waiting_is_pending_then_ready()
    {
        var pending = await _session.CreateSandboxAsync(new CreateSandboxRequest { Policy = TestGateway.DenyAll }, wait: false);

        Assert.Equal(SandboxState.Pending, pending.State);
        // The driver's own start timeout (60 s) bounds this: a busy machine is slow, never stuck.
        var state = pending.State;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (state == SandboxState.Pending && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            state = (await _session.GetSandboxAsync(pending.Id)).State;
        }

        Assert.Equal(SandboxState.Ready, state);
    }

    [Fact]
    public async Task Paging_walks_every_sandbox_once_page_by_page_and_as_a_stream()
    {
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await _session.CreateSandboxAsync(new CreateSandboxRequest { Policy = TestGateway.DenyAll })).Id);
        }

        var first = await _session.ListSandboxesAsync(limit: 2);
        var second = await _session.ListSandboxesAsync(after: first.Next, limit: 2);
        var all = new List<string>();
        await foreach (var sandbox in _session.ListAllSandboxesAsync(pageSize: 2))
        {
            all.Add(sandbox.Id);
        }

        Assert.Equal(2, first.Items.Count);
        Assert.NotNull(first.Next);
        Assert.Single(second.Items);
        Assert.Null(second.Next);
        Assert.Equal(ids.Order(StringComparer.Ordinal), first.Items.Concat(second.Items).Select(s => s.Id).Order(StringComparer.Ordinal));
        Assert.Equal(first.Items.Concat(second.Items).Select(s => s.Id), all);
        Assert.Empty(await ToListAsync(_admin.ListAllSandboxesAsync(new SandboxFilter { Labels = new Dictionary<string, string> { ["none"] = "x" } }, pageSize: 1)));
    }

    [Theory]
    [InlineData(null, null, "policy", "give the policy's text")]
    [InlineData("version: 1\negress:\n  - alow: x\n", null, "policy", "policy:3:5")]
    [InlineData("version: 1\n", "2 days", "ttl", "duration")]
    [InlineData("version: 1\n", "0s", "ttl", "more than zero")]
    public async Task A_bad_create_request_surfaces_the_field_errors(string? policy, string? ttl, string field, string message)
    {
        var problem = await Assert.ThrowsAsync<AirlockApiException>(() => _admin.CreateSandboxAsync(new CreateSandboxRequest { Policy = policy, Ttl = ttl }));

        Assert.Equal(HttpStatusCode.BadRequest, problem.StatusCode);
        Assert.Contains(problem.Errors[field], e => e.Contains(message, StringComparison.Ordinal));
        Assert.Contains($"\n{field}: ", problem.Message, StringComparison.Ordinal);
        Assert.Empty(await _host.Driver.ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_stored_policy_that_does_not_exist_and_bad_list_parameters_name_their_fields()
    {
        var missing = await Assert.ThrowsAsync<AirlockApiException>(() => _admin.CreateSandboxAsync(new CreateSandboxRequest { PolicyName = "missing", PolicyVersion = 3 }));
        var cursor = await Assert.ThrowsAsync<AirlockApiException>(() => _admin.ListSandboxesAsync(after: "garbage"));
        var limit = await Assert.ThrowsAsync<AirlockApiException>(() => _admin.ListSandboxesAsync(limit: 0));

        Assert.Equal(["no version 3 of policy 'missing'"], missing.Errors["policyName"]);
        Assert.Equal((HttpStatusCode.BadRequest, "after"), (cursor.StatusCode, Assert.Single(cursor.Errors).Key));
        Assert.Equal("limit", Assert.Single(limit.Errors).Key);
    }

    [Fact]
    public async Task A_bad_or_missing_token_is_401_with_what_to_do_but_the_probes_need_none()
    {
        using var forged = new AirlockClient(_host.ApiAddress, "alk_abc_forged");
        using var anonymous = new AirlockClient(_host.ApiAddress, token: null);

        var bad = await Assert.ThrowsAsync<AirlockApiException>(() => forged.ListSandboxesAsync());
        var none = await Assert.ThrowsAsync<AirlockApiException>(() => anonymous.GetSandboxAsync("sb-00000000aa"));
        var health = await anonymous.GetHealthAsync();
        var readiness = await anonymous.GetReadinessAsync();

        Assert.Equal((HttpStatusCode.Unauthorized, "Unauthorized"), (bad.StatusCode, bad.Title));
        Assert.Contains("unknown, expired or revoked", bad.Detail, StringComparison.Ordinal);
        Assert.Empty(bad.Errors);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Contains("airlock token create", none.Message, StringComparison.Ordinal);
        Assert.Equal(new ProbeResult(true, "ok"), health);
        Assert.Equal(new ProbeResult(true, "ready"), readiness);
    }

    [Fact]
    public async Task A_gateway_behind_a_path_prefix_or_from_the_environment_is_addressed_right()
    {
        var token = await TestGateway.TokenAsync(_host, TokenScope.Admin);
        var variables = new Dictionary<string, string?> { [AirlockClient.ServerVariable] = _host.ApiAddress.ToString().TrimEnd('/'), [AirlockClient.TokenVariable] = token };
        using var fromEnvironment = AirlockClient.FromEnvironment(name => variables.GetValueOrDefault(name), null);
        using var prefixed = new AirlockClient(new Uri(_host.ApiAddress, "/gw"), token);

        Assert.Empty((await fromEnvironment.ListSandboxesAsync()).Items);
        Assert.Equal(new Uri(_host.ApiAddress, "/gw/"), prefixed.Server);
        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<AirlockApiException>(() => prefixed.ListSandboxesAsync())).StatusCode);
        Assert.Contains(AirlockClient.ServerVariable, Assert.Throws<InvalidOperationException>(() => AirlockClient.FromEnvironment(_ => null, null)).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => AirlockClient.FromEnvironment(n => n == AirlockClient.ServerVariable ? "ftp://x" : null, null));
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
