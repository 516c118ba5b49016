using System.Collections.Concurrent;
using Airlock.Proxy.Events;

namespace Airlock.Proxy.Tests.Events;

public class EventIdsTests
{
    private const string Crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    [Fact]
    public void Ids_are_a_prefix_and_26_crockford_characters()
    {
        var now = DateTimeOffset.UtcNow;

        AssertShape(EventIds.NewEventId(now), "evt_");
        AssertShape(EventIds.NewConnectionId(now), "conn_");
    }

    [Fact]
    public void The_first_ten_characters_encode_the_unix_milliseconds()
    {
        var ts = new DateTimeOffset(2026, 11, 23, 12, 0, 0, 123, TimeSpan.Zero);

        var id = EventIds.NewEventId(ts);

        long milliseconds = 0;
        foreach (var c in id.AsSpan(4, 10))
        {
            milliseconds = (milliseconds << 5) | (long)Crockford.IndexOf(c, StringComparison.Ordinal);
        }

        Assert.Equal(ts.ToUnixTimeMilliseconds(), milliseconds);
    }

    [Fact]
    public void Ids_sort_by_time()
    {
        var ts = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
        var previous = EventIds.NewEventId(ts);
        for (var i = 1; i < 1_000; i++)
        {
            var next = EventIds.NewEventId(ts.AddMilliseconds(i * 37));
            Assert.True(string.CompareOrdinal(previous, next) < 0, $"{previous} !< {next}");
            previous = next;
        }
    }

    [Fact]
    public void Times_before_1970_clamp_to_zero()
    {
        Assert.StartsWith("evt_0000000000", EventIds.NewEventId(DateTimeOffset.UnixEpoch.AddDays(-1)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_hundred_thousand_ids_in_one_millisecond_from_many_threads_do_not_collide()
    {
        var ts = DateTimeOffset.UtcNow;
        var ids = new ConcurrentBag<string>();

        Parallel.For(0, 100_000, _ => ids.Add(EventIds.NewEventId(ts)));

        Assert.Equal(100_000, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void A_hundred_thousand_connection_ids_in_one_thread_do_not_collide()
    {
        var ts = DateTimeOffset.UtcNow;
        var ids = new HashSet<string>(StringComparer.Ordinal);

        for (var i = 0; i < 100_000; i++)
        {
            Assert.True(ids.Add(EventIds.NewConnectionId(ts)));
        }
    }

    private static void AssertShape(string id, string prefix)
    {
        Assert.StartsWith(prefix, id, StringComparison.Ordinal);
        Assert.Equal(prefix.Length + 26, id.Length);
        Assert.All(id[prefix.Length..], c => Assert.Contains(c, Crockford));
    }
}
