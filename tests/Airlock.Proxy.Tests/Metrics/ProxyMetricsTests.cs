using Airlock.Proxy.Metrics;

namespace Airlock.Proxy.Tests.Metrics;

public class ProxyMetricsTests
{
    private static readonly string[] Families =
    [
        "airlock_decisions_total", "airlock_connections_active", "airlock_connections_total", "airlock_bytes_total",
        "airlock_upstream_errors_total", "airlock_tls_handshake_seconds", "airlock_upstream_latency_seconds",
        "airlock_events_dropped_total", "airlock_spool_overflow_total",
    ];

    [Fact]
    public void A_fresh_registry_declares_every_family_with_zero_values()
    {
        var parsed = Scrape(new ProxyMetrics());

        Assert.Equal(Families, parsed.Types.Keys);
        Assert.Equal("counter", parsed.Types["airlock_decisions_total"]);
        Assert.Equal("gauge", parsed.Types["airlock_connections_active"]);
        Assert.Equal("histogram", parsed.Types["airlock_tls_handshake_seconds"]);
        Assert.DoesNotContain(parsed.Samples, s => s.Name == "airlock_decisions_total");
        Assert.All(parsed.Samples, s => Assert.Equal(0, s.Value));
        Assert.Equal(ProxyMetrics.UpstreamErrorCauses, parsed.Samples.Where(s => s.Name == "airlock_upstream_errors_total").Select(s => s.Labels["cause"]));
        Assert.Equal(["in", "out"], parsed.Samples.Where(s => s.Name == "airlock_bytes_total").Select(s => s.Labels["direction"]));
    }

    [Fact]
    public void Counters_sum_correctly_under_concurrency()
    {
        const int Threads = 8;
        const int PerThread = 10_000;
        var metrics = new ProxyMetrics();
        string[] causes = ["refused", "reset", "tls", "timeout", "dns", "martian"];

        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                metrics.ConnectionOpened();
                metrics.RecordDecision(i % 2 == 0 ? "allow" : "deny", i % 2 == 0 ? "allowed_by_rule" : (i % 4 == 1 ? "default_deny" : "denied_by_rule"));
                metrics.AddBytes(3, 5);
                metrics.RecordUpstreamError(causes[i % causes.Length]);
                metrics.ObserveUpstreamLatency(TimeSpan.FromMilliseconds(i % 3));
                metrics.AddEventsDropped(1);
                metrics.AddSpoolOverflow(2);
                if (i % 10 != 0)
                {
                    metrics.ConnectionClosed();
                }
            }
        });

        var parsed = Scrape(metrics);
        const int Total = Threads * PerThread;
        Assert.Equal(Total, parsed.Value("airlock_connections_total"));
        Assert.Equal(Total / 10, parsed.Value("airlock_connections_active"));
        Assert.Equal(Total / 2, parsed.Value("airlock_decisions_total", ("decision", "allow"), ("reason", "allowed_by_rule")));
        Assert.Equal(Total / 4, parsed.Value("airlock_decisions_total", ("decision", "deny"), ("reason", "default_deny")));
        Assert.Equal(Total / 4, parsed.Value("airlock_decisions_total", ("decision", "deny"), ("reason", "denied_by_rule")));
        Assert.Equal(3L * Total, parsed.Value("airlock_bytes_total", ("direction", "in")));
        Assert.Equal(5L * Total, parsed.Value("airlock_bytes_total", ("direction", "out")));
        Assert.Equal(Total, parsed.Samples.Where(s => s.Name == "airlock_upstream_errors_total").Sum(s => s.Value));
        Assert.Equal(parsed.Value("airlock_upstream_errors_total", ("cause", "dns")), parsed.Value("airlock_upstream_errors_total", ("cause", "other")));
        Assert.Equal(Total, parsed.Value("airlock_upstream_latency_seconds_count"));
        Assert.Equal(Total, parsed.Value("airlock_events_dropped_total"));
        Assert.Equal(2 * Total, parsed.Value("airlock_spool_overflow_total"));
    }

    [Fact]
    public void Histogram_buckets_are_cumulative_with_inclusive_bounds()
    {
        var metrics = new ProxyMetrics();
        metrics.ObserveHandshake(TimeSpan.FromMilliseconds(0.5));
        metrics.ObserveHandshake(TimeSpan.FromMilliseconds(1));
        metrics.ObserveHandshake(TimeSpan.FromMilliseconds(3));
        metrics.ObserveHandshake(TimeSpan.FromSeconds(10));
        metrics.ObserveHandshake(TimeSpan.FromSeconds(20));
        metrics.ObserveHandshake(TimeSpan.FromSeconds(-1));

        var parsed = Scrape(metrics);
        var buckets = parsed.Samples.Where(s => s.Name == "airlock_tls_handshake_seconds_bucket").ToList();

        Assert.Equal(
            ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"],
            buckets.Select(b => b.Labels["le"]));
        Assert.Equal([3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 6], buckets.Select(b => b.Value));
        Assert.Equal(6, parsed.Value("airlock_tls_handshake_seconds_count"));
        Assert.Equal(30.0045, parsed.Value("airlock_tls_handshake_seconds_sum"), 9);
        Assert.Equal(0, parsed.Value("airlock_upstream_latency_seconds_count"));
    }

    [Fact]
    public void Histogram_buckets_stay_cumulative_under_concurrency()
    {
        var metrics = new ProxyMetrics();

        Parallel.For(0, 40_000, i => metrics.ObserveUpstreamLatency(TimeSpan.FromTicks(i * 3_000L)));

        var buckets = Scrape(metrics).Samples.Where(s => s.Name == "airlock_upstream_latency_seconds_bucket").Select(s => s.Value).ToList();
        Assert.Equal(buckets.Order(), buckets);
        Assert.Equal(40_000, buckets[^1]);
    }

    [Fact]
    public void Label_values_are_escaped()
    {
        var metrics = new ProxyMetrics();
        metrics.RecordDecision("al\"low", "back\\slash\nnew line");

        var text = Expose(metrics);

        Assert.Contains("airlock_decisions_total{decision=\"al\\\"low\",reason=\"back\\\\slash\\nnew line\"} 1\n", text, StringComparison.Ordinal);
        Assert.Equal(1, ExpositionParser.Parse(text).Value("airlock_decisions_total", ("decision", "al\"low"), ("reason", "back\\slash\nnew line")));
    }

    [Fact]
    public void Decision_series_are_sorted()
    {
        var metrics = new ProxyMetrics();
        metrics.RecordDecision("pending", "ask_pending");
        metrics.RecordDecision("deny", "malformed_host");
        metrics.RecordDecision("allow", "default_allow");
        metrics.RecordDecision("deny", "default_deny");

        var series = Scrape(metrics).Samples.Where(s => s.Name == "airlock_decisions_total").Select(s => $"{s.Labels["decision"]}/{s.Labels["reason"]}");

        Assert.Equal(["allow/default_allow", "deny/default_deny", "deny/malformed_host", "pending/ask_pending"], series);
    }

    [Fact]
    public void Negative_amounts_are_refused()
    {
        var metrics = new ProxyMetrics();

        Assert.Throws<ArgumentOutOfRangeException>(() => metrics.AddBytes(-1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => metrics.AddEventsDropped(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => metrics.AddSpoolOverflow(-1));
    }

    [Fact]
    public void The_histogram_bounds_are_published()
    {
        Assert.Equal(0.001, ProxyMetrics.HistogramBounds[0]);
        Assert.Equal(10, ProxyMetrics.HistogramBounds[^1]);
        Assert.Equal(ProxyMetrics.HistogramBounds.Order(), ProxyMetrics.HistogramBounds);
    }

    private static string Expose(ProxyMetrics metrics)
    {
        using var writer = new StringWriter { NewLine = "\r\n" };
        metrics.WriteTo(writer);
        return writer.ToString();
    }

    private static ExpositionParser Scrape(ProxyMetrics metrics) => ExpositionParser.Parse(Expose(metrics));
}
