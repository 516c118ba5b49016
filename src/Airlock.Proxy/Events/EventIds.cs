using System.Security.Cryptography;

namespace Airlock.Proxy.Events;

/// <summary>
/// Event ids (<c>evt_…</c>) and connection ids (<c>conn_…</c>): a prefix and a 26-character ULID
/// (Crockford base32, upper case) of a 48-bit Unix time in milliseconds and 80 random bits.
/// </summary>
/// <remarks>
/// Ids sort by time to the millisecond (ids made in the same millisecond sort randomly), so a spool or a
/// log sorted by id is sorted by time. 80 bits from <see cref="RandomNumberGenerator"/> per millisecond make
/// a collision negligible and ids unpredictable: an <c>ask</c> event's id may be what the control plane
/// answers with.
/// </remarks>
public static class EventIds
{
    /// <summary>The prefix of event ids.</summary>
    public const string EventPrefix = "evt_";

    /// <summary>The prefix of connection ids.</summary>
    public const string ConnectionPrefix = "conn_";

    private const int UlidLength = 26;
    private const int RandomBytes = 10;
    private const int RandomPoolBytes = RandomBytes * 64;
    private const long MaxTimestamp = (1L << 48) - 1;
    private static readonly char[] Crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".ToCharArray();

    // Random bytes fetched 640 at a time: one RNG call per 64 ids.
    [ThreadStatic]
    private static byte[]? t_pool;

    [ThreadStatic]
    private static int t_poolOffset;

    /// <summary>A new event id, <c>evt_</c> and a ULID of <paramref name="timestamp"/>.</summary>
    /// <param name="timestamp">When the event happened (its <see cref="EgressEvent.Ts"/>).</param>
    public static string NewEventId(DateTimeOffset timestamp) => Create(EventPrefix, timestamp);

    /// <summary>A new connection id, <c>conn_</c> and a ULID of <paramref name="timestamp"/>.</summary>
    /// <param name="timestamp">When the connection was accepted.</param>
    public static string NewConnectionId(DateTimeOffset timestamp) => Create(ConnectionPrefix, timestamp);

    private static string Create(string prefix, DateTimeOffset timestamp)
    {
        var milliseconds = Math.Clamp(timestamp.ToUnixTimeMilliseconds(), 0, MaxTimestamp);
        Span<byte> random = stackalloc byte[RandomBytes];
        NextRandom(random);
        Span<char> id = stackalloc char[ConnectionPrefix.Length + UlidLength];
        prefix.CopyTo(id);
        var ulid = id.Slice(prefix.Length, UlidLength);

        // 10 characters of time (the top 2 of 50 bits are zero), then 2 × 8 characters of 40 random bits.
        for (var i = 9; i >= 0; i--)
        {
            ulid[i] = Crockford[(int)(milliseconds & 31)];
            milliseconds >>= 5;
        }

        Encode40(random[..5], ulid.Slice(10, 8));
        Encode40(random[5..], ulid.Slice(18, 8));
        return new string(id[..(prefix.Length + UlidLength)]);
    }

    private static void Encode40(ReadOnlySpan<byte> bytes, Span<char> chars)
    {
        var bits = ((long)bytes[0] << 32) | ((long)bytes[1] << 24) | ((long)bytes[2] << 16) | ((long)bytes[3] << 8) | bytes[4];
        for (var i = 7; i >= 0; i--)
        {
            chars[i] = Crockford[(int)(bits & 31)];
            bits >>= 5;
        }
    }

    private static void NextRandom(Span<byte> destination)
    {
        var pool = t_pool ??= new byte[RandomPoolBytes];
        if (t_poolOffset == 0)
        {
            RandomNumberGenerator.Fill(pool);
        }

        pool.AsSpan(t_poolOffset, destination.Length).CopyTo(destination);
        t_poolOffset = (t_poolOffset + destination.Length) % RandomPoolBytes;
    }
}
