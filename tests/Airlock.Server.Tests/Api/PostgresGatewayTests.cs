using System.Net;
using System.Text.Json;
using Airlock.Server.Tests.Store;

namespace Airlock.Server.Tests.Api;

/// <summary>
/// The gateway on the PostgreSQL store (the multi-replica one), started by the test script: concurrent creates,
/// events, hot reload and approvals end to end, as on SQLite.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PostgresGatewayTests : GatewayTestBase
{
    private PostgresTestDatabase? _database;

    protected override async Task<string> StoreUrlAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync();
        return _database.Url;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    private static Uri Relative(string path) => new(path, UriKind.Relative);

    [Fact]
    public async Task Concurrent_creates_each_get_their_own_ready_sandbox_and_all_are_listed()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Session.PostAsync(Relative("/v1/sandboxes"), Body($"{{\"policy\":{JsonSerializer.Serialize(DenyAll)}}}"))));
        var views = await Task.WhenAll(responses.Select(JsonAsync));
        var listed = await JsonAsync(await Session.GetAsync(Relative("/v1/sandboxes?state=ready&limit=100")));
        var running = await Host.Driver.ListAsync(CancellationToken.None);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        var ids = views.Select(v => v.GetProperty("id").GetString()!).ToHashSet();
        Assert.Equal(8, ids.Count);
        Assert.Equal(ids, listed.GetProperty("items").EnumerateArray().Select(v => v.GetProperty("id").GetString()!).ToHashSet());
        Assert.Equal(ids, running.Select(s => s.Id).ToHashSet());
    }

    [Fact]
    public async Task A_denial_is_stored_a_new_policy_is_acknowledged_and_an_approval_lets_a_request_through()
    {
        await using var origin = await LoopbackOrigin.StartAsync();
        var id = await SandboxCurl.CreateAsync(Session, "version: 1\ndefault: deny\negress: []\n" + LoopbackOrigin.AddressesAllow);
        var denied = await SandboxCurl.GetAsync(Session, id, origin.Url + "/denied");
        JsonElement[] events = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(60); events.Length == 0 && DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            events = [.. (await JsonAsync(await Session.GetAsync(Relative($"/v1/events?session={id}&decision=deny")))).GetProperty("items").EnumerateArray()];
        }

        var ask = "version: 1\negress:\n  - ask: 127.0.0.2\n    timeout: 60s\n" + LoopbackOrigin.AddressesAllow;
        var applied = await JsonAsync(await Session.PutAsync(Relative($"/v1/sandboxes/{id}/policy"), Body($"{{\"policy\":{JsonSerializer.Serialize(ask)}}}")));
        var held = SandboxCurl.GetAsync(Session, id, origin.Url + "/asked");
        JsonElement approval = default;
        for (var deadline = DateTime.UtcNow.AddSeconds(60); approval.ValueKind == JsonValueKind.Undefined && DateTime.UtcNow < deadline; await Task.Delay(50))
        {
            var pending = (await JsonAsync(await Session.GetAsync(Relative($"/v1/approvals?session={id}")))).GetProperty("items");
            approval = pending.GetArrayLength() > 0 ? pending[0] : default;
        }

        var decided = await Session.PostAsync(Relative($"/v1/approvals/{approval.GetProperty("id").GetString()}"), Body("{\"decision\":\"approve\"}"));

        Assert.Equal("403", denied);
        Assert.Contains(events, e => e.GetProperty("host").GetString() == "127.0.0.2" && e.GetProperty("reason").GetString() == "default_deny");
        Assert.Equal(2, applied.GetProperty("activePolicyVersion").GetInt32());
        Assert.Equal(HttpStatusCode.OK, decided.StatusCode);
        Assert.Equal("200 hello /asked", await held);
    }
}
