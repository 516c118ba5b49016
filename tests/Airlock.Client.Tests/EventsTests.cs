using System.Net;
using System.Threading.Channels;
using Airlock.Server.Auth;
using Airlock.Server.Hosting;

namespace Airlock.Client.Tests;

/// <summary>Events through the SDK: a proxy's real control channel feeds a real gateway; the SDK queries and streams.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EventsTests : IAsyncLifetime
{
    private const string Session = "sb-00000000aa";
    private static readonly EventStreamOptions Fast = new() { MinReconnectDelay = TimeSpan.FromMilliseconds(50), MaxReconnectDelay = TimeSpan.FromMilliseconds(500) };
    private DirectoryInfo _dir = null!;
    private GatewayHost? _host;

    public Task InitializeAsync()
    {
        _dir = TestGateway.NewDirectory();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await TestGateway.StopAsync(_host);
        }

        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task The_history_is_filtered_paged_and_typed()
    {
        _host = await TestGateway.StartAsync(_dir);
        using var admin = new AirlockClient(_host.ApiAddress, await TestGateway.TokenAsync(_host, TokenScope.Admin));
        using var session = new AirlockClient(_host.ApiAddress, await TestGateway.TokenAsync(_host, TokenScope.Sessions));
        await using var proxy = TestGateway.Proxy(_host.ControlAddress.Port, Session, _dir);
        for (var i = 0; i < 10; i++)
        {
            proxy.SendEvent(TestGateway.Event(Session, i));
        }

        Assert.True(await TestGateway.EventuallyAsync(() => _host.StoredEvents == 10));

        var denied = await admin.QueryEventsAsync(new EventFilter { Session = Session, Decision = "deny" });
        var first = await admin.QueryEventsAsync(limit: 4);
        var second = await admin.QueryEventsAsync(after: first.Next, limit: 4);
        var all = new List<EgressEvent>();
        await foreach (var e in admin.QueryAllEventsAsync(pageSize: 3))
        {
            all.Add(e);
        }

        var future = await admin.QueryEventsAsync(new EventFilter { From = DateTimeOffset.UtcNow.AddMinutes(1) });
        var otherHost = await admin.QueryEventsAsync(new EventFilter { Host = "elsewhere.example" });

        Assert.Equal(["e1", "e3", "e5", "e7", "e9"], denied.Items.Select(e => e.Id));
        Assert.Null(denied.Next);
        var e1 = denied.Items[0];
        Assert.Equal((Session, "request", "deny", "default_deny"), (e1.Session, e1.Type, e1.Decision, e1.Reason));
        Assert.Equal(("example.org", 443, "GET", "/1", 403, "c-1"), (e1.Host, e1.Port, e1.Method, e1.Path, e1.Status, e1.Conn));
        Assert.InRange(e1.Ts, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow);
        Assert.Equal("inspect", e1.Json.GetProperty("tls").GetString());
        Assert.Equal(["e4", "e5", "e6", "e7"], second.Items.Select(e => e.Id));
        Assert.NotNull(second.Next);
        Assert.True(second.Next > first.Next);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"e{i}"), all.Select(e => e.Id));
        Assert.Empty(future.Items);
        Assert.Empty(otherHost.Items);

        var unnamed = await Assert.ThrowsAsync<AirlockApiException>(() => session.QueryEventsAsync());
        var notTheirs = await Assert.ThrowsAsync<AirlockApiException>(() => session.QueryEventsAsync(new EventFilter { Session = Session }));
        var badDecision = await Assert.ThrowsAsync<AirlockApiException>(() => admin.QueryEventsAsync(new EventFilter { Decision = "maybe" }));
        Assert.Equal((HttpStatusCode.BadRequest, "session"), (unnamed.StatusCode, Assert.Single(unnamed.Errors).Key));
        Assert.Equal(HttpStatusCode.NotFound, notTheirs.StatusCode);
        Assert.Equal(["allow, deny or ask"], badDecision.Errors["decision"]);
    }

    [Fact]
    public async Task The_stream_sends_the_stored_events_after_a_seq_then_live_ones_each_once()
    {
        _host = await TestGateway.StartAsync(_dir);
        using var admin = new AirlockClient(_host.ApiAddress, await TestGateway.TokenAsync(_host, TokenScope.Admin));
        await using var proxy = TestGateway.Proxy(_host.ControlAddress.Port, Session, _dir);
        await using var other = TestGateway.Proxy(_host.ControlAddress.Port, "sb-00000000bb", _dir);
        other.SendEvent(TestGateway.Event("sb-00000000bb", 100));
        for (var i = 0; i < 10; i++)
        {
            proxy.SendEvent(TestGateway.Event(Session, i));
        }

        Assert.True(await TestGateway.EventuallyAsync(() => _host.StoredEvents == 11));
        var afterThird = (await admin.QueryEventsAsync(new EventFilter { Session = Session }, limit: 3)).Next;
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var received = new List<EgressEventEnvelope>();
        var live = Task.Run(async () =>
        {
            await Task.Delay(300, cancel.Token);
            other.SendEvent(TestGateway.Event("sb-00000000bb", 101));
            for (var i = 10; i < 15; i++)
            {
                proxy.SendEvent(TestGateway.Event(Session, i));
            }
        });

        await foreach (var e in admin.StreamEventsAsync(new EventFilter { Session = Session }, afterThird, Fast, cancel.Token))
        {
            received.Add(e);
            if (received.Count == 12)
            {
                break;
            }
        }

        await live;
        Assert.Equal(Enumerable.Range(3, 12).Select(i => $"e{i}"), received.Select(r => r.Event.Id));
        Assert.All(received, r => Assert.True(r.Seq > afterThird));
        Assert.Equal(received.Select(r => r.Seq).Order(), received.Select(r => r.Seq));
        Assert.Equal(received.Count, received.Select(r => r.Seq).Distinct().Count());
    }

    [Fact]
    public async Task A_stream_the_gateway_refuses_throws_instead_of_retrying()
    {
        _host = await TestGateway.StartAsync(_dir);
        using var session = new AirlockClient(_host.ApiAddress, await TestGateway.TokenAsync(_host, TokenScope.Sessions));
        using var forged = new AirlockClient(_host.ApiAddress, "alk_abc_forged");
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var unnamed = await Assert.ThrowsAsync<AirlockApiException>(async () => await session.StreamEventsAsync(null, null, Fast, cancel.Token).GetAsyncEnumerator(cancel.Token).MoveNextAsync());
        var unauthorized = await Assert.ThrowsAsync<AirlockApiException>(async () => await forged.StreamEventsAsync(null, null, Fast, cancel.Token).GetAsyncEnumerator(cancel.Token).MoveNextAsync());

        Assert.Equal("session", Assert.Single(unnamed.Errors).Key);
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.False(cancel.IsCancellationRequested);
    }

    /// <summary>
    /// The gateway stops while a stream is open and events keep coming (the proxy spools them); a new gateway on the
    /// same store and ports takes over. The SDK's stream reconnects only once those events are stored, so it can
    /// get them only by resuming with Last-Event-ID from the store.
    /// </summary>
    [Fact]
    public async Task The_stream_resumes_across_a_gateway_restart_without_gaps_or_duplicates()
    {
        var (apiPort, controlPort) = (TestGateway.FreePort(), TestGateway.FreePort());
        _host = await TestGateway.StartAsync(_dir, apiPort, controlPort);
        var token = await TestGateway.TokenAsync(_host, TokenScope.Admin);
        var gate = new StreamGate();
        using var admin = new AirlockClient(_host.ApiAddress, token, new HttpClient(gate));
        await using var proxy = TestGateway.Proxy(controlPort, Session, _dir);
        proxy.SendEvent(TestGateway.Event(Session, 0));
        Assert.True(await TestGateway.EventuallyAsync(() => _host.StoredEvents == 1));

        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var received = Channel.CreateUnbounded<EgressEventEnvelope>();
        var reading = Task.Run(async () =>
        {
            await foreach (var e in admin.StreamEventsAsync(new EventFilter { Session = Session }, after: 0, Fast, cancel.Token))
            {
                received.Writer.TryWrite(e);
            }
        });
        async Task<List<EgressEventEnvelope>> TakeAsync(int count)
        {
            var taken = new List<EgressEventEnvelope>();
            while (taken.Count < count)
            {
                taken.Add(await received.Reader.ReadAsync(cancel.Token));
            }

            return taken;
        }

        var before = await TakeAsync(1);
        for (var i = 1; i < 5; i++)
        {
            proxy.SendEvent(TestGateway.Event(Session, i));
        }

        before.AddRange(await TakeAsync(4));

        gate.Close();
        await _host.DisposeAsync();
        for (var i = 5; i < 10; i++)
        {
            proxy.SendEvent(TestGateway.Event(Session, i));
        }

        _host = await TestGateway.StartAsync(_dir, apiPort, controlPort);
        Assert.True(await TestGateway.EventuallyAsync(() => _host.StoredEvents == 5), "the proxy's spool reached the new gateway");
        gate.Open();
        var resumed = await TakeAsync(5);
        for (var i = 10; i < 15; i++)
        {
            proxy.SendEvent(TestGateway.Event(Session, i));
        }

        var after = await TakeAsync(5);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);

        var all = before.Concat(resumed).Concat(after).ToList();
        Assert.Equal(Enumerable.Range(0, 15).Select(i => $"e{i}"), all.Select(e => e.Event.Id));
        Assert.Equal(all.Select(e => e.Seq).Order(), all.Select(e => e.Seq));
        Assert.Equal(15, all.Select(e => e.Seq).Distinct().Count());
        Assert.False(received.Reader.TryRead(out _), "nothing more, nothing twice");
        Assert.Equal("0", gate.LastEventIds[0]);
        Assert.Contains(before[^1].Seq.ToString(System.Globalization.CultureInfo.InvariantCulture), gate.LastEventIds.Skip(1));
    }

    /// <summary>Holds new stream connections while closed (they fail as a refused connection would), and records Last-Event-ID.</summary>
    private sealed class StreamGate() : DelegatingHandler(new SocketsHttpHandler())
    {
        private volatile bool _closed;

        public List<string?> LastEventIds { get; } = [];

        public void Close() => _closed = true;

        public void Open() => _closed = false;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.AbsolutePath.EndsWith("/events/stream", StringComparison.Ordinal))
            {
                if (_closed)
                {
                    throw new HttpRequestException("the test holds the stream back");
                }

                lock (LastEventIds)
                {
                    LastEventIds.Add(request.Headers.TryGetValues("Last-Event-ID", out var values) ? values.Single() : null);
                }
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
