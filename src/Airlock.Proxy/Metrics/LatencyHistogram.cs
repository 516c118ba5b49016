namespace Airlock.Proxy.Metrics;

/// <summary>A lock-free histogram of durations with fixed buckets (seconds, <c>le</c> inclusive).</summary>
internal sealed class LatencyHistogram
{
    /// <summary>Upper bounds in seconds, 1 ms to 10 s.</summary>
    public static readonly double[] Bounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly long[] BoundTicks = [.. Bounds.Select(static seconds => (long)Math.Round(seconds * TimeSpan.TicksPerSecond))];

    // Per-bucket (not cumulative) counts; the last slot is above the highest bound.
    private readonly long[] _counts = new long[Bounds.Length + 1];
    private long _sumTicks;

    public void Observe(TimeSpan duration)
    {
        var ticks = Math.Max(duration.Ticks, 0);
        var bucket = 0;
        while (bucket < BoundTicks.Length && ticks > BoundTicks[bucket])
        {
            bucket++;
        }

        Interlocked.Increment(ref _counts[bucket]);
        Interlocked.Add(ref _sumTicks, ticks);
    }

    /// <summary>Writes the <c>_bucket</c> (cumulative, then <c>+Inf</c>), <c>_sum</c> and <c>_count</c> lines.</summary>
    public void WriteTo(TextWriter writer, string name)
    {
        var bucketName = name + "_bucket";
        long cumulative = 0;
        for (var i = 0; i < Bounds.Length; i++)
        {
            cumulative += Interlocked.Read(ref _counts[i]);
            PrometheusText.WriteSample(writer, bucketName, [("le", PrometheusText.FormatValue(Bounds[i]))], cumulative);
        }

        // _count is the +Inf bucket by construction, so the two always agree within one scrape.
        cumulative += Interlocked.Read(ref _counts[^1]);
        PrometheusText.WriteSample(writer, bucketName, [("le", "+Inf")], cumulative);
        PrometheusText.WriteSample(writer, name + "_sum", [], (double)Interlocked.Read(ref _sumTicks) / TimeSpan.TicksPerSecond);
        PrometheusText.WriteSample(writer, name + "_count", [], cumulative);
    }
}
