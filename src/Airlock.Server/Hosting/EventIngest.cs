using System.Threading.Channels;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;
using Airlock.Server.Store;
using Microsoft.Extensions.Logging;

namespace Airlock.Server.Hosting;

/// <summary>
/// What the proxies send, into the gateway: the in-memory hub (live driver views, activity) and, in batches, the
/// store, whose committed events (with their seq) go to the live <see cref="EventFeed"/>. Events are acknowledged
/// to their proxies only once committed (<see cref="WhenStoredAsync"/>), so a gateway that dies loses none. A store that fails is
/// retried with backoff; nothing queued is dropped, and a full queue slows the proxies' connections down (they
/// spool) rather than losing events.
/// </summary>
public sealed partial class EventIngest : IControlPlaneSink, IAsyncDisposable
{
    private const int BatchSize = 500;
    private const int QueueCapacity = 100_000;
    private readonly IServerStore _store;
    private readonly SessionEventHub _hub;
    private readonly EventFeed _feed;
    private readonly ILogger _logger;
    private readonly Channel<EgressEvent> _queue = Channel.CreateBounded<EgressEvent>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _writer;
    private long _stored;

    // Events taken (queued) and written (committed, duplicates included), in queue order; waiters for durability.
    private long _taken;
    private long _written;
    private readonly Lock _durable = new();
    private readonly List<(long Through, TaskCompletionSource Done)> _waiters = [];

    /// <summary>Starts the batch writer.</summary>
    public EventIngest(IServerStore store, SessionEventHub hub, EventFeed feed, ILogger logger)
    {
        _store = store;
        _hub = hub;
        _feed = feed;
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Events committed to the store since the start (duplicates not counted).</summary>
    public long Stored => Interlocked.Read(ref _stored);

    /// <inheritdoc />
    public ValueTask OnConnectedAsync(ProxyHello hello, CancellationToken cancellationToken) => _hub.OnConnectedAsync(hello, cancellationToken);

    /// <inheritdoc />
    public async ValueTask OnEventAsync(string session, EgressEvent egressEvent, CancellationToken cancellationToken)
    {
        await _hub.OnEventAsync(session, egressEvent, cancellationToken).ConfigureAwait(false);
        await _queue.Writer.WriteAsync(egressEvent, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _taken);
    }

    /// <inheritdoc />
    public async ValueTask WhenStoredAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource done;
        lock (_durable)
        {
            var through = Interlocked.Read(ref _taken);
            if (_written >= through)
            {
                return;
            }

            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((through, done));
        }

        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Written(int count)
    {
        lock (_durable)
        {
            _written += count;
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Through <= _written)
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>Where asks go after the hub (the approvals); set once, before proxies connect.</summary>
    public Func<ProxyAsk, CancellationToken, ValueTask>? Asks { get; set; }

    /// <inheritdoc />
    public async ValueTask OnAskAsync(ProxyAsk ask, CancellationToken cancellationToken)
    {
        await _hub.OnAskAsync(ask, cancellationToken).ConfigureAwait(false);
        if (Asks is { } asks)
        {
            await asks(ask, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public ValueTask OnDisconnectedAsync(string session, string reason) => _hub.OnDisconnectedAsync(session, reason);

    private async Task WriteLoopAsync()
    {
        var batch = new List<EgressEvent>(BatchSize);
        var delay = TimeSpan.FromMilliseconds(100);
        while (await _queue.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            while (batch.Count < BatchSize && _queue.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            try
            {
                var stored = await _store.AppendEventsAsync(batch, CancellationToken.None).ConfigureAwait(false);
                Interlocked.Add(ref _stored, stored.Count);
                Written(batch.Count);
                _feed.Publish(stored);
                foreach (var session in stored.Select(s => s.Event.Session).Distinct(StringComparer.Ordinal))
                {
                    await _store.TouchSandboxAsync(session, CancellationToken.None).ConfigureAwait(false);
                }

                batch.Clear();
                delay = TimeSpan.FromMilliseconds(100);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Keep the batch and try again: the store may be restarting. Stopping gives up after one more try.
                Log.StoreFailed(_logger, batch.Count, e.Message);
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                await Task.Delay(delay, CancellationToken.None).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>Stores what is queued, then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 10, Level = LogLevel.Error, Message = "Could not store {Count} events (kept, retrying): {Error}")]
        public static partial void StoreFailed(ILogger logger, int count, string error);
    }
}
