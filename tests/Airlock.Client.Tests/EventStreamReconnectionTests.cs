using System.Net;
using System.Text;
using Airlock.Client.Tests.Sse;

namespace Airlock.Client.Tests;

/// <summary>The stream's reconnection against a scripted gateway: every attempt's answer is chosen by the test.</summary>
public sealed class EventStreamReconnectionTests
{
    private static readonly EventStreamOptions Fast = new() { MinReconnectDelay = TimeSpan.FromMilliseconds(10), MaxReconnectDelay = TimeSpan.FromMilliseconds(40) };

    private static string Sse(params (long Seq, string Id)[] events) =>
        string.Concat(events.Select(e => $"id: {e.Seq}\nevent: egress\ndata: {{\"v\":1,\"type\":\"request\",\"ts\":\"2026-11-23T12:00:00.123Z\",\"session\":\"sb-1\",\"id\":\"{e.Id}\",\"conn\":\"c\",\"decision\":\"deny\",\"host\":\"h\",\"port\":443,\"tls\":\"none\"}}\n\n"));

    private static HttpResponseMessage Ok(string body, bool thenSilent = false) => new(HttpStatusCode.OK)
    {
        Content = new StreamContent(thenSilent ? new ThenSilentStream(Encoding.UTF8.GetBytes(body)) : new MemoryStream(Encoding.UTF8.GetBytes(body))),
    };

    private static HttpResponseMessage Problem(HttpStatusCode status, string title) => new(status)
    {
        Content = new StringContent($"{{\"title\":\"{title}\",\"status\":{(int)status},\"detail\":\"scripted\"}}", Encoding.UTF8, "application/problem+json"),
    };

    private static async Task<List<EgressEventEnvelope>> TakeAsync(AirlockClient client, int count, EventStreamOptions options)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var taken = new List<EgressEventEnvelope>();
        await foreach (var e in client.StreamEventsAsync(new EventFilter { Session = "sb-1" }, null, options, timeout.Token))
        {
            taken.Add(e);
            if (taken.Count == count)
            {
                break;
            }
        }

        return taken;
    }

    [Fact]
    public async Task Reconnects_with_the_last_seq_through_failures_and_never_yields_an_event_twice()
    {
        var gateway = new ScriptedGateway(
            _ => Ok(Sse((1, "e1"), (2, "e2"))),
            _ => throw new HttpRequestException("connection refused"),
            _ => Problem(HttpStatusCode.ServiceUnavailable, "Restarting"),
            _ => Ok(Sse((2, "e2"), (3, "e3")) + "id: 99\nevent: approval\ndata: {}\n\n"),
            _ => Ok(": keep-alive\n\n" + Sse((3, "e3"), (4, "e4"))));
        using var client = new AirlockClient(new Uri("http://gateway.test/prefix"), "alk_x_y", gateway.Client);

        var events = await TakeAsync(client, 4, Fast);

        Assert.Equal([1L, 2, 3, 4], events.Select(e => e.Seq));
        Assert.Equal(["e1", "e2", "e3", "e4"], events.Select(e => e.Event.Id));
        Assert.Equal([null, "2", "2", "2", "3"], gateway.LastEventIds);
        Assert.All(gateway.Uris, u => Assert.Equal("http://gateway.test/prefix/v1/events/stream?session=sb-1", u.ToString()));
        Assert.Equal(("deny", "h", 443), (events[0].Event.Decision, events[0].Event.Host, events[0].Event.Port));
        Assert.Equal("none", events[0].Event.Json.GetProperty("tls").GetString());
    }

    [Fact]
    public async Task A_refusal_is_thrown_at_once_not_retried()
    {
        var gateway = new ScriptedGateway(
            _ => Ok(Sse((1, "e1"))),
            _ => Problem(HttpStatusCode.Unauthorized, "Unauthorized"),
            _ => Ok(Sse((2, "e2"))));
        using var client = new AirlockClient(new Uri("http://gateway.test"), "alk_x_y", gateway.Client);
        var seen = new List<long>();

        var refused = await Assert.ThrowsAsync<AirlockApiException>(async () =>
        {
            await foreach (var e in client.StreamEventsAsync(null, null, Fast))
            {
                seen.Add(e.Seq);
            }
        });

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal([1L], seen);
        Assert.Equal(2, gateway.LastEventIds.Count);
    }

    [Fact]
    public async Task It_gives_up_after_the_configured_failures_in_a_row()
    {
        var gateway = new ScriptedGateway(Enumerable.Repeat<Func<HttpRequestMessage, HttpResponseMessage>>(_ => throw new HttpRequestException("connection refused"), 10).ToArray());
        using var client = new AirlockClient(new Uri("http://gateway.test"), "alk_x_y", gateway.Client);

        var failed = await Assert.ThrowsAsync<HttpRequestException>(() => TakeAsync(client, 1, Fast with { MaxConsecutiveFailures = 3 }));

        Assert.Equal(3, gateway.LastEventIds.Count);
        Assert.Contains("3 times in a row: connection refused", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_connection_that_goes_silent_is_replaced()
    {
        var gateway = new ScriptedGateway(
            _ => Ok(Sse((5, "e5")), thenSilent: true),
            _ => Ok(Sse((6, "e6"))));
        using var client = new AirlockClient(new Uri("http://gateway.test"), "alk_x_y", gateway.Client);

        var events = await TakeAsync(client, 2, Fast with { IdleTimeout = TimeSpan.FromMilliseconds(300) });

        Assert.Equal([5L, 6], events.Select(e => e.Seq));
        Assert.Equal([null, "5"], gateway.LastEventIds);
    }

    [Theory]
    [InlineData(1, 125, 250)]
    [InlineData(2, 250, 500)]
    [InlineData(7, 5000, 10000)]
    [InlineData(1000, 5000, 10000)]
    public void The_backoff_doubles_with_jitter_up_to_the_maximum(int failures, double atLeastMs, double atMostMs)
    {
        for (var i = 0; i < 100; i++)
        {
            var delay = AirlockClient.ReconnectDelay(EventStreamOptions.Default, failures).TotalMilliseconds;
            Assert.InRange(delay, atLeastMs, atMostMs);
        }
    }

    /// <summary>Answers the n-th request with the n-th script entry and records what each request asked for.</summary>
    private sealed class ScriptedGateway(params Func<HttpRequestMessage, HttpResponseMessage>[] script) : HttpMessageHandler
    {
        private int _next;

        public HttpClient Client => new(this);

        public List<string?> LastEventIds { get; } = [];

        public List<Uri> Uris { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            LastEventIds.Add(request.Headers.TryGetValues("Last-Event-ID", out var values) ? values.Single() : null);
            Uris.Add(request.RequestUri!);
            Assert.Equal("Bearer alk_x_y", request.Headers.Authorization?.ToString());
            if (_next >= script.Length)
            {
                throw new HttpRequestException("the script ended");
            }

            return Task.FromResult(script[_next++](request));
        }
    }

    /// <summary>Sends its bytes, then nothing, as a connection that died without a FIN.</summary>
    private sealed class ThenSilentStream(byte[] bytes) : ServerSentEventReaderTests.BlockingStream
    {
        private int _sent;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_sent < bytes.Length)
            {
                var n = Math.Min(buffer.Length, bytes.Length - _sent);
                bytes.AsMemory(_sent, n).CopyTo(buffer);
                _sent += n;
                return ValueTask.FromResult(n);
            }

            return base.ReadAsync(buffer, cancellationToken);
        }
    }
}
