using System.Net;
using System.Text.Json;
using Airlock.Policy.Loading;
using Airlock.Server.Auth;

namespace Airlock.Server.Tests.Api;

/// <summary>Hot reload of a running sandbox's policy and policies suggested from a session's events, through a real gateway and real local sandboxes.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SandboxPolicyApiTests : GatewayTestBase
{
    private static Uri Relative(string path) => new(path, UriKind.Relative);

    private static StringContent Apply(string policy) => Body($"{{\"policy\":{JsonSerializer.Serialize(policy)}}}");

    [Fact]
    public async Task A_new_policy_is_recorded_acknowledged_by_the_proxy_and_enforced_at_once()
    {
        await using var origin = await LoopbackOrigin.StartAsync();
        var id = await SandboxCurl.CreateAsync(Session, "version: 1\ndefault: deny\negress: []\n" + LoopbackOrigin.AddressesAllow);
        var created = await JsonAsync(await Session.GetAsync(Relative($"/v1/sandboxes/{id}")));
        var before = await SandboxCurl.GetAsync(Session, id, origin.Url + "/x");

        var allow = $"version: 1\negress:\n  - allow: 127.0.0.2\n    ports: [{origin.Port}]\n" + LoopbackOrigin.AddressesAllow;
        var applied = await Session.PutAsync(Relative($"/v1/sandboxes/{id}/policy"), Apply(allow));
        var view = await JsonAsync(applied);
        var after = await SandboxCurl.GetAsync(Session, id, origin.Url + "/x");
        var stored = await JsonAsync(await Session.GetAsync(Relative($"/v1/policies/{id}?version=2")));

        Assert.Equal((id, 1, 1), (created.GetProperty("policyName").GetString(), created.GetProperty("policyVersion").GetInt32(), created.GetProperty("activePolicyVersion").GetInt32()));
        Assert.Equal("403", before);
        Assert.Equal(HttpStatusCode.OK, applied.StatusCode);
        Assert.Equal((id, 2, 2), (view.GetProperty("policyName").GetString(), view.GetProperty("policyVersion").GetInt32(), view.GetProperty("activePolicyVersion").GetInt32()));
        Assert.Equal("200 hello /x", after);
        Assert.Equal(allow, stored.GetProperty("text").GetString());
    }

    [Fact]
    public async Task An_invalid_policy_changes_nothing_and_says_where_it_is_wrong()
    {
        var id = await SandboxCurl.CreateAsync(Session, DenyAll);

        var refused = await Session.PutAsync(Relative($"/v1/sandboxes/{id}/policy"), Apply("version: 1\negress:\n  - allow: example.com\n    prots: [443]\n"));
        var problem = await JsonAsync(refused);
        var sandbox = await JsonAsync(await Session.GetAsync(Relative($"/v1/sandboxes/{id}")));
        var message = problem.GetProperty("errors").GetProperty("policy")[0].GetString();

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains(":4:5:", message, StringComparison.Ordinal);
        Assert.Contains("ports", message, StringComparison.Ordinal);
        Assert.Equal((1, 1), (sandbox.GetProperty("policyVersion").GetInt32(), sandbox.GetProperty("activePolicyVersion").GetInt32()));
        Assert.Equal(HttpStatusCode.NotFound, (await Session.GetAsync(Relative($"/v1/policies/{id}?version=2"))).StatusCode);
    }

    [Fact]
    public async Task A_stored_policy_can_be_applied_by_name_and_sandbox_policies_stay_with_their_sandbox()
    {
        var id = await SandboxCurl.CreateAsync(Session, DenyAll);
        var shared = await Admin.PutAsync(Relative("/v1/policies/shared"), new StringContent("version: 1\negress:\n  - allow: example.com\n"));
        var reserved = await Admin.PutAsync(Relative($"/v1/policies/{id}"), new StringContent(DenyAll));

        var applied = await JsonAsync(await Session.PutAsync(Relative($"/v1/sandboxes/{id}/policy"), Body("{\"policyName\":\"shared\"}")));
        var listed = await JsonAsync(await Admin.GetAsync(Relative("/v1/policies")));
        using var stranger = new HttpClient { BaseAddress = Host.ApiAddress };
        stranger.DefaultRequestHeaders.Authorization = new("Bearer", (await Host.Store.CreateTokenAsync(TokenScope.Sessions, null, "other", CancellationToken.None)).Token);
        var hidden = await stranger.GetAsync(Relative($"/v1/policies/{id}"));
        var notTheirs = await stranger.PutAsync(Relative($"/v1/sandboxes/{id}/policy"), Apply(DenyAll));

        Assert.Equal(HttpStatusCode.Created, shared.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, reserved.StatusCode);
        Assert.Equal(("shared", 1, 1), (applied.GetProperty("policyName").GetString(), applied.GetProperty("policyVersion").GetInt32(), applied.GetProperty("activePolicyVersion").GetInt32()));
        Assert.Equal(["shared"], listed.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, notTheirs.StatusCode);
    }

    [Fact]
    public async Task A_sandbox_that_is_not_running_takes_no_policy()
    {
        var id = await SandboxCurl.CreateAsync(Session, DenyAll);
        await Session.DeleteAsync(Relative($"/v1/sandboxes/{id}"));

        var refused = await Session.PutAsync(Relative($"/v1/sandboxes/{id}/policy"), Apply(DenyAll));

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("deleted", (await JsonAsync(refused)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_suggested_from_an_audited_session_allows_what_it_did_and_nothing_else()
    {
        await using var origin = await LoopbackOrigin.StartAsync();
        var id = await SandboxCurl.CreateAsync(Session, "version: 1\nmode: audit\ndefault: deny\negress: []\n" + LoopbackOrigin.AddressesAllow);
        foreach (var path in new[] { "/api/items/12345", "/api/items/67890", "/health?verbose=1" })
        {
            Assert.StartsWith("200 hello", await SandboxCurl.GetAsync(Session, id, origin.Url + path), StringComparison.Ordinal);
        }

        JsonElement suggestion = default;
        for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            suggestion = await JsonAsync(await Session.PostAsync(Relative("/v1/policies/suggest"), Body($"{{\"session\":\"{id}\",\"name\":\"learned\"}}")));
            if (suggestion.GetProperty("policy").GetString()!.Contains("/health", StringComparison.Ordinal))
            {
                break;
            }
        }

        var text = suggestion.GetProperty("policy").GetString()!;
        var loaded = PolicyLoader.Parse(text + LoopbackOrigin.AddressesAllow, "learned");
        var applied = await Session.PutAsync(Relative($"/v1/sandboxes/{id}/policy"), Apply(text + LoopbackOrigin.AddressesAllow));
        var sameKind = await SandboxCurl.GetAsync(Session, id, origin.Url + "/api/items/5");
        var other = await SandboxCurl.GetAsync(Session, id, origin.Url + "/admin");

        Assert.NotNull(loaded.Policy);
        Assert.Empty(loaded.Diagnostics.Where(d => d.IsError));
        Assert.Contains("name: \"learned\"", text, StringComparison.Ordinal);
        Assert.Contains($"allow: \"127.0.0.2\"\n    ports: [{origin.Port}]", text, StringComparison.Ordinal);
        Assert.Contains("methods: [GET]\n        paths: [\"/api/items/*\", \"/health\"]", text, StringComparison.Ordinal);
        Assert.Equal(1, suggestion.GetProperty("destinations").GetInt32());
        Assert.Equal(HttpStatusCode.OK, applied.StatusCode);
        Assert.Equal("200 hello /api/items/5", sameKind);
        Assert.Equal("403", other);
    }

    [Fact]
    public async Task A_suggestion_needs_a_session_the_caller_can_see()
    {
        var missing = await Session.PostAsync(Relative("/v1/policies/suggest"), Body("{}"));
        var unknown = await Session.PostAsync(Relative("/v1/policies/suggest"), Body("{\"session\":\"sb-0000000000\"}"));

        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }
}
