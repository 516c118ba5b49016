using System.Text;
using System.Text.Json;
using Airlock.Proxy.Control;

namespace Airlock.Proxy.Tests.Control;

/// <summary>The channel against a real control plane on loopback TCP or a unix socket.</summary>
public sealed class ControlChannelTests : IDisposable
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);

    private readonly TempDirectory _dir = new();
    private readonly RecordingControlHandler _handler = new();
    private readonly RecordingLogger<ControlChannel> _log = new();

    public void Dispose() => _dir.Dispose();

    private ControlChannelOptions Options(long spoolMaxBytes = 64L << 20) => new()
    {
        SessionId = "s-1",
        SpoolPath = _dir.File("spool.ndjson"),
        SpoolMaxBytes = spoolMaxBytes,
        InitialBackoff = TimeSpan.FromMilliseconds(20),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
        ProxyVersion = "0.1.0-test",
    };

    private ControlChannel Channel(TestControlPlane plane, ControlChannelOptions? options = null, TimeProvider? time = null) =>
        new(plane.Endpoint, options ?? Options(), _handler, _log, time);

    private static AskRequest Ask(string id) => new() { AskId = id, Conn = "c-7", Host = "api.example.com", Port = 443, Rule = new AskRule(3, "ask", null) };

    [Fact]
    public async Task Hello_is_the_first_line_of_every_connection()
    {
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane);
        channel.Start();

        (PlaneConnection connection, JsonElement hello) = await plane.AcceptHelloAsync();
        Assert.Equal("s-1", hello.GetProperty("session").GetString());
        Assert.Equal("0.1.0-test", hello.GetProperty("proxy_version").GetString());
        Assert.Equal("v3", hello.GetProperty("policy_version").GetString());
        Assert.Equal(0, hello.GetProperty("spool_overflow").GetInt64());
        Assert.True(await ControlTestKit.EventuallyAsync(() => channel.IsConnected));

        _handler.PolicyVersion = "v4";
        connection.Abort();
        (_, JsonElement again) = await plane.AcceptHelloAsync();
        Assert.Equal("v4", again.GetProperty("policy_version").GetString());
    }

    [Fact]
    public async Task Events_arrive_in_order()
    {
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        (PlaneConnection connection, _) = await plane.AcceptHelloAsync();

        for (int i = 0; i < 1000; i++)
        {
            channel.SendEvent(ControlTestKit.Event(i));
        }

        Assert.Equal(Enumerable.Range(0, 1000), await connection.ReadEventsAsync(1000));
        channel.SendEvent(ControlTestKit.Event(1000));
        Assert.Equal([1000], await connection.ReadEventsAsync(1));
    }

    [Fact]
    public async Task Events_spooled_while_the_plane_is_down_are_replayed_in_order_before_newer_ones()
    {
        await using var plane = TestControlPlane.Tcp(listening: false);
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        for (int i = 0; i < 500; i++)
        {
            channel.SendEvent(ControlTestKit.Event(i));
        }

        Assert.True(await ControlTestKit.EventuallyAsync(() => _log.Count(102) == 1 && _log.Count(121) >= 1));
        Assert.False(channel.IsConnected);
        Assert.True(channel.SpooledBytes > 0);

        plane.Listen();
        Task publisher = Task.Run(async () =>
        {
            // Published while the spool is being replayed: queued behind it.
            for (int i = 500; i < 1000; i++)
            {
                channel.SendEvent(ControlTestKit.Event(i));
                if (i % 50 == 0)
                {
                    await Task.Yield();
                }
            }
        });
        (PlaneConnection connection, _) = await plane.AcceptHelloAsync();
        List<int> received = await connection.ReadEventsAsync(1000);
        await publisher;

        Assert.Equal(Enumerable.Range(0, 1000), received);
        channel.SendEvent(ControlTestKit.Event(1000));
        Assert.Equal([1000], await connection.ReadEventsAsync(1));
        Assert.True(await ControlTestKit.EventuallyAsync(() => channel.SpooledBytes == 0));
        Assert.Equal(0, new FileInfo(_dir.File("spool.ndjson")).Length);
        Assert.Equal(0, channel.SpoolOverflowCount);
    }

    [Fact]
    public async Task A_plane_restarted_mid_stream_loses_nothing_and_gets_nothing_twice()
    {
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        (PlaneConnection first, _) = await plane.AcceptHelloAsync();

        const int total = 3000;
        Task publisher = Task.Run(async () =>
        {
            for (int i = 0; i < total; i++)
            {
                channel.SendEvent(ControlTestKit.Event(i));
                if (i % 100 == 99)
                {
                    await Task.Delay(1);
                }
            }
        });

        List<int> received = await first.ReadEventsAsync(300);

        // The plane shuts down in the middle of the stream: it stops sending, reads what is on its way, and goes.
        plane.Stop();
        foreach (string line in await first.ShutdownAndDrainAsync())
        {
            using var document = JsonDocument.Parse(line);
            received.Add(document.RootElement.GetProperty("seq").GetInt32());
        }

        await Task.Delay(100);
        plane.Listen();
        (PlaneConnection second, _) = await plane.AcceptHelloAsync();
        await publisher;
        received.AddRange(await second.ReadEventsAsync(total - received.Count));

        Assert.Equal(Enumerable.Range(0, total), received);
    }

    [Fact]
    public async Task A_plane_that_crashes_is_reconnected_and_the_stream_goes_on_in_order()
    {
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        (PlaneConnection first, _) = await plane.AcceptHelloAsync();
        for (int i = 0; i < 200; i++)
        {
            channel.SendEvent(ControlTestKit.Event(i));
        }

        List<int> received = await first.ReadEventsAsync(100);
        first.Abort();
        Assert.True(await ControlTestKit.EventuallyAsync(() => !channel.IsConnected));
        for (int i = 200; i < 400; i++)
        {
            channel.SendEvent(ControlTestKit.Event(i));
        }

        (PlaneConnection second, _) = await plane.AcceptHelloAsync();
        int last = -1;
        while (last != 399)
        {
            last = (await second.ReadEventsAsync(1))[0];
            received.Add(last);
        }

        // Lines the crashed plane had not read are gone with it (the protocol has no event acks); what the
        // proxy resends after a failed write may arrive twice. Order holds, and everything after the crash arrives.
        List<int> distinct = [.. received.Distinct()];
        Assert.Equal(distinct.Order(), distinct);
        Assert.Subset(distinct.ToHashSet(), Enumerable.Range(200, 200).ToHashSet());
    }

    [Fact]
    public async Task A_plane_that_acknowledges_gets_everything_it_did_not_acknowledge_again_after_a_crash()
    {
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        (PlaneConnection first, _) = await plane.AcceptHelloAsync();
        await first.SendAsync("{\"type\":\"events.ack\",\"events\":0}");
        for (int i = 0; i < 200; i++)
        {
            channel.SendEvent(ControlTestKit.Event(i));
        }

        // The plane read all 200 but stored (and acknowledged) only the first 120, then crashed.
        List<int> firstRead = await first.ReadEventsAsync(200);
        await first.SendAsync("{\"type\":\"events.ack\",\"events\":120}");
        await Task.Delay(200);
        first.Abort();

        // The proxy reconnects at once (a poll of IsConnected could miss the gap); the next event follows the resends.
        (PlaneConnection second, _) = await plane.AcceptHelloAsync();
        channel.SendEvent(ControlTestKit.Event(200));
        List<int> resent = await second.ReadEventsAsync(81);

        Assert.Equal(Enumerable.Range(0, 200), firstRead);
        Assert.Equal(Enumerable.Range(120, 81), resent);
    }

    [Fact]
    public async Task A_plane_that_never_acknowledges_gets_nothing_twice()
    {
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        (PlaneConnection first, _) = await plane.AcceptHelloAsync();
        for (int i = 0; i < 50; i++)
        {
            channel.SendEvent(ControlTestKit.Event(i));
        }

        List<int> firstRead = await first.ReadEventsAsync(50);
        first.Abort();
        (PlaneConnection second, _) = await plane.AcceptHelloAsync();
        channel.SendEvent(ControlTestKit.Event(50));
        List<int> next = await second.ReadEventsAsync(1);

        Assert.Equal(Enumerable.Range(0, 50), firstRead);
        Assert.Equal([50], next);
    }

    [Fact]
    public async Task Spooled_events_replayed_to_an_acknowledging_plane_are_kept_until_acknowledged()
    {
        await using var plane = TestControlPlane.Tcp(listening: false);
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        for (int i = 0; i < 30; i++)
        {
            channel.SendEvent(ControlTestKit.Event(i));
        }

        plane.Listen();
        (PlaneConnection first, _) = await plane.AcceptHelloAsync();
        await first.SendAsync("{\"type\":\"events.ack\",\"events\":10}");
        List<int> replayed = await first.ReadEventsAsync(30);
        await Task.Delay(200);
        first.Abort();
        (PlaneConnection second, _) = await plane.AcceptHelloAsync();
        List<int> again = await second.ReadEventsAsync(20);

        Assert.Equal(Enumerable.Range(0, 30), replayed);
        Assert.Equal(Enumerable.Range(10, 20), again);
    }

    [Fact]
    public async Task Overflow_of_the_spool_is_counted_and_reported_in_the_next_hello()
    {
        int lineLength = ControlTestKit.Event(0, width: 4).Length;
        await using var plane = TestControlPlane.Tcp(listening: false);
        await using ControlChannel channel = Channel(plane, Options(spoolMaxBytes: 10 * lineLength));
        channel.Start();
        for (int i = 0; i < 25; i++)
        {
            channel.SendEvent(ControlTestKit.Event(i, width: 4));
        }

        Assert.Equal(15, channel.SpoolOverflowCount);
        Assert.Equal(1, _log.Count(113));

        plane.Listen();
        (PlaneConnection connection, JsonElement hello) = await plane.AcceptHelloAsync();
        Assert.Equal(15, hello.GetProperty("spool_overflow").GetInt64());
        Assert.Equal(Enumerable.Range(0, 10), await connection.ReadEventsAsync(10));
        channel.SendEvent(ControlTestKit.Event(25, width: 4));
        Assert.Equal([25], await connection.ReadEventsAsync(1));
    }

    [Fact]
    public async Task A_policy_update_goes_to_the_handler_and_is_acknowledged()
    {
        _handler.Result = text => text.Contains("bad", StringComparison.Ordinal)
            ? PolicyUpdateResult.Rejected(["p.yaml:3:5: error: unknown key 'bad'", "p.yaml:4:1: error: second"])
            : PolicyUpdateResult.Accepted;
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        (PlaneConnection connection, _) = await plane.AcceptHelloAsync();

        await connection.SendAsync("{\"type\":\"policy.update\",\"version\":\"v7\",\"policy\":\"version: 1\\negress: []\\n\"}");
        JsonElement ok = await connection.ReadMessageAsync("policy.ack");
        Assert.Equal("v7", ok.GetProperty("version").GetString());
        Assert.True(ok.GetProperty("ok").GetBoolean());
        Assert.False(ok.TryGetProperty("errors", out _));
        Assert.Equal([("v7", "version: 1\negress: []\n")], _handler.Updates);

        await connection.SendAsync("{\"type\":\"policy.update\",\"version\":\"v8\",\"policy\":\"bad: 1\"}");
        JsonElement refused = await connection.ReadMessageAsync("policy.ack");
        Assert.Equal("v8", refused.GetProperty("version").GetString());
        Assert.False(refused.GetProperty("ok").GetBoolean());
        Assert.Equal(["p.yaml:3:5: error: unknown key 'bad'", "p.yaml:4:1: error: second"], refused.GetProperty("errors").EnumerateArray().Select(e => e.GetString()));

        await connection.SendAsync("{\"type\":\"policy.update\",\"version\":\"v9\",\"policy\":{\"version\":1}}");
        JsonElement notText = await connection.ReadMessageAsync("policy.ack");
        Assert.False(notText.GetProperty("ok").GetBoolean());
        Assert.Contains("must be a string", notText.GetProperty("errors")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(2, _handler.Updates.Count);
    }

    [Fact]
    public async Task A_handler_that_throws_gets_a_refusal_ack_and_the_channel_goes_on()
    {
        _handler.Result = _ => throw new InvalidOperationException("boom");
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        (PlaneConnection connection, _) = await plane.AcceptHelloAsync();

        await connection.SendAsync("{\"type\":\"policy.update\",\"version\":\"v7\",\"policy\":\"x\"}");
        JsonElement ack = await connection.ReadMessageAsync("policy.ack");
        Assert.False(ack.GetProperty("ok").GetBoolean());
        Assert.Contains("internal error", ack.GetProperty("errors")[0].GetString(), StringComparison.Ordinal);
        channel.SendEvent(ControlTestKit.Event(1));
        Assert.Equal([1], await connection.ReadEventsAsync(1));
    }

    [Theory]
    [InlineData("allow", "once", AskOutcome.Allow, AskScope.Once)]
    [InlineData("deny", "session", AskOutcome.Deny, AskScope.Session)]
    public async Task An_ask_is_answered_by_the_matching_decision(string decision, string scope, AskOutcome outcome, AskScope reach)
    {
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        (PlaneConnection connection, _) = await plane.AcceptHelloAsync();

        Task<AskAnswer> answer = channel.AskAsync(Ask("k-1"), TimeSpan.FromSeconds(30), CancellationToken.None);
        JsonElement ask = await connection.ReadMessageAsync("ask.request");
        Assert.Equal("k-1", ask.GetProperty("ask_id").GetString());
        Assert.Equal("s-1", ask.GetProperty("session").GetString());
        Assert.Equal("c-7", ask.GetProperty("conn").GetString());
        Assert.Equal("api.example.com", ask.GetProperty("host").GetString());
        Assert.Equal(443, ask.GetProperty("port").GetInt32());
        Assert.Equal(3, ask.GetProperty("rule").GetProperty("index").GetInt32());
        Assert.Equal("ask", ask.GetProperty("rule").GetProperty("kind").GetString());
        Assert.Equal(JsonValueKind.Null, ask.GetProperty("rule").GetProperty("name").ValueKind);
        Assert.InRange(ask.GetProperty("timeout_ms").GetInt64(), 20_000, 30_000);
        Assert.False(answer.IsCompleted);

        await connection.SendAsync($"{{\"type\":\"decision\",\"ask_id\":\"k-1\",\"decision\":\"{decision}\",\"scope\":\"{scope}\"}}");
        Assert.Equal(new AskAnswer(outcome, reach), await answer.WaitAsync(TestControlPlane.DefaultTimeout));
    }

    [Fact]
    public async Task An_ask_without_a_decision_times_out_and_a_late_decision_is_ignored()
    {
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        (PlaneConnection connection, _) = await plane.AcceptHelloAsync();

        Assert.Equal(AskAnswer.TimedOut, await channel.AskAsync(Ask("late"), Short, CancellationToken.None));
        await connection.ReadMessageAsync("ask.request");
        await connection.SendAsync("{\"type\":\"decision\",\"ask_id\":\"late\",\"decision\":\"allow\"}");
        Assert.True(await ControlTestKit.EventuallyAsync(() => _log.Count(107) == 1));

        Task<AskAnswer> next = channel.AskAsync(Ask("late"), TimeSpan.FromSeconds(30), CancellationToken.None);
        await connection.ReadMessageAsync("ask.request");
        await connection.SendAsync("{\"type\":\"decision\",\"ask_id\":\"late\",\"decision\":\"deny\"}");
        Assert.Equal(AskOutcome.Deny, (await next.WaitAsync(TestControlPlane.DefaultTimeout)).Outcome);
    }

    [Fact]
    public async Task A_decision_for_an_unknown_ask_is_ignored()
    {
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        (PlaneConnection connection, _) = await plane.AcceptHelloAsync();

        Task<AskAnswer> answer = channel.AskAsync(Ask("known"), TimeSpan.FromSeconds(30), CancellationToken.None);
        await connection.ReadMessageAsync("ask.request");
        await connection.SendAsync("{\"type\":\"decision\",\"ask_id\":\"unknown\",\"decision\":\"allow\"}");
        Assert.True(await ControlTestKit.EventuallyAsync(() => _log.Count(107) == 1));
        Assert.False(answer.IsCompleted);

        await connection.SendAsync("{\"type\":\"decision\",\"ask_id\":\"known\",\"decision\":\"deny\"}");
        Assert.Equal(AskOutcome.Deny, (await answer.WaitAsync(TestControlPlane.DefaultTimeout)).Outcome);
    }

    [Fact]
    public async Task An_ask_made_while_disconnected_is_sent_once_connected()
    {
        await using var plane = TestControlPlane.Tcp(listening: false);
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        Task<AskAnswer> answer = channel.AskAsync(Ask("k-2"), TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.True(await ControlTestKit.EventuallyAsync(() => _log.Count(102) >= 1));

        plane.Listen();
        (PlaneConnection connection, _) = await plane.AcceptHelloAsync();
        Assert.Equal("k-2", (await connection.ReadMessageAsync("ask.request")).GetProperty("ask_id").GetString());
        await connection.SendAsync("{\"type\":\"decision\",\"ask_id\":\"k-2\",\"decision\":\"allow\"}");
        Assert.Equal(AskOutcome.Allow, (await answer.WaitAsync(TestControlPlane.DefaultTimeout)).Outcome);
    }

    [Fact]
    public async Task An_unanswered_ask_is_sent_again_on_the_next_connection()
    {
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        (PlaneConnection first, _) = await plane.AcceptHelloAsync();
        Task<AskAnswer> answer = channel.AskAsync(Ask("k-3"), TimeSpan.FromSeconds(30), CancellationToken.None);
        await first.ReadMessageAsync("ask.request");
        first.Abort();

        (PlaneConnection second, _) = await plane.AcceptHelloAsync();
        JsonElement again = await second.ReadMessageAsync("ask.request");
        Assert.Equal("k-3", again.GetProperty("ask_id").GetString());
        await second.SendAsync("{\"type\":\"decision\",\"ask_id\":\"k-3\",\"decision\":\"allow\",\"scope\":\"session\"}");
        Assert.Equal(new AskAnswer(AskOutcome.Allow, AskScope.Session), await answer.WaitAsync(TestControlPlane.DefaultTimeout));
    }

    [Fact]
    public async Task Cancelling_an_ask_throws_and_forgets_it()
    {
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        (PlaneConnection connection, _) = await plane.AcceptHelloAsync();
        using var cts = new CancellationTokenSource();
        Task<AskAnswer> answer = channel.AskAsync(Ask("k-4"), TimeSpan.FromSeconds(30), cts.Token);
        await connection.ReadMessageAsync("ask.request");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => answer);

        await connection.SendAsync("{\"type\":\"decision\",\"ask_id\":\"k-4\",\"decision\":\"allow\"}");
        Assert.True(await ControlTestKit.EventuallyAsync(() => _log.Count(107) == 1));
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            _ = channel.AskAsync(Ask("dup"), TimeSpan.FromSeconds(30), CancellationToken.None);
            await channel.AskAsync(Ask("dup"), TimeSpan.FromSeconds(30), CancellationToken.None);
        });
    }

    [Fact]
    public async Task Malformed_and_unknown_lines_are_logged_and_skipped_without_dropping_the_connection()
    {
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        (PlaneConnection connection, _) = await plane.AcceptHelloAsync();
        Task<AskAnswer> answer = channel.AskAsync(Ask("k-5"), TimeSpan.FromSeconds(30), CancellationToken.None);
        await connection.ReadMessageAsync("ask.request");

        await connection.SendAsync("not json");
        await connection.SendAsync("{\"type\":");
        await connection.SendAsync("[1,2]");
        await connection.SendAsync("{\"no_type\":1}");
        await connection.SendAsync("{\"type\":\"decision\",\"ask_id\":\"k-5\",\"decision\":\"maybe\"}");
        await connection.SendAsync("");
        await connection.SendAsync("{\"type\":\"future.thing\",\"x\":{}}");
        await connection.SendAsync("{\"type\":\"decision\",\"ask_id\":\"k-5\",\"decision\":\"allow\"}");

        Assert.Equal(AskOutcome.Allow, (await answer.WaitAsync(TestControlPlane.DefaultTimeout)).Outcome);
        Assert.Equal(5, _log.Count(105));
        Assert.Equal(1, _log.Count(106));
        Assert.True(channel.IsConnected);
        channel.SendEvent(ControlTestKit.Event(1));
        Assert.Equal([1], await connection.ReadEventsAsync(1));
    }

    [Fact]
    public async Task A_line_of_exactly_one_mebibyte_is_accepted_and_a_longer_one_drops_the_connection()
    {
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        (PlaneConnection first, _) = await plane.AcceptHelloAsync();

        string prefix = "{\"type\":\"padding\",\"x\":\"";
        string suffix = "\"}";
        string max = prefix + new string('a', ControlProtocol.MaxLineBytes - prefix.Length - suffix.Length) + suffix;
        await first.SendAsync(max);
        Assert.True(await ControlTestKit.EventuallyAsync(() => _log.Count(106) == 1));

        await first.SendRawAsync(Encoding.UTF8.GetBytes(new string('a', ControlProtocol.MaxLineBytes + 1)));
        Assert.True(await first.ClosedByProxyAsync());
        Assert.Equal(1, _log.Count(104));

        (PlaneConnection second, _) = await plane.AcceptHelloAsync();
        channel.SendEvent(ControlTestKit.Event(1));
        Assert.Equal([1], await second.ReadEventsAsync(1));
    }

    [Fact]
    public async Task A_unix_socket_plane_works()
    {
        await using var plane = TestControlPlane.Unix(_dir.File("control.sock"), listening: false);
        await using ControlChannel channel = Channel(plane);
        channel.Start();
        channel.SendEvent(ControlTestKit.Event(0));
        plane.Listen();

        (PlaneConnection connection, JsonElement hello) = await plane.AcceptHelloAsync();
        Assert.Equal("s-1", hello.GetProperty("session").GetString());
        channel.SendEvent(ControlTestKit.Event(1));
        Assert.Equal([0, 1], await connection.ReadEventsAsync(2));

        Task<AskAnswer> answer = channel.AskAsync(Ask("u-1"), TimeSpan.FromSeconds(30), CancellationToken.None);
        await connection.ReadMessageAsync("ask.request");
        await connection.SendAsync("{\"type\":\"decision\",\"ask_id\":\"u-1\",\"decision\":\"deny\"}");
        Assert.Equal(AskOutcome.Deny, (await answer.WaitAsync(TestControlPlane.DefaultTimeout)).Outcome);
    }

    [Fact]
    public async Task Disposing_sends_what_is_queued_to_a_connected_plane()
    {
        await using var plane = TestControlPlane.Tcp();
        ControlChannel channel = Channel(plane);
        channel.Start();
        (PlaneConnection connection, _) = await plane.AcceptHelloAsync();
        for (int i = 0; i < 500; i++)
        {
            channel.SendEvent(ControlTestKit.Event(i));
        }

        Task<AskAnswer> pending = channel.AskAsync(Ask("k-6"), TimeSpan.FromSeconds(30), CancellationToken.None);
        await channel.DisposeAsync();

        Assert.Equal(Enumerable.Range(0, 500), await connection.ReadEventsAsync(500));
        Assert.True(await connection.ClosedByProxyAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pending);
        Assert.Throws<ObjectDisposedException>(() => channel.SendEvent(ControlTestKit.Event(1)));
        Assert.Equal(0, new FileInfo(_dir.File("spool.ndjson")).Length);
    }

    [Fact]
    public async Task Events_not_sent_when_disposed_are_sent_by_the_next_run()
    {
        await using var plane = TestControlPlane.Tcp(listening: false);
        await using (ControlChannel channel = Channel(plane))
        {
            channel.Start();
            for (int i = 0; i < 10; i++)
            {
                channel.SendEvent(ControlTestKit.Event(i));
            }
        }

        await using ControlChannel next = Channel(plane);
        Assert.Equal(1, _log.Count(116));
        next.Start();
        next.SendEvent(ControlTestKit.Event(10));
        plane.Listen();
        (PlaneConnection connection, _) = await plane.AcceptHelloAsync();
        Assert.Equal(Enumerable.Range(0, 11), await connection.ReadEventsAsync(11));
    }

    [Fact]
    public async Task A_plane_that_stops_reading_is_dropped_after_the_write_timeout()
    {
        await using var plane = TestControlPlane.Tcp();
        ControlChannelOptions options = Options() with { WriteTimeout = TimeSpan.FromMilliseconds(500) };
        await using ControlChannel channel = Channel(plane, options);
        channel.Start();
        (PlaneConnection stuck, _) = await plane.AcceptHelloAsync();

        byte[] padding = Encoding.UTF8.GetBytes(new string('p', 1000));
        for (int i = 0; i < 20_000; i++)
        {
            channel.SendEvent(Encoding.UTF8.GetBytes($"{{\"v\":1,\"type\":\"connection\",\"seq\":{i},\"pad\":\"{Encoding.UTF8.GetString(padding)}\"}}"));
        }

        (PlaneConnection next, _) = await plane.AcceptHelloAsync();
        Assert.Contains(_log.Entries, e => e.EventId == 101 && e.Message.Contains("stalled", StringComparison.Ordinal));

        // On a busy machine this reader may fall behind long enough to be dropped too; it then takes the next connection.
        int last = -1;
        while (last != 19_999)
        {
            string? line = await next.ReadLineAsync();
            if (line is null)
            {
                (next, _) = await plane.AcceptHelloAsync();
                continue;
            }

            using var message = JsonDocument.Parse(line);
            last = message.RootElement.TryGetProperty("seq", out JsonElement seq) ? seq.GetInt32() : last;
        }
    }

    [Fact]
    public async Task Reconnecting_waits_on_the_time_provider()
    {
        var time = new ManualTimeProvider();
        await using var plane = TestControlPlane.Tcp(listening: false);
        await using ControlChannel channel = Channel(plane, time: time);
        channel.Start();
        Assert.True(await ControlTestKit.EventuallyAsync(() => _log.Count(102) == 1 && time.WaitingTimers > 0));

        plane.Listen();
        Task<PlaneConnection> accepted = plane.AcceptAsync();
        await Task.Delay(Short);
        Assert.False(accepted.IsCompleted);

        time.Advance(TimeSpan.FromSeconds(1));
        PlaneConnection connection = await accepted;
        Assert.Equal("hello", (await connection.ReadMessageAsync()).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Ask_timeouts_follow_the_time_provider()
    {
        var time = new ManualTimeProvider();
        await using var plane = TestControlPlane.Tcp();
        await using ControlChannel channel = Channel(plane, time: time);
        channel.Start();
        (PlaneConnection connection, _) = await plane.AcceptHelloAsync();

        Task<AskAnswer> answer = channel.AskAsync(Ask("t-1"), TimeSpan.FromSeconds(30), CancellationToken.None);
        await connection.ReadMessageAsync("ask.request");
        time.Advance(TimeSpan.FromSeconds(29));
        await Task.Delay(50);
        Assert.False(answer.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(AskAnswer.TimedOut, await answer.WaitAsync(TestControlPlane.DefaultTimeout));
    }

    [Fact]
    public async Task Bad_event_lines_are_refused_before_they_reach_the_queue()
    {
        await using var plane = TestControlPlane.Tcp(listening: false);
        await using ControlChannel channel = Channel(plane);
        Assert.Throws<ArgumentException>(() => channel.SendEvent(ReadOnlyMemory<byte>.Empty));
        Assert.Throws<ArgumentException>(() => channel.SendEvent("{\"a\":1}\n{\"b\":2}\n"u8.ToArray()));
        Assert.Equal(0, channel.SpooledBytes);
        Assert.Throws<InvalidOperationException>(() =>
        {
            channel.Start();
            channel.Start();
        });
    }
}
