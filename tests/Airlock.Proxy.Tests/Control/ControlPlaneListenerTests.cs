using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;

namespace Airlock.Proxy.Tests.Control;

/// <summary>The control plane's end of the channel, against the proxy's real <see cref="ControlChannel"/> over real sockets.</summary>
public sealed class ControlPlaneListenerTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly RecordingLogger<ControlChannel> _log = new();

    public void Dispose() => _dir.Dispose();

    private static ControlPlaneListener Listen(IControlPlaneSink sink, int port = 0) =>
        ControlPlaneListener.Start(new IPEndPoint(IPAddress.Loopback, port), sink, new ControlPlaneListenerOptions { HelloTimeout = TimeSpan.FromSeconds(2) });

    private static int PortOf(ControlPlaneListener listener) => ((IPEndPoint)listener.LocalEndPoint).Port;

    private ControlChannel Proxy(int port, string session, RecordingControlHandler? handler = null)
    {
        var channel = new ControlChannel(
            ControlEndpoint.Tcp("127.0.0.1", port),
            new ControlChannelOptions
            {
                SessionId = session,
                SpoolPath = _dir.File(session + ".spool"),
                InitialBackoff = TimeSpan.FromMilliseconds(20),
                MaxBackoff = TimeSpan.FromMilliseconds(200),
                ProxyVersion = "0.1.0-test",
            },
            handler ?? new RecordingControlHandler(),
            _log);
        channel.Start();
        return channel;
    }

    private static byte[] Event(string session, int seq) => Encoding.UTF8.GetBytes(EventJson.ToJson(new EgressEvent
    {
        Type = EgressEventType.Connection,
        Ts = DateTimeOffset.UnixEpoch.AddSeconds(seq),
        Session = session,
        Id = string.Create(CultureInfo.InvariantCulture, $"{session}-e{seq}"),
        Conn = "c-1",
        Decision = seq % 2 == 0 ? "allow" : "deny",
        Mode = "enforce",
        Host = "api.example.com",
        Port = 443,
        Tls = "passthrough",
    }) + "\n");

    private static async Task<List<EgressEvent>> CollectAsync(SessionEventHub hub, string session, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var seen = new List<EgressEvent>();
        await foreach (EgressEvent e in hub.EventsAsync(session, follow: true, timeout.Token))
        {
            seen.Add(e);
            if (seen.Count == count)
            {
                break;
            }
        }

        return seen;
    }

    [Fact]
    public async Task Events_of_each_proxy_arrive_under_its_session_in_order()
    {
        var hub = new SessionEventHub();
        await using ControlPlaneListener listener = Listen(hub);
        await using ControlChannel a = Proxy(PortOf(listener), "sb-a");
        await using ControlChannel b = Proxy(PortOf(listener), "sb-b");
        for (int i = 0; i < 50; i++)
        {
            a.SendEvent(Event("sb-a", i));
            b.SendEvent(Event("sb-b", i));
        }

        List<EgressEvent> fromA = await CollectAsync(hub, "sb-a", 50);
        List<EgressEvent> fromB = await CollectAsync(hub, "sb-b", 50);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"sb-a-e{i}"), fromA.Select(e => e.Id));
        Assert.All(fromB, e => Assert.Equal("sb-b", e.Session));
        Assert.True(await ControlTestKit.EventuallyAsync(() => listener.ConnectedSessions.Count == 2));
        Assert.True(listener.IsConnected("sb-a"));
    }

    [Fact]
    public async Task A_live_reader_sees_events_that_come_after_it_started()
    {
        var hub = new SessionEventHub();
        await using ControlPlaneListener listener = Listen(hub);
        await using ControlChannel proxy = Proxy(PortOf(listener), "sb-live");
        proxy.SendEvent(Event("sb-live", 0));
        Task<List<EgressEvent>> reading = CollectAsync(hub, "sb-live", 3);
        proxy.SendEvent(Event("sb-live", 1));
        proxy.SendEvent(Event("sb-live", 2));

        Assert.Equal(["sb-live-e0", "sb-live-e1", "sb-live-e2"], (await reading).Select(e => e.Id));
    }

    [Fact]
    public async Task Nothing_is_lost_or_doubled_across_a_control_plane_restart()
    {
        var hub = new SessionEventHub();
        ControlPlaneListener first = Listen(hub);
        int port = PortOf(first);
        await using ControlChannel proxy = Proxy(port, "sb-restart");
        for (int i = 0; i < 100; i++)
        {
            proxy.SendEvent(Event("sb-restart", i));
        }

        Assert.Equal(100, (await CollectAsync(hub, "sb-restart", 100)).Count);
        await first.DisposeAsync();
        Assert.True(await ControlTestKit.EventuallyAsync(() => !proxy.IsConnected));

        // While the plane is away the proxy spools; the next plane on the same address gets everything, once.
        for (int i = 100; i < 300; i++)
        {
            proxy.SendEvent(Event("sb-restart", i));
        }

        await using ControlPlaneListener second = Listen(hub, port);
        List<EgressEvent> all = await CollectAsync(hub, "sb-restart", 300);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"sb-restart-e{i}"), all.Select(e => e.Id));
        Assert.True(await ControlTestKit.EventuallyAsync(() => second.IsConnected("sb-restart")));
    }

    [Fact]
    public async Task A_policy_update_waits_for_the_proxy_to_connect_and_returns_its_answer()
    {
        var hub = new SessionEventHub();
        await using ControlPlaneListener listener = Listen(hub);
        var handler = new RecordingControlHandler { PolicyVersion = null };
        Task<PolicyUpdateResult> update = listener.UpdatePolicyAsync("warm-pod-1", "sb-1:1", "version: 1\n", TimeSpan.FromSeconds(20), CancellationToken.None);
        await Task.Delay(100);
        Assert.False(update.IsCompleted);

        await using ControlChannel proxy = Proxy(PortOf(listener), "warm-pod-1", handler);
        PolicyUpdateResult result = await update;

        Assert.True(result.Ok);
        Assert.Equal([("sb-1:1", "version: 1\n")], handler.Updates);
        Assert.Equal("sb-1:1", handler.PolicyVersion);
    }

    [Fact]
    public async Task A_rejected_policy_comes_back_with_the_proxys_errors()
    {
        await using ControlPlaneListener listener = Listen(new SessionEventHub());
        var handler = new RecordingControlHandler { Result = _ => PolicyUpdateResult.Rejected(["policy:3:1: unknown key 'egres'"]) };
        await using ControlChannel proxy = Proxy(PortOf(listener), "sb-bad", handler);

        PolicyUpdateResult result = await listener.UpdatePolicyAsync("sb-bad", "v2", "egres: []\n", TimeSpan.FromSeconds(20), CancellationToken.None);

        Assert.False(result.Ok);
        Assert.Equal(["policy:3:1: unknown key 'egres'"], result.Errors);
    }

    [Fact]
    public async Task A_policy_update_for_a_proxy_that_never_connects_times_out_with_a_reason()
    {
        await using ControlPlaneListener listener = Listen(new SessionEventHub());

        var error = await Assert.ThrowsAsync<TimeoutException>(() =>
            listener.UpdatePolicyAsync("sb-absent", "v1", "version: 1\n", TimeSpan.FromMilliseconds(300), CancellationToken.None));

        Assert.Contains("sb-absent", error.Message, StringComparison.Ordinal);
        Assert.Contains("not connected", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ask_reaches_the_plane_and_its_decision_reaches_the_proxy()
    {
        var hub = new SessionEventHub();
        var asks = new ConcurrentQueue<ProxyAsk>();
        hub.Asked += asks.Enqueue;
        await using ControlPlaneListener listener = Listen(hub);
        await using ControlChannel proxy = Proxy(PortOf(listener), "sb-ask");

        Task<AskAnswer> answer = proxy.AskAsync(
            new AskRequest { AskId = "ask-1", Conn = "c-9", Host = "pypi.org", Port = 443, Rule = new AskRule(2, "ask", "packages") },
            TimeSpan.FromSeconds(20),
            CancellationToken.None);
        Assert.True(await ControlTestKit.EventuallyAsync(() => !asks.IsEmpty));
        ProxyAsk ask = Assert.Single(asks);
        Assert.Equal(("sb-ask", "ask-1", "pypi.org", 443, "packages"), (ask.Session, ask.AskId, ask.Host, ask.Port, ask.Rule.Name));

        Assert.True(listener.TrySendDecision("sb-ask", "ask-1", new AskAnswer(AskOutcome.Allow, AskScope.Session)));
        Assert.Equal(new AskAnswer(AskOutcome.Allow, AskScope.Session), await answer);
        Assert.False(listener.TrySendDecision("sb-nobody", "ask-2", new AskAnswer(AskOutcome.Deny, AskScope.Once)));
    }

    [Fact]
    public async Task A_connection_without_hello_is_closed_and_registers_nothing()
    {
        await using ControlPlaneListener listener = Listen(new SessionEventHub());
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, PortOf(listener));
        await socket.SendAsync("{\"type\":\"connection\",\"session\":\"sb-x\"}\n"u8.ToArray());

        var buffer = new byte[16];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal(0, await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token));
        Assert.Empty(listener.ConnectedSessions);
    }

    [Fact]
    public async Task A_silent_connection_is_closed_after_the_hello_timeout()
    {
        await using ControlPlaneListener listener = Listen(new SessionEventHub());
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, PortOf(listener));

        var buffer = new byte[16];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal(0, await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token));
    }

    [Fact]
    public async Task Events_claiming_another_session_and_garbage_lines_are_skipped_without_dropping_the_connection()
    {
        var hub = new SessionEventHub();
        await using ControlPlaneListener listener = Listen(hub);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, PortOf(listener));
        var lines = new StringBuilder()
            .Append("{\"type\":\"hello\",\"session\":\"sb-mine\",\"proxy_version\":\"t\",\"policy_version\":null,\"spool_overflow\":0}\n")
            .Append(Encoding.UTF8.GetString(Event("sb-other", 1)))
            .Append("not json at all\n")
            .Append("{\"type\":\"connection\",\"id\":\"broken\"}\n")
            .Append(Encoding.UTF8.GetString(Event("sb-mine", 2)))
            .Append(Encoding.UTF8.GetString(Event("sb-mine", 2)));
        await socket.SendAsync(Encoding.UTF8.GetBytes(lines.ToString()));

        List<EgressEvent> mine = await CollectAsync(hub, "sb-mine", 1);
        Assert.Equal("sb-mine-e2", Assert.Single(mine).Id);
        Assert.True(listener.IsConnected("sb-mine"));
        await foreach (EgressEvent e in hub.EventsAsync("sb-other", follow: false, CancellationToken.None))
        {
            Assert.Fail($"an event of sb-other was accepted from sb-mine's connection: {e.Id}");
        }

        // The duplicate was dropped by id: a snapshot still holds one event.
        Assert.Single(await ToListAsync(hub.EventsAsync("sb-mine", follow: false, CancellationToken.None)));
    }

    [Fact]
    public async Task A_newer_connection_of_the_same_session_replaces_the_older()
    {
        await using ControlPlaneListener listener = Listen(new SessionEventHub());
        using var older = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await older.ConnectAsync(IPAddress.Loopback, PortOf(listener));
        await older.SendAsync("{\"type\":\"hello\",\"session\":\"sb-twice\"}\n"u8.ToArray());
        Assert.True(await ControlTestKit.EventuallyAsync(() => listener.IsConnected("sb-twice")));

        var handler = new RecordingControlHandler();
        await using ControlChannel newer = Proxy(PortOf(listener), "sb-twice", handler);
        var buffer = new byte[256];
        var received = new List<byte>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        for (int read; (read = await older.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0;)
        {
            received.AddRange(buffer.AsSpan(0, read).ToArray());
        }

        // The older connection got only the plane's first acknowledgement (of no events), then was closed.
        Assert.Equal("{\"type\":\"events.ack\",\"events\":0}\n", System.Text.Encoding.UTF8.GetString([.. received]));

        PolicyUpdateResult result = await listener.UpdatePolicyAsync("sb-twice", "v9", "version: 1\n", TimeSpan.FromSeconds(20), CancellationToken.None);
        Assert.True(result.Ok);
        Assert.Single(handler.Updates);
    }

    [Fact]
    public async Task Events_are_acknowledged_only_after_the_sink_stored_them_and_a_restarted_plane_gets_the_rest()
    {
        var slow = new GatedSink();
        int port;
        var proxy = default(ControlChannel);
        await using (ControlPlaneListener first = Listen(slow))
        {
            port = PortOf(first);
            proxy = Proxy(port, "sb-acks");
            for (int i = 0; i < 5; i++)
            {
                proxy.SendEvent(Event("sb-acks", i));
            }

            // Taken but not stored: the plane dies before its store commits them.
            Assert.True(await ControlTestKit.EventuallyAsync(() => slow.Taken == 5));
        }

        await using (proxy)
        {
            var hub = new SessionEventHub();
            await using ControlPlaneListener second = Listen(hub, port);
            List<EgressEvent> arrived = await CollectAsync(hub, "sb-acks", 5);

            Assert.Equal(Enumerable.Range(0, 5).Select(i => $"sb-acks-e{i}"), arrived.Select(e => e.Id));
        }
    }

    [Fact]
    public async Task A_proxy_gets_an_ack_of_what_the_sink_stored_and_no_more()
    {
        var slow = new GatedSink();
        await using ControlPlaneListener listener = Listen(slow);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, PortOf(listener));
        await using var stream = new NetworkStream(socket);
        using var reader = new StreamReader(stream);
        await stream.WriteAsync("{\"type\":\"hello\",\"session\":\"sb-raw\"}\n"u8.ToArray());
        string? first = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await stream.WriteAsync((byte[])[.. Event("sb-raw", 0), .. Event("sb-raw", 1), .. Event("sb-raw", 2)]);
        Assert.True(await ControlTestKit.EventuallyAsync(() => slow.Taken == 3));
        Task<string?> next = reader.ReadLineAsync();
        bool earlyAck = await Task.WhenAny(next, Task.Delay(300)) == next;

        slow.Open();
        string? stored = await next.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("{\"type\":\"events.ack\",\"events\":0}", first);
        Assert.False(earlyAck, "events were acknowledged before the sink stored them");
        Assert.Equal("{\"type\":\"events.ack\",\"events\":3}", stored);
    }

    /// <summary>A sink that takes events at once and says they are stored only when opened.</summary>
    private sealed class GatedSink : IControlPlaneSink
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _taken;

        public int Taken => Volatile.Read(ref _taken);

        public void Open() => _open.TrySetResult();

        public ValueTask OnConnectedAsync(ProxyHello hello, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnEventAsync(string session, EgressEvent egressEvent, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _taken);
            return ValueTask.CompletedTask;
        }

        public ValueTask OnAskAsync(ProxyAsk ask, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnDisconnectedAsync(string session, string reason) => ValueTask.CompletedTask;

        public async ValueTask WhenStoredAsync(CancellationToken cancellationToken) => await _open.Task.WaitAsync(cancellationToken);
    }

    [Fact]
    public async Task A_unix_socket_listener_takes_proxies_and_removes_its_socket_on_dispose()
    {
        string path = _dir.File("plane.sock");
        var hub = new SessionEventHub();
        ControlPlaneListener listener = ControlPlaneListener.Start(new UnixDomainSocketEndPoint(path), hub);
        await using (ControlChannel proxy = new(ControlEndpoint.Unix(path), new ControlChannelOptions { SessionId = "sb-unix", SpoolPath = _dir.File("unix.spool") }, new RecordingControlHandler(), _log))
        {
            proxy.Start();
            proxy.SendEvent(Event("sb-unix", 7));
            Assert.Equal("sb-unix-e7", Assert.Single(await CollectAsync(hub, "sb-unix", 1)).Id);
        }

        await listener.DisposeAsync();
        Assert.False(File.Exists(path));
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (T item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
