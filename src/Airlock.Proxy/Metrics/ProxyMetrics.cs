using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Airlock.Proxy.Metrics;

/// <summary>
/// The proxy's Prometheus metrics. Thread-safe and lock-free: every record is one or two
/// <see cref="Interlocked"/> operations; only the first decision of a new (decision, reason) pair allocates.
/// </summary>
public sealed class ProxyMetrics
{
    /// <summary>The <c>cause</c> label values of <c>airlock_upstream_errors_total</c>; anything else counts as <c>other</c>.</summary>
    public static readonly IReadOnlyList<string> UpstreamErrorCauses = ["refused", "reset", "tls", "timeout", "dns", "other"];

    /// <summary>The histogram bucket upper bounds in seconds (<c>le</c>), 0.001 to 10.</summary>
    public static IReadOnlyList<double> HistogramBounds { get; } = Array.AsReadOnly(LatencyHistogram.Bounds);

    private const int OtherCause = 5;

    // Keyed by (decision, reason), both from small known sets (verdicts × DecisionReason names and fault reasons).
    private readonly ConcurrentDictionary<(string Decision, string Reason), StrongBox<long>> _decisions = new();
    private readonly long[] _upstreamErrors = new long[6];
    private readonly LatencyHistogram _handshake = new();
    private readonly LatencyHistogram _upstreamLatency = new();
    private long _connectionsActive;
    private long _connectionsTotal;
    private long _bytesIn;
    private long _bytesOut;
    private long _eventsDropped;
    private long _spoolOverflow;

    /// <summary>Counts one decision (<c>airlock_decisions_total{decision,reason}</c>).</summary>
    /// <param name="decision"><c>allow</c>, <c>deny</c> or <c>pending</c>.</param>
    /// <param name="reason">The snake_case reason, as in events.</param>
    public void RecordDecision(string decision, string reason)
    {
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(reason);
        var counter = _decisions.GetOrAdd((decision, reason), static _ => new StrongBox<long>());
        Interlocked.Increment(ref counter.Value);
    }

    /// <summary>A client connection was accepted (<c>airlock_connections_active</c> up, <c>airlock_connections_total</c> up).</summary>
    public void ConnectionOpened()
    {
        Interlocked.Increment(ref _connectionsActive);
        Interlocked.Increment(ref _connectionsTotal);
    }

    /// <summary>A client connection closed (<c>airlock_connections_active</c> down).</summary>
    public void ConnectionClosed() => Interlocked.Decrement(ref _connectionsActive);

    /// <summary>Adds relayed bytes (<c>airlock_bytes_total{direction}</c>).</summary>
    /// <param name="inBytes">Bytes received from the client.</param>
    /// <param name="outBytes">Bytes sent to the client.</param>
    public void AddBytes(long inBytes, long outBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(outBytes);
        if (inBytes != 0)
        {
            Interlocked.Add(ref _bytesIn, inBytes);
        }

        if (outBytes != 0)
        {
            Interlocked.Add(ref _bytesOut, outBytes);
        }
    }

    /// <summary>Counts an upstream failure (<c>airlock_upstream_errors_total{cause}</c>).</summary>
    /// <param name="cause">One of <see cref="UpstreamErrorCauses"/>; any other value counts as <c>other</c>.</param>
    public void RecordUpstreamError(string cause)
    {
        var index = cause switch
        {
            "refused" => 0,
            "reset" => 1,
            "tls" => 2,
            "timeout" => 3,
            "dns" => 4,
            _ => OtherCause,
        };
        Interlocked.Increment(ref _upstreamErrors[index]);
    }

    /// <summary>Observes a TLS handshake's duration (<c>airlock_tls_handshake_seconds</c>).</summary>
    /// <param name="duration">The duration; negative counts as zero.</param>
    public void ObserveHandshake(TimeSpan duration) => _handshake.Observe(duration);

    /// <summary>Observes the time to the upstream's response headers (<c>airlock_upstream_latency_seconds</c>).</summary>
    /// <param name="duration">The duration; negative counts as zero.</param>
    public void ObserveUpstreamLatency(TimeSpan duration) => _upstreamLatency.Observe(duration);

    /// <summary>Counts events a sink could not write (<c>airlock_events_dropped_total</c>).</summary>
    /// <param name="count">How many.</param>
    public void AddEventsDropped(long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Interlocked.Add(ref _eventsDropped, count);
    }

    /// <summary>Counts events the control-channel spool had no room for (<c>airlock_spool_overflow_total</c>).</summary>
    /// <param name="count">How many.</param>
    public void AddSpoolOverflow(long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Interlocked.Add(ref _spoolOverflow, count);
    }

    /// <summary>
    /// Writes every metric in the Prometheus text format 0.0.4 (<see cref="PrometheusText.ContentType"/>),
    /// lines ended by <c>\n</c>. Decision series are sorted by decision then reason.
    /// </summary>
    /// <param name="writer">The output (UTF-8 for a scrape response).</param>
    public void WriteTo(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);

        PrometheusText.WriteHeader(writer, "airlock_decisions_total", "counter", "Egress decisions, by decision and reason.");
        foreach (var ((decision, reason), counter) in _decisions
            .OrderBy(static pair => pair.Key.Decision, StringComparer.Ordinal)
            .ThenBy(static pair => pair.Key.Reason, StringComparer.Ordinal))
        {
            PrometheusText.WriteSample(writer, "airlock_decisions_total", [("decision", decision), ("reason", reason)], Interlocked.Read(ref counter.Value));
        }

        PrometheusText.WriteHeader(writer, "airlock_connections_active", "gauge", "Client connections open now.");
        PrometheusText.WriteSample(writer, "airlock_connections_active", [], Interlocked.Read(ref _connectionsActive));

        PrometheusText.WriteHeader(writer, "airlock_connections_total", "counter", "Client connections accepted.");
        PrometheusText.WriteSample(writer, "airlock_connections_total", [], Interlocked.Read(ref _connectionsTotal));

        PrometheusText.WriteHeader(writer, "airlock_bytes_total", "counter", "Bytes relayed; in: from clients, out: to clients.");
        PrometheusText.WriteSample(writer, "airlock_bytes_total", [("direction", "in")], Interlocked.Read(ref _bytesIn));
        PrometheusText.WriteSample(writer, "airlock_bytes_total", [("direction", "out")], Interlocked.Read(ref _bytesOut));

        PrometheusText.WriteHeader(writer, "airlock_upstream_errors_total", "counter", "Upstream failures, by cause.");
        for (var i = 0; i < _upstreamErrors.Length; i++)
        {
            PrometheusText.WriteSample(writer, "airlock_upstream_errors_total", [("cause", UpstreamErrorCauses[i])], Interlocked.Read(ref _upstreamErrors[i]));
        }

        PrometheusText.WriteHeader(writer, "airlock_tls_handshake_seconds", "histogram", "TLS handshake duration (client side of interception and upstream).");
        _handshake.WriteTo(writer, "airlock_tls_handshake_seconds");

        PrometheusText.WriteHeader(writer, "airlock_upstream_latency_seconds", "histogram", "Time from sending a request upstream to its response headers.");
        _upstreamLatency.WriteTo(writer, "airlock_upstream_latency_seconds");

        PrometheusText.WriteHeader(writer, "airlock_events_dropped_total", "counter", "Events lost because a sink was full or failed to write.");
        PrometheusText.WriteSample(writer, "airlock_events_dropped_total", [], Interlocked.Read(ref _eventsDropped));

        PrometheusText.WriteHeader(writer, "airlock_spool_overflow_total", "counter", "Events the control-channel spool had no room for.");
        PrometheusText.WriteSample(writer, "airlock_spool_overflow_total", [], Interlocked.Read(ref _spoolOverflow));
    }
}
