using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Airlock.Proxy.Control;

/// <summary>
/// The proxy's connection to its control plane. The proxy dials out, says <c>hello</c>, streams events and
/// asks as NDJSON lines, and takes <c>policy.update</c> and <c>decision</c> messages back. When the plane is
/// unreachable it reconnects with backoff and keeps events in an on-disk spool, which is replayed in order
/// before any newer event once it is back.
/// </summary>
/// <remarks>
/// <para>One writer task owns the socket and decides what comes next; one reader task per connection reads.
/// Outgoing events are, in order: the batch a failed write left unconfirmed, the in-memory queue, then the
/// spool. Publishers add to the queue while nothing is spooled and the queue has room; once one line went to
/// the spool, every later line does too until the writer has replayed the spool to its end, so no line can
/// overtake an older one.</para>
/// <para>Delivery is at-least-once: event lines are kept until the plane acknowledges them as stored
/// (<c>events.ack</c>) and the unacknowledged ones are sent again first on the next connection; a batch whose
/// write failed is sent again, and a crash during a replay replays the whole spool. The control plane
/// de-duplicates by the event <c>id</c>. A plane that never acknowledges gets no resends of what was written.</para>
/// </remarks>
public sealed partial class ControlChannel : IAsyncDisposable
{
    private const int BatchBytes = 64 * 1024;

    private readonly ControlEndpoint _endpoint;
    private readonly ControlChannelOptions _options;
    private readonly IControlHandler _handler;
    private readonly ILogger<ControlChannel> _logger;
    private readonly TimeProvider _time;
    private readonly EventSpool _spool;

    private readonly Lock _gate = new();
    private readonly Channel<Outgoing> _outgoing = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, PendingAsk> _pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _draining = new();
    private readonly CancellationTokenSource _drainingOrStopping;

    // Guarded by _gate.
    private bool _spilling = true;
    private bool _disposed;
    private bool _spoolProblemLogged;
    private Task? _run;

    private long _queuedBytes;
    private long _overflow;
    private volatile bool _connected;

    // Event lines written on the current connection and not yet acknowledged as stored by the plane, oldest first;
    // guarded by _ackGate (the writer adds, the reader removes). A plane that never acknowledges (an older one) gets
    // the old at-most-once-per-write behaviour: at the end of its connection they are dropped, not resent.
    private const long MaxUnackedBytes = 8 * 1024 * 1024;
    private readonly Lock _ackGate = new();
    private readonly Queue<byte[]> _unacked = new();
    private long _unackedBytes;
    private long _written;
    private long _acked;
    private long _ackedThrough;
    private bool _unackedTrimmedLogged;

    // Owned by the writer task.
    private readonly List<byte[]> _unsent = [];
    private ArrayBufferWriter<byte> _batch = new(BatchBytes);
    private readonly Utf8JsonWriter _json;
    private long _generation;

    /// <summary>Builds a channel and opens its spool; <see cref="Start"/> begins connecting.</summary>
    /// <param name="endpoint">Where the control plane listens.</param>
    /// <param name="options">Session, spool and timing settings.</param>
    /// <param name="handler">Applies policy updates and knows the policy version in force.</param>
    /// <param name="logger">The channel's log.</param>
    /// <param name="time">The clock for backoff and timeouts; the system clock when null.</param>
    /// <exception cref="IOException">The spool cannot be opened (locked by another proxy, a symbolic link, …).</exception>
    /// <exception cref="UnauthorizedAccessException">The spool's file or directory is not writable.</exception>
    public ControlChannel(ControlEndpoint endpoint, ControlChannelOptions options, IControlHandler handler, ILogger<ControlChannel> logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ControlChannelOptionsValidation.ThrowIfInvalid(options);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(logger);
        _endpoint = endpoint;
        _options = options;
        _handler = handler;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _drainingOrStopping = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token, _draining.Token);
        _json = new Utf8JsonWriter(_batch, ControlProtocol.WriterOptions);
        _spool = EventSpool.Open(options.SpoolPath, options.SpoolMaxBytes);
        if (_spool.DiscardedTailBytes > 0)
        {
            Log.SpoolTailDiscarded(_logger, _spool.Path, _spool.DiscardedTailBytes);
        }

        if (_spool.PendingBytes > 0)
        {
            Log.SpoolFound(_logger, _spool.Path, _spool.PendingBytes);
        }
    }

    /// <summary>Whether a connection is up and <c>hello</c> was sent on it.</summary>
    public bool IsConnected => _connected;

    /// <summary>Events that could not be kept (the spool was full or could not be written); also sent as <c>spool_overflow</c> in every <c>hello</c>.</summary>
    public long SpoolOverflowCount => Interlocked.Read(ref _overflow);

    /// <summary>Bytes of events waiting in the spool.</summary>
    public long SpooledBytes => _spool.PendingBytes;

    /// <summary>Starts the background loop that connects, reconnects and sends.</summary>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public void Start()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_run is not null)
            {
                throw new InvalidOperationException("The control channel is already started.");
            }

            _run = Task.Run(RunAsync);
        }
    }

    /// <summary>
    /// Sends one event. Never waits for the network: the line goes to the in-memory queue while the plane
    /// is connected and keeping up, to the spool otherwise. The line is copied; the caller keeps its buffer.
    /// </summary>
    /// <param name="ndjsonLine">One serialised event (a JSON object), with or without its trailing <c>\n</c>.</param>
    /// <exception cref="ArgumentException">The line is empty, contains a line feed, or is longer than 1 MiB.</exception>
    /// <exception cref="ObjectDisposedException">The channel is disposed.</exception>
    public void SendEvent(ReadOnlyMemory<byte> ndjsonLine)
    {
        byte[] line = ControlProtocol.ToEventLine(ndjsonLine.Span);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_spilling && Interlocked.Read(ref _queuedBytes) + line.Length <= _options.QueueMaxBytes)
            {
                Interlocked.Add(ref _queuedBytes, line.Length);
                _outgoing.Writer.TryWrite(Outgoing.Event(line));
                return;
            }

            if (!_spilling)
            {
                // The writer may be idle: tell it there is a spool to replay.
                _spilling = true;
                _outgoing.Writer.TryWrite(Outgoing.WakeUp);
            }

            SpoolLocked(line);
        }
    }

    /// <summary>
    /// Asks the control plane about a held connection and waits for its <c>decision</c>. Asks are never
    /// spooled: while disconnected the ask waits for the next connection (within the timeout) and is sent
    /// again on every new connection until it is answered.
    /// </summary>
    /// <param name="request">The ask; its <see cref="AskRequest.AskId"/> must not be waiting already.</param>
    /// <param name="timeout">How long to wait; also sent as <c>timeout_ms</c> (what is left of it).</param>
    /// <param name="cancellationToken">Gives up waiting (throws <see cref="OperationCanceledException"/>).</param>
    /// <returns>Allow or deny with its scope, or <see cref="AskAnswer.TimedOut"/>.</returns>
    /// <exception cref="ObjectDisposedException">The channel is disposed, or was disposed while waiting.</exception>
    public async Task<AskAnswer> AskAsync(AskRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        var pending = new PendingAsk(request, _time.GetTimestamp(), timeout);
        var entry = new KeyValuePair<string, PendingAsk>(request.AskId, pending);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_pending.TryAdd(request.AskId, pending))
            {
                throw new InvalidOperationException($"An ask with id '{request.AskId}' is already waiting.");
            }

            _outgoing.Writer.TryWrite(Outgoing.ForAsk(pending));
        }

        try
        {
            return await pending.Completion.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            if (_pending.TryRemove(entry))
            {
                // Completed, so that a connection made later does not send it.
                pending.Completion.TrySetResult(AskAnswer.TimedOut);
                Log.AskTimedOut(_logger, request.AskId, (long)timeout.TotalMilliseconds);
                return AskAnswer.TimedOut;
            }

            // A decision (or disposal) took the entry first and is completing it.
            return await pending.Completion.Task.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (_pending.TryRemove(entry))
            {
                pending.Completion.TrySetCanceled(cancellationToken);
            }

            throw;
        }
    }

    /// <summary>
    /// Stops the channel: sends what is queued and spooled to a connected plane for up to
    /// <see cref="ControlChannelOptions.DrainTimeout"/>, then keeps whatever is left in the spool for the next run.
    /// Waiting asks fail with <see cref="ObjectDisposedException"/>.
    /// </summary>
    /// <returns>A task that completes when the channel is stopped and the spool closed.</returns>
    public async ValueTask DisposeAsync()
    {
        Task? run;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            run = _run;
        }

        await _draining.CancelAsync().ConfigureAwait(false);
        if (run is not null)
        {
            if (!_connected)
            {
                await _stopping.CancelAsync().ConfigureAwait(false);
            }

            try
            {
                await run.WaitAsync(_options.DrainTimeout, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Log.DrainTimedOut(_logger, (long)_options.DrainTimeout.TotalMilliseconds);
                await _stopping.CancelAsync().ConfigureAwait(false);
                await run.ConfigureAwait(false);
            }
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        KeepLeftovers();
        foreach (KeyValuePair<string, PendingAsk> entry in _pending)
        {
            if (_pending.TryRemove(entry))
            {
                entry.Value.Completion.TrySetException(new ObjectDisposedException(nameof(ControlChannel)));
            }
        }

        _spool.Dispose();
        _json.Dispose();
        _drainingOrStopping.Dispose();
        _draining.Dispose();
        _stopping.Dispose();
    }

    private void SpoolLocked(byte[] line)
    {
        try
        {
            if (_spool.TryAppend(line))
            {
                _spoolProblemLogged = false;
                return;
            }

            if (!_spoolProblemLogged)
            {
                _spoolProblemLogged = true;
                Log.SpoolFull(_logger, _spool.Path, _spool.MaxBytes);
            }
        }
        catch (IOException ex)
        {
            if (!_spoolProblemLogged)
            {
                _spoolProblemLogged = true;
                Log.SpoolWriteFailed(_logger, _spool.Path, ex);
            }
        }

        Interlocked.Increment(ref _overflow);
    }

    /// <summary>The writer task: connect, run the connection, back off, again, until disposed.</summary>
    private async Task RunAsync()
    {
        CancellationToken stopping = _stopping.Token;
        int failures = 0;
        while (!_drainingOrStopping.IsCancellationRequested)
        {
            try
            {
                Socket? socket = await ConnectAsync(failures + 1, stopping).ConfigureAwait(false);
                if (socket is not null && await RunConnectionAsync(socket, stopping).ConfigureAwait(false))
                {
                    failures = 0;
                }
            }
            catch (OperationCanceledException) when (_drainingOrStopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // A bug, not a network fault; stopping here would leave events piling up in the spool unseen.
                Log.ConnectionFaulted(_logger, _endpoint, ex);
            }

            failures++;
            if (_drainingOrStopping.IsCancellationRequested)
            {
                break;
            }

            TimeSpan delay = ReconnectBackoff.Delay(failures, _options.InitialBackoff, _options.MaxBackoff, RandomUnit());
            Log.Reconnecting(_logger, _endpoint, (long)delay.TotalMilliseconds);
            try
            {
                await Task.Delay(delay, _time, _drainingOrStopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task<Socket?> ConnectAsync(int attempt, CancellationToken stopping)
    {
        EndPoint target = _endpoint.ToEndPoint();
        Socket socket = _endpoint.Transport == ControlTransport.Unix
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : target is IPEndPoint ip
                ? new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
                : new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(_options.ConnectTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stopping);
        try
        {
            await socket.ConnectAsync(target, linked.Token).ConfigureAwait(false);
            if (_endpoint.Transport == ControlTransport.Tcp)
            {
                socket.NoDelay = true;
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
                socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 30);
                socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 10);
            }

            return socket;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            if (!stopping.IsCancellationRequested)
            {
                string error = ex is SocketException ? ex.Message : "timed out";
                if (attempt == 1)
                {
                    Log.ConnectFailed(_logger, _endpoint, error);
                }
                else
                {
                    Log.ConnectFailedAgain(_logger, _endpoint, attempt, error);
                }
            }

            return null;
        }
    }

    /// <summary>Runs one connection until it fails or the channel stops; true if <c>hello</c> went out.</summary>
    private async Task<bool> RunConnectionAsync(Socket socket, CancellationToken stopping)
    {
        long generation = ++_generation;
        var stream = new NetworkStream(socket, ownsSocket: true);
        lock (_ackGate)
        {
            _written = 0;
            _acked = 0;
            _ackedThrough = 0;
        }


        // Hard stop (I/O error, protocol error, disposal timeout) cancels writes; soft stop (the plane closed
        // its side, the channel drains) only ends the wait for more to send, so a write in flight completes.
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        using var peerClosed = new CancellationTokenSource();
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(connection.Token, peerClosed.Token, _draining.Token);
        var link = new ConnectionLink(stream, generation, connection, peerClosed);
        Task reading = Task.CompletedTask;
        bool established = false;
        string reason = "closed";
        try
        {
            ControlProtocol.WriteHello(_batch, _json, _options.SessionId, _options.ProxyVersion, _handler.PolicyVersion, SpoolOverflowCount);
            await WriteBatchAsync(link).ConfigureAwait(false);
            established = true;
            _connected = true;
            Log.Connected(_logger, _endpoint);
            reading = Task.Run(() => ReadLoopAsync(link), CancellationToken.None);
            await WriteLoopAsync(link, idle.Token).ConfigureAwait(false);
            reason = peerClosed.IsCancellationRequested ? "the control plane closed the connection" : "the channel is stopping";
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            reason = link.WriteTimedOut
                ? $"a write stalled for {(long)_options.WriteTimeout.TotalMilliseconds} ms"
                : connection.IsCancellationRequested ? link.ReadProblem ?? "the channel is stopping" : ex.Message;
        }
        finally
        {
            _connected = false;
            lock (_gate)
            {
                _spilling = true;
            }

            _batch.ResetWrittenCount();
            await connection.CancelAsync().ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
            await reading.ConfigureAwait(false);
            RequeueUnacked(link.PlaneAcks);
        }

        if (established)
        {
            Log.Disconnected(_logger, _endpoint, reason);
        }

        return established;
    }

    private async Task WriteLoopAsync(ConnectionLink link, CancellationToken idle)
    {
        foreach (PendingAsk ask in _pending.Values)
        {
            AppendAsk(ask, link.Generation);
        }

        foreach (byte[] line in _unsent)
        {
            _batch.Write(line);
        }

        while (true)
        {
            if (link.PeerClosed.IsCancellationRequested)
            {
                // The plane closed its side: it reads what is on the way and then goes; the rest waits for the next connection.
                return;
            }

            while (_batch.WrittenCount < BatchBytes && _outgoing.Reader.TryRead(out Outgoing item))
            {
                Append(item, link.Generation);
            }

            if (_batch.WrittenCount > 0)
            {
                await WriteBatchAsync(link).ConfigureAwait(false);
                Track(_unsent);
                _unsent.Clear();
                continue;
            }

            if (await ReplaySpoolAsync(link).ConfigureAwait(false))
            {
                continue;
            }

            if (idle.IsCancellationRequested)
            {
                link.Connection.Token.ThrowIfCancellationRequested();
                return;
            }

            try
            {
                await _outgoing.Reader.WaitToReadAsync(idle).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!link.Connection.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private void Append(Outgoing item, long generation)
    {
        switch (item.Kind)
        {
            case OutgoingKind.Event:
                Interlocked.Add(ref _queuedBytes, -item.Line!.Length);
                _unsent.Add(item.Line);
                _batch.Write(item.Line);
                break;
            case OutgoingKind.Ask:
                AppendAsk(item.Ask!, generation);
                break;
            case OutgoingKind.Ack when item.Generation == generation:
                _batch.Write(item.Line);
                break;
            default:
                // A wake-up, or an ack for a connection that is gone (the next hello carries the policy version).
                break;
        }
    }

    private void AppendAsk(PendingAsk ask, long generation)
    {
        if (ask.SentOn == generation || ask.Completion.Task.IsCompleted)
        {
            return;
        }

        TimeSpan left = ask.Timeout - _time.GetElapsedTime(ask.Started);
        if (left <= TimeSpan.Zero)
        {
            return;
        }

        ControlProtocol.WriteAsk(_batch, _json, ask.Request, _options.SessionId, Math.Max(1, (long)left.TotalMilliseconds));
        ask.SentOn = generation;
    }

    /// <summary>Sends the next spooled lines; false (and the spool left) once it is empty.</summary>
    private async Task<bool> ReplaySpoolAsync(ConnectionLink link)
    {
        lock (_gate)
        {
            if (_spool.PendingBytes == 0)
            {
                // Caught up: from here publishers may use the queue again.
                _spilling = false;
                return false;
            }
        }

        ReadOnlyMemory<byte> lines = _spool.PeekLines();
        await WriteAsync(link, lines).ConfigureAwait(false);
        Track(SplitLines(lines.Span));
        lock (_gate)
        {
            _spool.Consume(lines.Length);
            if (_spool.PendingBytes == 0)
            {
                _spoolProblemLogged = false;
                Log.SpoolReplayed(_logger, _spool.Path);
            }
        }

        return true;
    }

    private async Task WriteBatchAsync(ConnectionLink link)
    {
        await WriteAsync(link, _batch.WrittenMemory).ConfigureAwait(false);
        if (_batch.Capacity > 4 * BatchBytes)
        {
            // A long line grew the buffer; do not keep a megabyte for the connection's lifetime.
            _batch = new ArrayBufferWriter<byte>(BatchBytes);
        }
        else
        {
            _batch.ResetWrittenCount();
        }
    }

    private async Task WriteAsync(ConnectionLink link, ReadOnlyMemory<byte> bytes)
    {
        using var stall = new CancellationTokenSource(_options.WriteTimeout, _time);
        using var write = CancellationTokenSource.CreateLinkedTokenSource(link.Connection.Token, stall.Token);
        try
        {
            await link.Stream.WriteAsync(bytes, write.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stall.IsCancellationRequested && !link.Connection.IsCancellationRequested)
        {
            link.WriteTimedOut = true;
            throw;
        }
    }

    private async Task ReadLoopAsync(ConnectionLink link)
    {
        var reader = new NdjsonLineReader(link.Stream, ControlProtocol.MaxLineBytes);
        try
        {
            while (true)
            {
                (LineReadStatus status, ReadOnlyMemory<byte> line) = await reader.ReadLineAsync(link.Connection.Token).ConfigureAwait(false);
                if (status == LineReadStatus.EndOfStream)
                {
                    await link.PeerClosed.CancelAsync().ConfigureAwait(false);
                    return;
                }

                if (status == LineReadStatus.TooLong)
                {
                    link.ReadProblem = $"the control plane sent a line longer than {ControlProtocol.MaxLineBytes} bytes";
                    Log.LineTooLong(_logger, _endpoint, ControlProtocol.MaxLineBytes);
                    await link.Connection.CancelAsync().ConfigureAwait(false);
                    return;
                }

                await HandleLineAsync(line, link).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (link.Connection.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            link.ReadProblem ??= ex.Message;
            await link.Connection.CancelAsync().ConfigureAwait(false);
        }
        finally
        {
            reader.Complete();
        }
    }

    private async Task HandleLineAsync(ReadOnlyMemory<byte> line, ConnectionLink link)
    {
        long generation = link.Generation;
        if (line.Span.Trim(" \t\r"u8).IsEmpty)
        {
            return;
        }

        PlaneMessage message = ControlProtocol.Parse(line.Span);
        switch (message.Kind)
        {
            case PlaneMessageKind.Malformed:
                Log.MalformedMessage(_logger, new Log.PlaneText(message.Error));
                break;
            case PlaneMessageKind.Unknown:
                Log.UnknownMessageType(_logger, new Log.PlaneText(message.Type));
                break;
            case PlaneMessageKind.Decision:
                if (_pending.TryRemove(message.AskId!, out PendingAsk? pending))
                {
                    Log.DecisionReceived(_logger, pending.Request.AskId, message.Answer.Outcome, message.Answer.Scope);
                    pending.Completion.TrySetResult(message.Answer);
                }
                else
                {
                    Log.UnknownAskId(_logger, new Log.PlaneText(message.AskId));
                }

                break;
            case PlaneMessageKind.EventsAck:
                Acknowledge(message.Events);
                link.PlaneAcks = true;
                break;
            case PlaneMessageKind.PolicyUpdate:
                string version = message.Version!;
                Log.PolicyUpdateReceived(_logger, new Log.PlaneText(version));
                PolicyUpdateResult result = message.Policy is null
                    ? PolicyUpdateResult.Rejected([message.Error!])
                    : await ApplyPolicyAsync(version, message.Policy).ConfigureAwait(false);
                if (!result.Ok)
                {
                    Log.PolicyUpdateRejected(_logger, new Log.PlaneText(version), result.Errors.Count);
                }

                _outgoing.Writer.TryWrite(Outgoing.Ack(ControlProtocol.SerializeAck(version, result), generation));
                break;
        }
    }

    private async Task<PolicyUpdateResult> ApplyPolicyAsync(string version, string policy)
    {
        try
        {
            return await _handler.OnPolicyUpdateAsync(version, policy, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            // A handler that throws has a bug; the plane still gets an answer and the old policy stays.
            Log.PolicyHandlerFailed(_logger, new Log.PlaneText(version), ex);
            return PolicyUpdateResult.Rejected(["the proxy failed to apply the policy (internal error; see the proxy log)"]);
        }
    }

    /// <summary>Event lines the plane now has on the wire, kept until it says they are stored.</summary>
    private void Track(IEnumerable<byte[]> lines)
    {
        lock (_ackGate)
        {
            foreach (byte[] line in lines)
            {
                _unacked.Enqueue(line);
                _unackedBytes += line.Length;
                _written++;
            }

            // The plane's ack can overtake the writer's bookkeeping (it read and stored the lines before the write
            // call returned here).
            DropAcknowledgedLocked();

            // A plane that stores slower than this proxy sends (or never acknowledges) must not grow memory without
            // bound: the oldest lines are let go (they were sent; only a plane crash now could lose them).
            while (_unackedBytes > MaxUnackedBytes && _unacked.TryDequeue(out byte[]? oldest))
            {
                _unackedBytes -= oldest.Length;
                _acked++;
                if (!_unackedTrimmedLogged)
                {
                    _unackedTrimmedLogged = true;
                    Log.UnackedTrimmed(_logger, MaxUnackedBytes);
                }
            }
        }
    }

    /// <summary>The plane stored the first <paramref name="events"/> event lines of this connection.</summary>
    private void Acknowledge(long events)
    {
        lock (_ackGate)
        {
            _ackedThrough = Math.Max(_ackedThrough, events);
            DropAcknowledgedLocked();
        }
    }

    private void DropAcknowledgedLocked()
    {
        while (_acked < _ackedThrough && _unacked.TryDequeue(out byte[]? stored))
        {
            _unackedBytes -= stored.Length;
            _acked++;
        }

        if (_unacked.Count == 0)
        {
            _unackedTrimmedLogged = false;
        }
    }

    /// <summary>
    /// The connection ended: what the plane did not acknowledge goes back in front of the unsent lines, to be sent
    /// again first (the plane de-duplicates by id). Lines sent to a plane that never acknowledges are let go.
    /// </summary>
    private void RequeueUnacked(bool planeAcks)
    {
        lock (_ackGate)
        {
            if (planeAcks && _unacked.Count > 0)
            {
                _unsent.InsertRange(0, _unacked);
            }

            _unacked.Clear();
            _unackedBytes = 0;
        }
    }

    private static List<byte[]> SplitLines(ReadOnlySpan<byte> lines)
    {
        var split = new List<byte[]>();
        while (!lines.IsEmpty)
        {
            int end = lines.IndexOf((byte)'\n');
            int length = end < 0 ? lines.Length : end + 1;
            split.Add(lines[..length].ToArray());
            lines = lines[length..];
        }

        return split;
    }

    /// <summary>After the writer stopped: queued and unconfirmed events go in front of the spool, for the next run.</summary>
    private void KeepLeftovers()
    {
        List<ReadOnlyMemory<byte>> lines = [.. _unsent.Select(line => new ReadOnlyMemory<byte>(line))];
        while (_outgoing.Reader.TryRead(out Outgoing item))
        {
            if (item.Kind == OutgoingKind.Event)
            {
                lines.Add(item.Line);
            }
        }

        lock (_gate)
        {
            try
            {
                _spool.Prepend(lines);
                _spool.Flush();
                if (lines.Count > 0)
                {
                    Log.LeftoversSpooled(_logger, lines.Count, _spool.Path);
                }
            }
            catch (IOException ex)
            {
                Interlocked.Add(ref _overflow, lines.Count);
                Log.SpoolWriteFailed(_logger, _spool.Path, ex);
            }
        }
    }

    private static double RandomUnit() => RandomNumberGenerator.GetInt32(1 << 30) / (double)(1 << 30);

    private enum OutgoingKind
    {
        Event,
        Ask,
        Ack,
        WakeUp,
    }

    private readonly record struct Outgoing(OutgoingKind Kind, byte[]? Line, PendingAsk? Ask, long Generation)
    {
        public static Outgoing WakeUp => new(OutgoingKind.WakeUp, null, null, 0);

        public static Outgoing Event(byte[] line) => new(OutgoingKind.Event, line, null, 0);

        public static Outgoing ForAsk(PendingAsk ask) => new(OutgoingKind.Ask, null, ask, 0);

        public static Outgoing Ack(byte[] line, long generation) => new(OutgoingKind.Ack, line, null, generation);
    }

    private sealed class PendingAsk(AskRequest request, long started, TimeSpan timeout)
    {
        public AskRequest Request { get; } = request;

        public long Started { get; } = started;

        public TimeSpan Timeout { get; } = timeout;

        public TaskCompletionSource<AskAnswer> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The connection generation it was last sent on; written by the writer task only.</summary>
        public long SentOn { get; set; }
    }

    /// <summary>What the writer and the reader of one connection share.</summary>
    private sealed class ConnectionLink(NetworkStream stream, long generation, CancellationTokenSource connection, CancellationTokenSource peerClosed)
    {
        public NetworkStream Stream { get; } = stream;

        public long Generation { get; } = generation;

        public CancellationTokenSource Connection { get; } = connection;

        public CancellationTokenSource PeerClosed { get; } = peerClosed;

        public bool WriteTimedOut { get; set; }

        /// <summary>The plane sent an <c>events.ack</c> on this connection: unacknowledged lines are resent after it.</summary>
        public bool PlaneAcks { get; set; }

        public string? ReadProblem { get; set; }
    }
}
