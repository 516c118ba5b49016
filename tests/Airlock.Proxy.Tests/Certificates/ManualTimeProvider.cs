namespace Airlock.Proxy.Tests.Certificates;

/// <summary>A clock tests set and advance by hand.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long utcTicks = start.UtcTicks;

    /// <summary>A whole-second start near the real time, so chains also verify against the real clock.</summary>
    public static ManualTimeProvider NearNow()
    {
        var now = DateTimeOffset.UtcNow;
        return new ManualTimeProvider(new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, now.Second, TimeSpan.Zero));
    }

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref utcTicks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref utcTicks, by.Ticks);

    public void Set(DateTimeOffset now) => Interlocked.Exchange(ref utcTicks, now.UtcTicks);
}
