using System.Runtime.ExceptionServices;

namespace Airlock.Proxy.Events;

/// <summary>Publishes every event to several sinks, in order (for example a file and the control channel).</summary>
/// <remarks>
/// It does not own its sinks: dispose them yourself. A sink that throws breaks its contract; the others
/// still get the event, then the exception is rethrown.
/// </remarks>
public sealed class FanOutEventSink : IEventSink
{
    private readonly IEventSink[] _sinks;

    /// <summary>Creates a sink that publishes to each of <paramref name="sinks"/>.</summary>
    /// <param name="sinks">The sinks, in publishing order.</param>
    public FanOutEventSink(params IEventSink[] sinks)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        foreach (var sink in sinks)
        {
            ArgumentNullException.ThrowIfNull(sink, nameof(sinks));
        }

        _sinks = [.. sinks];
    }

    /// <inheritdoc/>
    public void Publish(EgressEvent egressEvent)
    {
        ArgumentNullException.ThrowIfNull(egressEvent);
        List<Exception>? failures = null;
        foreach (var sink in _sinks)
        {
            try
            {
                sink.Publish(egressEvent);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                (failures ??= []).Add(ex);
            }
        }

        if (failures is { Count: 1 })
        {
            ExceptionDispatchInfo.Throw(failures[0]);
        }

        if (failures is not null)
        {
            throw new AggregateException(failures);
        }
    }
}
