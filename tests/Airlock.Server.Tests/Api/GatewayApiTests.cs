using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;
using Microsoft.Extensions.Logging.Abstractions;

namespace Airlock.Server.Tests.Api;

/// <summary>The REST API of a real gateway (in process, loopback), a real SQLite store and real local sandboxes.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GatewayApiTests : GatewayTestBase
{

    [Fact]
    public async Task Every_endpoint_but_the_probes_needs_a_valid_token()
    {
        var none = await Anonymous.GetAsync(new Uri("/v1/sandboxes", UriKind.Relative));
        using var forged = new HttpRequestMessage(HttpMethod.Get, "/v1/events");
        forged.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "alk_abc_forged");
        var bad = await Anonymous.SendAsync(forged);
        var health = await Anonymous.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer realm=\"airlock\"", none.Headers.WwwAuthenticate.ToString());
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType?.MediaType);
        Assert.Contains("airlock token create", (await JsonAsync(none)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task The_openapi_document_describes_the_api()
    {
        var response = await Admin.GetAsync(new Uri("/openapi.json", UriKind.Relative));
        var document = await JsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("3.", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/v1/sandboxes", paths);
        Assert.Contains("/v1/sandboxes/{id}", paths);
        Assert.Contains("/v1/events/stream", paths);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Anonymous.GetAsync(new Uri("/openapi.json", UriKind.Relative))).StatusCode);
    }

    [Theory]
    [InlineData("{}", "policy", "give the policy's text")]
    [InlineData("{\"policy\":\"version: 1\\negress:\\n  - alow: x\\n\"}", "policy", "policy:3:5")]
    [InlineData("{\"policyName\":\"missing\"}", "policyName", "no policy 'missing'")]
    [InlineData("{\"policy\":\"version: 1\\n\",\"ttl\":\"2 days\"}", "ttl", "duration")]
    [InlineData("{\"policy\":\"version: 1\\n\",\"idleTimeout\":\"0s\"}", "idleTimeout", "more than zero")]
    public async Task A_bad_create_request_is_a_validation_problem_naming_the_field(string json, string field, string message)
    {
        var response = await Admin.PostAsync(new Uri("/v1/sandboxes", UriKind.Relative), Body(json));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await JsonAsync(response);
        var errors = problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Contains(errors, e => e.Contains(message, StringComparison.Ordinal));
        Assert.Empty(await Host.Driver.ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_malformed_body_is_a_4xx_not_a_crash()
    {
        var response = await Admin.PostAsync(new Uri("/v1/sandboxes", UriKind.Relative), Body("{\"policy\": "));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_sandbox_is_created_ready_listed_seen_only_by_its_owner_and_deleted()
    {
        var created = await Admin.PostAsync(new Uri("/v1/sandboxes", UriKind.Relative), Body($"{{\"policy\":{JsonSerializer.Serialize(DenyAll)},\"ttl\":\"1h\",\"labels\":{{\"team\":\"a\"}}}}"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var sandbox = await JsonAsync(created);
        var id = sandbox.GetProperty("id").GetString()!;
        Assert.Equal(("ready", "local"), (sandbox.GetProperty("state").GetString(), sandbox.GetProperty("driver").GetString()));
        Assert.Equal($"/v1/sandboxes/{id}", created.Headers.Location?.ToString());
        Assert.Equal([id], (await Host.Driver.ListAsync(CancellationToken.None)).Select(s => s.Id));

        var listed = await JsonAsync(await Admin.GetAsync(new Uri("/v1/sandboxes?state=ready&label=team=a", UriKind.Relative)));
        var filteredOut = await JsonAsync(await Admin.GetAsync(new Uri("/v1/sandboxes?label=team=b", UriKind.Relative)));
        var othersView = await Session.GetAsync(new Uri($"/v1/sandboxes/{id}", UriKind.Relative));
        var othersList = await JsonAsync(await Session.GetAsync(new Uri("/v1/sandboxes", UriKind.Relative)));
        var othersDelete = await Session.DeleteAsync(new Uri($"/v1/sandboxes/{id}", UriKind.Relative));

        Assert.Equal([id], listed.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()));
        Assert.Empty(filteredOut.GetProperty("items").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, othersView.StatusCode);
        Assert.Empty(othersList.GetProperty("items").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, othersDelete.StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync(new Uri($"/v1/sandboxes/{id}", UriKind.Relative))).StatusCode);
        var after = await JsonAsync(await Admin.GetAsync(new Uri($"/v1/sandboxes/{id}", UriKind.Relative)));
        Assert.Equal("deleted", after.GetProperty("state").GetString());
        Assert.Empty(await Host.Driver.ListAsync(CancellationToken.None));
        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync(new Uri($"/v1/sandboxes/{id}", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_local_sandboxs_denied_request_reaches_the_event_history_through_the_control_plane()
    {
        var created = await Session.PostAsync(new Uri("/v1/sandboxes", UriKind.Relative), Body($"{{\"policy\":{JsonSerializer.Serialize(DenyAll)}}}"));
        var id = (await JsonAsync(created)).GetProperty("id").GetString()!;
        using var stdout = new MemoryStream();

        var exit = await Host.Driver.ExecAsync(
            id,
            new Airlock.Sandboxes.ExecRequest { Command = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://blocked.example/"] },
            new Airlock.Sandboxes.ExecStreams(null, stdout, Stream.Null),
            CancellationToken.None);

        Assert.Equal((0, "403"), (exit, Encoding.UTF8.GetString(stdout.ToArray())));
        JsonElement[] events = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(30); events.Length == 0 && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(50);
            events = [.. (await JsonAsync(await Session.GetAsync(new Uri($"/v1/events?session={id}&decision=deny", UriKind.Relative)))).GetProperty("items").EnumerateArray()];
        }

        var denied = Assert.Single(events, e => e.GetProperty("host").GetString() == "blocked.example");
        Assert.Equal((id, "default_deny"), (denied.GetProperty("session").GetString(), denied.GetProperty("reason").GetString()));
        var sandbox = await JsonAsync(await Session.GetAsync(new Uri($"/v1/sandboxes/{id}", UriKind.Relative)));
        Assert.True(sandbox.TryGetProperty("lastActivityAt", out _), "the event marks the sandbox active");
    }

    [Fact]
    public async Task Paging_walks_every_sandbox_once()
    {
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var created = await Session.PostAsync(new Uri("/v1/sandboxes", UriKind.Relative), Body($"{{\"policy\":{JsonSerializer.Serialize(DenyAll)}}}"));
            ids.Add((await JsonAsync(created)).GetProperty("id").GetString()!);
        }

        var seen = new List<string>();
        string? next = null;
        do
        {
            var page = await JsonAsync(await Session.GetAsync(new Uri("/v1/sandboxes?limit=2" + (next is null ? string.Empty : "&after=" + Uri.EscapeDataString(next)), UriKind.Relative)));
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()!));
            next = page.TryGetProperty("next", out var cursor) ? cursor.GetString() : null;
        }
        while (next is not null);

        Assert.Equal(ids.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
        Assert.Equal(HttpStatusCode.BadRequest, (await Session.GetAsync(new Uri("/v1/sandboxes?after=garbage", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Session.GetAsync(new Uri("/v1/sandboxes?state=running", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Events_from_a_proxy_are_stored_filtered_and_streamed_resuming_without_gaps_or_duplicates()
    {
        await using var proxy = new ControlChannel(
            ControlEndpoint.Tcp("127.0.0.1", Host.ControlAddress.Port),
            new ControlChannelOptions { SessionId = "sb-00000000aa", SpoolPath = Path.Combine(Root.FullName, "spool") },
            new NoPolicyUpdates(),
            NullLogger<ControlChannel>.Instance);
        proxy.Start();
        for (var i = 0; i < 10; i++)
        {
            proxy.SendEvent(Event(i));
        }

        Assert.True(await Eventually(() => Host.StoredEvents == 10));
        var denied = await JsonAsync(await Admin.GetAsync(new Uri("/v1/events?session=sb-00000000aa&decision=deny", UriKind.Relative)));
        Assert.Equal(["e1", "e3", "e5", "e7", "e9"], denied.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetString()));
        var firstPage = await JsonAsync(await Admin.GetAsync(new Uri("/v1/events?limit=4", UriKind.Relative)));
        var next = firstPage.GetProperty("next").GetString();
        var secondPage = await JsonAsync(await Admin.GetAsync(new Uri($"/v1/events?limit=4&after={next}", UriKind.Relative)));
        Assert.Equal(["e4", "e5", "e6", "e7"], secondPage.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, (await Session.GetAsync(new Uri("/v1/events", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Session.GetAsync(new Uri("/v1/events?session=sb-00000000aa", UriKind.Relative))).StatusCode);

        // A stream resuming after the 3rd stored event gets the 7 after it, then live ones, each once.
        var third = await SeqOfAsync("e2");
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/events/stream?session=sb-00000000aa");
        request.Headers.Add("Last-Event-ID", third.ToString(CultureInfo.InvariantCulture));
        using var response = await Admin.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        var received = new List<(long Seq, string Id)>();
        var live = Task.Run(async () =>
        {
            await Task.Delay(300, cancel.Token);
            for (var i = 10; i < 15; i++)
            {
                proxy.SendEvent(Event(i));
            }
        });
        long seq = 0;
        while (received.Count < 12 && await reader.ReadLineAsync(cancel.Token) is { } line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                seq = long.Parse(line[4..], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                received.Add((seq, JsonDocument.Parse(line[6..]).RootElement.GetProperty("id").GetString()!));
            }
        }

        await live;
        Assert.Equal(Enumerable.Range(3, 12).Select(i => $"e{i}"), received.Select(r => r.Id));
        Assert.Equal(received.Select(r => r.Seq).Order(), received.Select(r => r.Seq));
        Assert.Equal(received.Count, received.Select(r => r.Seq).Distinct().Count());
    }

    private async Task<long> SeqOfAsync(string eventId)
    {
        var all = await JsonAsync(await Admin.GetAsync(new Uri("/v1/events?limit=1000", UriKind.Relative)));
        var index = all.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetString()).ToList().IndexOf(eventId);
        var page = await JsonAsync(await Admin.GetAsync(new Uri($"/v1/events?limit={index + 1}", UriKind.Relative)));
        return long.Parse(page.GetProperty("next").GetString()!, CultureInfo.InvariantCulture);
    }

    private static byte[] Event(int i) => Encoding.UTF8.GetBytes(EventJson.ToJson(new EgressEvent
    {
        Type = EgressEventType.Request,
        Ts = DateTimeOffset.UtcNow,
        Session = "sb-00000000aa",
        Id = $"e{i}",
        Conn = "c-1",
        Decision = i % 2 == 0 ? "allow" : "deny",
        Reason = i % 2 == 0 ? "rule" : "default_deny",
        Mode = "enforce",
        Host = "example.org",
        Port = 443,
        Tls = "intercepted",
    }) + "\n");

    private static async Task<bool> Eventually(Func<bool> condition)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); !condition() && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(25);
        }

        return condition();
    }
}
