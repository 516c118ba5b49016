using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Airlock.Proxy.Events;

namespace Airlock.Proxy.Control;

/// <summary>
/// An in-memory <see cref="IControlPlaneSink"/> and <see cref="IEgressEventSource"/>: it keeps the newest events of
/// each session (duplicates, which reconnecting proxies resend, dropped by id) and hands them to readers, live ones
/// included. For a control plane that keeps no store of its own; a gateway with a database stores instead.
/// </summary>
/// <param name="perSessionCapacity">How many events a session keeps; older ones are forgotten first.</param>
/// <param name="time">The clock arrivals are timed by.</param>
public sealed class SessionEventHub(int perSessionCapacity = 10_000, TimeProvider? time = null) : IControlPlaneSink, IEgressEventSource
{
    private readonly Dictionary<string, SessionLog> _sessions = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly DateTimeOffset _started = (time ?? TimeProvider.System).GetUtcNow();

    /// <summary>Raised (outside any lock) after a proxy said hello: the control plane may have a policy to send it.</summary>
    public event Action<ProxyHello>? Connected;

    /// <summary>Raised when a proxy asks.</summary>
    public event Action<ProxyAsk>? Asked;

    /// <inheritdoc />
    public ValueTask OnConnectedAsync(ProxyHello hello, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hello);
        Connected?.Invoke(hello);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask OnEventAsync(string session, EgressEvent egressEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(egressEvent);
        lock (_gate)
        {
            if (!_sessions.TryGetValue(session, out SessionLog? log))
            {
                _sessions[session] = log = new SessionLog();
            }

            if (!log.Ids.Add(egressEvent.Id))
            {
                return ValueTask.CompletedTask;
            }

            log.LastArrival = _time.GetUtcNow();

            log.Events.Enqueue(egressEvent);
            if (log.Events.Count > perSessionCapacity)
            {
                log.Ids.Remove(log.Events.Dequeue().Id);
            }

            foreach (var reader in log.Readers)
            {
                // Unbounded: a slow reader costs memory, never the proxy's connection.
                reader.Writer.TryWrite(egressEvent);
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask OnAskAsync(ProxyAsk ask, CancellationToken cancellationToken)
    {
        Asked?.Invoke(ask);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask OnDisconnectedAsync(string session, string reason) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public DateTimeOffset LastActivity(string session)
    {
        lock (_gate)
        {
            return _sessions.TryGetValue(session, out SessionLog? log) && log.LastArrival is { } at ? at : _started;
        }
    }

    /// <summary>Forgets a session's events (after it was deleted); its live readers end.</summary>
    public void Forget(string session)
    {
        lock (_gate)
        {
            if (_sessions.Remove(session, out SessionLog? log))
            {
                foreach (var reader in log.Readers)
                {
                    reader.Writer.TryComplete();
                }
            }
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EgressEvent> EventsAsync(string session, bool follow, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        EgressEvent[] past;
        Channel<EgressEvent>? live = null;
        SessionLog? log;
        lock (_gate)
        {
            if (!_sessions.TryGetValue(session, out log))
            {
                _sessions[session] = log = new SessionLog();
            }

            // The snapshot and the subscription are taken together, so nothing falls between them or comes twice.
            past = [.. log.Events];
            if (follow)
            {
                live = Channel.CreateUnbounded<EgressEvent>(new UnboundedChannelOptions { SingleReader = true });
                log.Readers.Add(live);
            }
        }

        try
        {
            foreach (EgressEvent egressEvent in past)
            {
                yield return egressEvent;
            }

            if (live is null)
            {
                yield break;
            }

            await foreach (EgressEvent egressEvent in live.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return egressEvent;
            }
        }
        finally
        {
            if (live is not null)
            {
                lock (_gate)
                {
                    log.Readers.Remove(live);
                }
            }
        }
    }

    private sealed class SessionLog
    {
        public Queue<EgressEvent> Events { get; } = new();

        public HashSet<string> Ids { get; } = new(StringComparer.Ordinal);

        public List<Channel<EgressEvent>> Readers { get; } = [];

        public DateTimeOffset? LastArrival { get; set; }
    }
}
