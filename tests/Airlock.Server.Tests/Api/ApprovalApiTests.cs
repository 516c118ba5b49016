using System.Net;
using System.Text.Json;
using System.Threading.Channels;
using Airlock.Server.Auth;

namespace Airlock.Server.Tests.Api;

/// <summary>Held <c>ask</c> decisions through a real gateway: a real local sandbox's proxy asks, a person decides over the API.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ApprovalApiTests : GatewayTestBase
{
    private static Uri Relative(string path) => new(path, UriKind.Relative);

    private static string AskPolicy(string timeout) =>
        $"version: 1\negress:\n  - name: ask-origin\n    ask: 127.0.0.2\n    timeout: {timeout}\n" + LoopbackOrigin.AddressesAllow;

    /// <summary>The first pending approval of <paramref name="sandbox"/> that is not one of <paramref name="seen"/>.</summary>
    private async Task<JsonElement> PendingAsync(string sandbox, params string[] seen)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline; await Task.Delay(50))
        {
            var items = (await JsonAsync(await Session.GetAsync(Relative($"/v1/approvals?session={sandbox}")))).GetProperty("items");
            foreach (var item in items.EnumerateArray())
            {
                if (!seen.Contains(item.GetProperty("id").GetString()))
                {
                    return item;
                }
            }
        }

        throw new TimeoutException($"no pending approval for {sandbox}");
    }

    private Task<HttpResponseMessage> DecideAsync(string id, string decision, string? scope = null) =>
        Session.PostAsync(Relative($"/v1/approvals/{id}"), Body(scope is null ? $"{{\"decision\":\"{decision}\"}}" : $"{{\"decision\":\"{decision}\",\"scope\":\"{scope}\"}}"));

    [Fact]
    public async Task An_ask_is_listed_streamed_and_decided_once_and_the_held_request_follows_the_decision()
    {
        await using var origin = await LoopbackOrigin.StartAsync();
        var id = await SandboxCurl.CreateAsync(Session, AskPolicy("60s"));
        using var streamCancel = new CancellationTokenSource();
        var streamed = Channel.CreateUnbounded<JsonElement>();
        var stream = ReadApprovalStreamAsync(id, streamed.Writer, streamCancel.Token);

        var firstCurl = SandboxCurl.GetAsync(Session, id, origin.Url + "/first");
        var first = await PendingAsync(id);
        var firstId = first.GetProperty("id").GetString()!;
        var announced = await NextAsync(streamed.Reader, firstId);
        var approved = await DecideAsync(firstId, "approve");
        var approvedView = await JsonAsync(approved);
        var again = await DecideAsync(firstId, "deny");

        Assert.Equal(("127.0.0.2", origin.Port, "ask-origin", "pending"), (first.GetProperty("host").GetString(), first.GetProperty("port").GetInt32(), first.GetProperty("rule").GetString(), first.GetProperty("state").GetString()));
        Assert.Equal("pending", announced.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        Assert.Equal(("approved", "once"), (approvedView.GetProperty("state").GetString(), approvedView.GetProperty("scope").GetString()));
        Assert.Equal("200 hello /first", await firstCurl);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("approved", (await NextAsync(streamed.Reader, firstId)).GetProperty("state").GetString());

        // Once means once: the next request asks again, and a denial refuses it.
        var secondCurl = SandboxCurl.GetAsync(Session, id, origin.Url + "/second");
        var secondId = (await PendingAsync(id, firstId)).GetProperty("id").GetString()!;
        var denied = await DecideAsync(secondId, "deny");

        Assert.Equal(HttpStatusCode.OK, denied.StatusCode);
        Assert.Equal("403", await secondCurl);
        Assert.Equal("denied", (await JsonAsync(await Session.GetAsync(Relative($"/v1/approvals/{secondId}")))).GetProperty("state").GetString());
        await streamCancel.CancelAsync();
        await stream;
    }

    [Fact]
    public async Task Approving_for_the_session_amends_its_policy_so_later_requests_pass_without_asking()
    {
        await using var origin = await LoopbackOrigin.StartAsync();
        var id = await SandboxCurl.CreateAsync(Session, AskPolicy("60s"));

        var firstCurl = SandboxCurl.GetAsync(Session, id, origin.Url + "/one");
        var pending = await PendingAsync(id);
        var approved = await DecideAsync(pending.GetProperty("id").GetString()!, "approve", "session");
        var first = await firstCurl;
        JsonElement sandbox = default;
        for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline; await Task.Delay(50))
        {
            sandbox = await JsonAsync(await Session.GetAsync(Relative($"/v1/sandboxes/{id}")));
            if (sandbox.GetProperty("activePolicyVersion").GetInt32() == 2)
            {
                break;
            }
        }

        var second = await SandboxCurl.GetAsync(Session, id, origin.Url + "/two");
        var amended = (await JsonAsync(await Session.GetAsync(Relative($"/v1/policies/{id}?version=2")))).GetProperty("text").GetString()!;
        var stillPending = (await JsonAsync(await Session.GetAsync(Relative($"/v1/approvals?session={id}")))).GetProperty("items");

        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        Assert.Equal("200 hello /one", first);
        Assert.Equal((2, 2), (sandbox.GetProperty("policyVersion").GetInt32(), sandbox.GetProperty("activePolicyVersion").GetInt32()));
        Assert.Contains("allow: 127.0.0.2", amended, StringComparison.Ordinal);
        Assert.Contains($"ports: [{origin.Port}]", amended, StringComparison.Ordinal);
        Assert.Equal("200 hello /two", second);
        Assert.Equal(0, stillPending.GetArrayLength());
    }

    [Fact]
    public async Task An_ask_nobody_answers_times_out_is_refused_and_cannot_be_decided_later()
    {
        await using var origin = await LoopbackOrigin.StartAsync();
        var id = await SandboxCurl.CreateAsync(Session, AskPolicy("2s"));

        var curl = SandboxCurl.GetAsync(Session, id, origin.Url + "/late");
        var approvalId = (await PendingAsync(id)).GetProperty("id").GetString()!;
        var refused = await curl;
        JsonElement approval = default;
        for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            approval = await JsonAsync(await Session.GetAsync(Relative($"/v1/approvals/{approvalId}")));
            if (approval.GetProperty("state").GetString() != "pending")
            {
                break;
            }
        }

        var late = await DecideAsync(approvalId, "approve");

        Assert.Equal("403", refused);
        Assert.Equal("timedOut", approval.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Equal("timedOut", (await JsonAsync(late)).GetProperty("state").GetString());
    }

    [Fact]
    public async Task Decisions_are_validated_and_approvals_are_private_to_their_sandboxes()
    {
        await using var origin = await LoopbackOrigin.StartAsync();
        var id = await SandboxCurl.CreateAsync(Session, AskPolicy("60s"));
        var curl = SandboxCurl.GetAsync(Session, id, origin.Url + "/private");
        var approvalId = (await PendingAsync(id)).GetProperty("id").GetString()!;
        using var stranger = new HttpClient { BaseAddress = Host.ApiAddress };
        stranger.DefaultRequestHeaders.Authorization = new("Bearer", (await Host.Store.CreateTokenAsync(TokenScope.Sessions, null, "other", CancellationToken.None)).Token);

        var badDecision = await DecideAsync(approvalId, "maybe", "forever");
        var strangerList = (await JsonAsync(await stranger.GetAsync(Relative("/v1/approvals")))).GetProperty("items");
        var strangerDecides = await stranger.PostAsync(Relative($"/v1/approvals/{approvalId}"), Body("{\"decision\":\"approve\"}"));
        var unknown = await DecideAsync("0123456789abcdef", "approve");
        var adminList = (await JsonAsync(await Admin.GetAsync(Relative("/v1/approvals")))).GetProperty("items");
        var denied = await DecideAsync(approvalId, "deny");

        var errors = (await JsonAsync(badDecision)).GetProperty("errors");
        Assert.Equal(HttpStatusCode.BadRequest, badDecision.StatusCode);
        Assert.True(errors.TryGetProperty("decision", out _) && errors.TryGetProperty("scope", out _), errors.ToString());
        Assert.Equal(0, strangerList.GetArrayLength());
        Assert.Equal(HttpStatusCode.NotFound, strangerDecides.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains(adminList.EnumerateArray(), a => a.GetProperty("id").GetString() == approvalId);
        Assert.Equal(HttpStatusCode.OK, denied.StatusCode);
        Assert.Equal("403", await curl);
    }

    private async Task ReadApprovalStreamAsync(string sandbox, ChannelWriter<JsonElement> into, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Relative($"/v1/approvals/stream?session={sandbox}"));
            using var response = await Session.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
            string? eventName = null;
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    eventName = line[7..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal) && eventName == "approval")
                {
                    into.TryWrite(JsonDocument.Parse(line[6..]).RootElement.Clone());
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            into.TryComplete();
        }
    }

    private static async Task<JsonElement> NextAsync(ChannelReader<JsonElement> reader, string approvalId)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var item in reader.ReadAllAsync(deadline.Token))
        {
            if (item.GetProperty("id").GetString() == approvalId)
            {
                return item;
            }
        }

        throw new InvalidOperationException("the approval stream ended");
    }
}
