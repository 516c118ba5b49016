using System.Threading.Channels;
using Airlock.Server.Store;

namespace Airlock.Server.Hosting;

/// <summary>
/// Live fan-out of stored events (with their <c>seq</c>) to readers such as SSE streams. A reader that falls more
/// than its buffer behind is cut off (its channel completes) rather than slowing ingestion; it resumes from the
/// store with the last seq it saw, so it misses nothing.
/// </summary>
public sealed class EventFeed
{
    private const int ReaderBuffer = 10_000;
    private readonly Lock _gate = new();
    private readonly List<Channel<StoredEvent>> _readers = [];

    /// <summary>Starts receiving every event published from now on.</summary>
    public ChannelReader<StoredEvent> Subscribe(out IDisposable subscription)
    {
        var channel = Channel.CreateBounded<StoredEvent>(new BoundedChannelOptions(ReaderBuffer) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        lock (_gate)
        {
            _readers.Add(channel);
        }

        subscription = new Subscription(this, channel);
        return channel.Reader;
    }

    /// <summary>Hands newly stored events, in seq order, to every reader.</summary>
    public void Publish(IReadOnlyList<StoredEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        lock (_gate)
        {
            for (var i = _readers.Count - 1; i >= 0; i--)
            {
                foreach (var stored in events)
                {
                    if (!_readers[i].Writer.TryWrite(stored))
                    {
                        _readers[i].Writer.TryComplete(new EventFeedOverflowException());
                        _readers.RemoveAt(i);
                        break;
                    }
                }
            }
        }
    }

    private void Remove(Channel<StoredEvent> channel)
    {
        lock (_gate)
        {
            _readers.Remove(channel);
        }

        channel.Writer.TryComplete();
    }

    private sealed class Subscription(EventFeed feed, Channel<StoredEvent> channel) : IDisposable
    {
        public void Dispose() => feed.Remove(channel);
    }
}

/// <summary>A live reader fell too far behind and was cut off; it resumes from the store.</summary>
public sealed class EventFeedOverflowException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EventFeedOverflowException()
        : base("the reader fell too far behind the live feed")
    {
    }

    /// <summary>Creates the exception.</summary>
    public EventFeedOverflowException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public EventFeedOverflowException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
