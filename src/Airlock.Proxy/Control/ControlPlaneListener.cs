using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Airlock.Proxy.Events;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Airlock.Proxy.Control;

/// <summary>Limits of a <see cref="ControlPlaneListener"/>.</summary>
public sealed record ControlPlaneListenerOptions
{
    /// <summary>A connection that has not said hello in this time is dropped.</summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A write to a proxy that takes longer drops the connection (the proxy reconnects).</summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Connections beyond this many are closed as soon as they are accepted.</summary>
    public int MaxConnections { get; init; } = 10_000;
}

/// <summary>
/// The control plane's end of the control channel: it accepts the connections proxies dial out (TCP or a unix
/// socket), reads their NDJSON (<c>hello</c>, events, <c>ask.request</c>, <c>policy.ack</c>) into an
/// <see cref="IControlPlaneSink"/>, and sends them <c>policy.update</c> and <c>decision</c>. A session has at most
/// one live connection: a newer one (a proxy that reconnected before the old socket timed out) replaces it.
/// </summary>
/// <remarks>
/// The channel carries no credential: who may connect is decided by the network (a unix socket in a private
/// directory; in a cluster, the control plane's NetworkPolicy admits only Airlock's proxy pods, and a sandboxed
/// workload cannot reach it: its connections go through its proxy, which refuses private addresses).
/// </remarks>
public sealed partial class ControlPlaneListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly IControlPlaneSink _sink;
    private readonly ControlPlaneListenerOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, ProxyConnection> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ProxyConnection, byte> _connections = new();
    private readonly ConcurrentDictionary<(string Session, string Version), TaskCompletionSource<PolicyUpdateResult>> _acks = new();
    private readonly Lock _gate = new();
    private readonly Task _accepting;
    private string? _unixPath;
    private TaskCompletionSource _sessionsChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ControlPlaneListener(Socket socket, IControlPlaneSink sink, ControlPlaneListenerOptions options, ILogger logger)
    {
        _socket = socket;
        _sink = sink;
        _options = options;
        _logger = logger;
        _accepting = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Where it listens (the port chosen when 0 was asked).</summary>
    public EndPoint LocalEndPoint => _socket.LocalEndPoint!;

    /// <summary>The sessions with a live connection.</summary>
    public IReadOnlyCollection<string> ConnectedSessions => [.. _sessions.Keys];

    /// <summary>Binds and starts accepting.</summary>
    /// <param name="listenOn">An <see cref="IPEndPoint"/> (port 0 picks one; <see cref="IPAddress.IPv6Any"/> takes IPv4 too) or a
    /// <see cref="UnixDomainSocketEndPoint"/> whose path does not exist yet (it is removed on dispose).</param>
    /// <param name="sink">Receives what proxies send.</param>
    /// <param name="options">Limits; the defaults when null.</param>
    /// <param name="logger">Logs connections and protocol errors.</param>
    /// <exception cref="SocketException">The address cannot be bound.</exception>
    public static ControlPlaneListener Start(EndPoint listenOn, IControlPlaneSink sink, ControlPlaneListenerOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(listenOn);
        ArgumentNullException.ThrowIfNull(sink);
        EndPoint endPoint = listenOn;
        bool unix = endPoint is UnixDomainSocketEndPoint;
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        try
        {
            if (!unix)
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    socket.DualMode = true;
                }
            }

            socket.Bind(endPoint);
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new ControlPlaneListener(socket, sink, options ?? new ControlPlaneListenerOptions(), logger ?? NullLogger.Instance)
        {
            _unixPath = unix ? listenOn.ToString() : null,
        };
    }

    /// <summary>Whether the session's proxy is connected now.</summary>
    public bool IsConnected(string session) => _sessions.ContainsKey(session);

    /// <summary>
    /// Sends a session's proxy a new policy and waits for its answer, waiting for the proxy to connect if it is not
    /// (a warm pod's proxy that has not dialled in yet, one that is reconnecting). A connection that ends before the
    /// answer is not the answer: the update is sent again on the next one.
    /// </summary>
    /// <param name="session">The proxy's session (as in its hello).</param>
    /// <param name="version">The new policy's version (what the ack and later hellos carry).</param>
    /// <param name="policyText">The policy, YAML or JSON.</param>
    /// <param name="timeout">How long to keep trying.</param>
    /// <param name="cancellationToken">Gives up.</param>
    /// <returns>Accepted, or rejected with the proxy's errors (it keeps its old policy).</returns>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    public async Task<PolicyUpdateResult> UpdatePolicyAsync(string session, string version, string policyText, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(session);
        ArgumentException.ThrowIfNullOrEmpty(version);
        ArgumentNullException.ThrowIfNull(policyText);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        deadline.CancelAfter(timeout);
        byte[] line = Line(json =>
        {
            json.WriteString("type"u8, "policy.update"u8);
            json.WriteString("version"u8, version);
            json.WriteString("policy"u8, policyText);
        });
        try
        {
            while (true)
            {
                Task changed;
                lock (_gate)
                {
                    changed = _sessionsChanged.Task;
                }

                if (_sessions.TryGetValue(session, out ProxyConnection? connection))
                {
                    var ack = new TaskCompletionSource<PolicyUpdateResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                    _acks[(session, version)] = ack;
                    try
                    {
                        if (await connection.TryWriteAsync(line, _options.WriteTimeout, deadline.Token).ConfigureAwait(false))
                        {
                            Task done = await Task.WhenAny(ack.Task, connection.Closed).WaitAsync(deadline.Token).ConfigureAwait(false);
                            if (done == ack.Task)
                            {
                                return await ack.Task.ConfigureAwait(false);
                            }
                        }
                    }
                    finally
                    {
                        _acks.TryRemove(new KeyValuePair<(string, string), TaskCompletionSource<PolicyUpdateResult>>((session, version), ack));
                    }

                    continue;
                }

                await changed.WaitAsync(deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(_stopping.IsCancellationRequested
                ? $"the control plane stopped before session {session}'s proxy answered policy {version}"
                : $"session {session}'s proxy did not answer policy {version} within {timeout.TotalSeconds:0.#} s ({(IsConnected(session) ? "connected" : "not connected")})");
        }
    }

    /// <summary>Answers a proxy's ask; false when the session is not connected (the proxy asks again when it reconnects).</summary>
    public bool TrySendDecision(string session, string askId, AskAnswer answer)
    {
        ArgumentException.ThrowIfNullOrEmpty(askId);
        if (answer.Outcome == AskOutcome.Timeout || !_sessions.TryGetValue(session, out ProxyConnection? connection))
        {
            return false;
        }

        byte[] line = Line(json =>
        {
            json.WriteString("type"u8, "decision"u8);
            json.WriteString("ask_id"u8, askId);
            json.WriteString("decision"u8, answer.Outcome == AskOutcome.Allow ? "allow"u8 : "deny"u8);
            json.WriteString("scope"u8, answer.Scope == AskScope.Session ? "session"u8 : "once"u8);
        });
        _ = connection.TryWriteAsync(line, _options.WriteTimeout, _stopping.Token);
        return true;
    }

    /// <summary>Stops accepting and closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        foreach (ProxyConnection connection in _connections.Keys)
        {
            connection.Abort();
        }

        try
        {
            await _accepting.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        while (!_connections.IsEmpty)
        {
            await Task.WhenAll(_connections.Keys.Select(c => c.Finished)).ConfigureAwait(false);
        }

        if (_unixPath is { Length: > 0 } path)
        {
            File.Delete(path);
        }

        _stopping.Dispose();
    }

    private static byte[] Line(Action<Utf8JsonWriter> write)
    {
        var output = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(output, ControlProtocol.WriterOptions))
        {
            json.WriteStartObject();
            write(json);
            json.WriteEndObject();
        }

        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
        return output.WrittenSpan.ToArray();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                Log.AcceptFailed(_logger, e.Message);
                continue;
            }

            if (_connections.Count >= _options.MaxConnections)
            {
                Log.TooManyConnections(_logger, _options.MaxConnections);
                client.Dispose();
                continue;
            }

            var connection = new ProxyConnection(client);
            _connections[connection] = 0;
            connection.Finished = Task.Run(() => RunConnectionAsync(connection));
        }
    }

    private async Task RunConnectionAsync(ProxyConnection connection)
    {
        string? session = null;
        string reason = "the proxy closed the connection";
        Task acks = Task.CompletedTask;
        try
        {
            var reader = new NdjsonLineReader(connection.Stream, ControlProtocol.MaxLineBytes);
            using (var hello = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
            {
                hello.CancelAfter(_options.HelloTimeout);
                var (status, line) = await reader.ReadLineAsync(hello.Token).ConfigureAwait(false);
                if (status != LineReadStatus.Line || ParseHello(line.Span) is not { } greeting)
                {
                    reason = "the first line was not a hello";
                    Log.NoHello(_logger, connection.Remote);
                    return;
                }

                session = greeting.Session;
                Register(session, connection);
                Log.ProxyConnected(_logger, session, connection.Remote, greeting.PolicyVersion ?? "(initial)");
                await _sink.OnConnectedAsync(greeting, _stopping.Token).ConfigureAwait(false);
            }

            // Events are acknowledged once the sink has stored them; the first ack (of none) tells the proxy this
            // plane acknowledges, so it keeps what it sent until then and resends it on the next connection.
            if (!await connection.TryWriteAsync(ControlProtocol.SerializeEventsAck(0), _options.WriteTimeout, _stopping.Token).ConfigureAwait(false))
            {
                reason = "the proxy did not take the first acknowledgement";
                return;
            }

            acks = Task.Run(() => AcknowledgeLoopAsync(connection));
            while (true)
            {
                var (status, line) = await reader.ReadLineAsync(_stopping.Token).ConfigureAwait(false);
                if (status == LineReadStatus.EndOfStream)
                {
                    return;
                }

                if (status == LineReadStatus.TooLong)
                {
                    reason = $"a line longer than {ControlProtocol.MaxLineBytes} bytes";
                    return;
                }

                if (await DispatchAsync(session, line, _stopping.Token).ConfigureAwait(false))
                {
                    connection.EventReceived();
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            reason = _stopping.IsCancellationRequested ? "the control plane is stopping" : e.Message;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The sink could not take a line (its store failed): drop the connection, so the proxy spools until it can.
            reason = "the control plane could not take a line: " + e.Message;
            Log.SinkFailed(_logger, session ?? connection.Remote, e.Message);
        }
        finally
        {
            connection.Abort();
            await acks.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _connections.TryRemove(connection, out _);
            if (session is not null)
            {
                Unregister(session, connection);
                Log.ProxyDisconnected(_logger, session, reason);
                try
                {
                    await _sink.OnDisconnectedAsync(session, reason).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Log.SinkFailed(_logger, session, e.Message);
                }
            }

            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Register(string session, ProxyConnection connection)
    {
        lock (_gate)
        {
            if (_sessions.TryGetValue(session, out ProxyConnection? previous))
            {
                // The proxy reconnected before its old connection was noticed dead; the new one is the proxy now.
                previous.Abort();
            }

            _sessions[session] = connection;
            _sessionsChanged.TrySetResult();
            _sessionsChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private void Unregister(string session, ProxyConnection connection)
    {
        lock (_gate)
        {
            _sessions.TryRemove(new KeyValuePair<string, ProxyConnection>(session, connection));
        }
    }

    /// <summary>Handles one line; true when it is an event line (counted for <c>events.ack</c>, whether or not it could be used).</summary>
    private async ValueTask<bool> DispatchAsync(string session, ReadOnlyMemory<byte> line, CancellationToken cancellationToken)
    {
        string? type = TypeOf(line.Span);
        switch (type)
        {
            case "policy.ack":
                if (ParseAck(line.Span) is { } ack && _acks.TryGetValue((session, ack.Version), out var waiting))
                {
                    waiting.TrySetResult(ack.Result);
                }

                return false;
            case "ask.request":
                if (ParseAsk(session, line.Span) is { } ask)
                {
                    await _sink.OnAskAsync(ask, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    Log.Malformed(_logger, session, "ask.request without ask_id, host or port");
                }

                return false;
            case null or "hello":
                Log.Malformed(_logger, session, type is null ? "a line without a type" : "a second hello");
                return false;
        }

        EgressEvent egressEvent;
        try
        {
            egressEvent = EventJson.Parse(line.Span);
        }
        catch (JsonException e)
        {
            Log.Malformed(_logger, session, e.Message);
            return true;
        }

        // The proxy names its own session in every event; one for another session is not this proxy's to send.
        if (!string.Equals(egressEvent.Session, session, StringComparison.Ordinal))
        {
            Log.Malformed(_logger, session, $"an event of session '{egressEvent.Session}' on session {session}'s connection");
            return true;
        }

        await _sink.OnEventAsync(session, egressEvent, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Sends <c>events.ack</c> with the count of event lines the sink has stored, after each batch it stores.</summary>
    private async Task AcknowledgeLoopAsync(ProxyConnection connection)
    {
        long acknowledged = 0;
        try
        {
            while (!connection.Closed.IsCompleted)
            {
                long received = connection.EventsReceived;
                if (received != acknowledged)
                {
                    var stored = _sink.WhenStoredAsync(_stopping.Token).AsTask();
                    if (await Task.WhenAny(stored, connection.Closed).ConfigureAwait(false) != stored)
                    {
                        return;
                    }

                    await stored.ConfigureAwait(false);
                    if (!await connection.TryWriteAsync(ControlProtocol.SerializeEventsAck(received), _options.WriteTimeout, _stopping.Token).ConfigureAwait(false))
                    {
                        return;
                    }

                    acknowledged = received;
                }

                await connection.WaitForEventsAsync(acknowledged, _stopping.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The plane is stopping: what was not acknowledged is resent to the next one.
        }
    }

    private static string? TypeOf(ReadOnlySpan<byte> line)
    {
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isType = reader.ValueTextEquals("type"u8);
                reader.Read();
                if (isType)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    private static ProxyHello? ParseHello(ReadOnlySpan<byte> line)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(line.ToArray());
            JsonElement root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && String(root, "type") == "hello"
                && String(root, "session") is { Length: > 0 and <= 253 } session
                ? new ProxyHello(
                    session,
                    String(root, "proxy_version"),
                    String(root, "policy_version"),
                    root.TryGetProperty("spool_overflow", out JsonElement overflow) && overflow.TryGetInt64(out long count) ? count : 0)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static (string Version, PolicyUpdateResult Result)? ParseAck(ReadOnlySpan<byte> line)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(line.ToArray());
            JsonElement root = document.RootElement;
            if (String(root, "version") is not { } version)
            {
                return null;
            }

            bool ok = root.TryGetProperty("ok", out JsonElement okElement) && okElement.ValueKind == JsonValueKind.True;
            IEnumerable<string> errors = root.TryGetProperty("errors", out JsonElement list) && list.ValueKind == JsonValueKind.Array
                ? [.. list.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText())]
                : ["the proxy rejected the policy without saying why"];
            return (version, ok ? PolicyUpdateResult.Accepted : PolicyUpdateResult.Rejected(errors));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ProxyAsk? ParseAsk(string session, ReadOnlySpan<byte> line)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(line.ToArray());
            JsonElement root = document.RootElement;
            if (String(root, "ask_id") is not { Length: > 0 } askId
                || String(root, "host") is not { } host
                || !root.TryGetProperty("port", out JsonElement portElement) || !portElement.TryGetInt32(out int port))
            {
                return null;
            }

            AskRule rule = root.TryGetProperty("rule", out JsonElement r) && r.ValueKind == JsonValueKind.Object
                ? new AskRule(r.TryGetProperty("index", out JsonElement i) && i.TryGetInt32(out int index) ? index : -1, String(r, "kind") ?? "ask", String(r, "name"))
                : new AskRule(-1, "ask", null);
            long timeoutMs = root.TryGetProperty("timeout_ms", out JsonElement t) && t.TryGetInt64(out long ms) ? ms : 0;
            return new ProxyAsk(session, askId, String(root, "conn") ?? string.Empty, host, port, rule, timeoutMs);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>One proxy's connection: one reader (the connection's task), writers serialised.</summary>
    private sealed class ProxyConnection : IAsyncDisposable
    {
        private readonly Socket _socket;
        private readonly SemaphoreSlim _writing = new(1, 1);
        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ProxyConnection(Socket socket)
        {
            _socket = socket;
            Stream = new NetworkStream(socket, ownsSocket: true);
            Remote = socket.RemoteEndPoint?.ToString() is { Length: > 0 } remote ? remote : "a unix socket peer";
        }

        public NetworkStream Stream { get; }

        public string Remote { get; }

        public Task Closed => _closed.Task;

        public Task Finished { get; set; } = Task.CompletedTask;

        private long _eventsReceived;
        private TaskCompletionSource? _eventWaiter;

        /// <summary>Event lines read on this connection so far.</summary>
        public long EventsReceived => Interlocked.Read(ref _eventsReceived);

        public void EventReceived()
        {
            Interlocked.Increment(ref _eventsReceived);
            Interlocked.Exchange(ref _eventWaiter, null)?.TrySetResult();
        }

        /// <summary>Waits until more than <paramref name="seen"/> event lines were read, or the connection closes.</summary>
        public async Task WaitForEventsAsync(long seen, CancellationToken cancellationToken)
        {
            while (EventsReceived == seen && !Closed.IsCompleted)
            {
                var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _eventWaiter, waiter);
                if (EventsReceived != seen)
                {
                    return;
                }

                await Task.WhenAny(waiter.Task, Closed).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        public async Task<bool> TryWriteAsync(byte[] line, TimeSpan timeout, CancellationToken cancellationToken)
        {
            try
            {
                await _writing.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return false;
            }

            try
            {
                using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                stall.CancelAfter(timeout);
                await Stream.WriteAsync(line, stall.Token).ConfigureAwait(false);
                return true;
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
            {
                Abort();
                return false;
            }
            finally
            {
                _writing.Release();
            }
        }

        public void Abort()
        {
            _closed.TrySetResult();
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            _closed.TrySetResult();
            await Stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Proxy of session {Session} connected from {Remote} (policy {PolicyVersion})")]
        public static partial void ProxyConnected(ILogger logger, string session, string remote, string policyVersion);

        [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Proxy of session {Session} disconnected: {Reason}")]
        public static partial void ProxyDisconnected(ILogger logger, string session, string reason);

        [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "A connection from {Remote} did not start with a hello; closed")]
        public static partial void NoHello(ILogger logger, string remote);

        [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Session {Session} sent a line that was skipped: {Problem}")]
        public static partial void Malformed(ILogger logger, string session, string problem);

        [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "More than {Max} proxy connections; a new one was closed")]
        public static partial void TooManyConnections(ILogger logger, int max);

        [LoggerMessage(EventId = 205, Level = LogLevel.Warning, Message = "Accepting a proxy connection failed: {Error}")]
        public static partial void AcceptFailed(ILogger logger, string error);

        [LoggerMessage(EventId = 206, Level = LogLevel.Error, Message = "The control plane could not take what session {Session} sent: {Error}")]
        public static partial void SinkFailed(ILogger logger, string session, string error);
    }
}
