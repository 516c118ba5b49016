using Airlock.Proxy.Events;

namespace Airlock.Server.Store;

/// <summary>An event as stored: its position in the store-wide sequence and its events v1 JSON.</summary>
/// <param name="Seq">The store-wide sequence number: increasing in commit order, never reused. The SSE event id.</param>
/// <param name="Event">The event.</param>
/// <param name="Json">The event as one events v1 JSON object (what <see cref="EventJson.ToJson"/> wrote).</param>
public sealed record StoredEvent(long Seq, EgressEvent Event, string Json);

/// <summary>Which events to read. Every filter that is set must match.</summary>
public sealed record EventQuery
{
    /// <summary>The largest page.</summary>
    public const int MaxLimit = 1000;

    /// <summary>Only this session.</summary>
    public string? Session { get; init; }

    /// <summary>Only this decision (<c>allow</c>, <c>deny</c>, <c>pending</c>).</summary>
    public string? Decision { get; init; }

    /// <summary>Only this reason.</summary>
    public string? Reason { get; init; }

    /// <summary>Only this host (exact).</summary>
    public string? Host { get; init; }

    /// <summary>Only events at or after this time.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Only events before this time.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Only events with a sequence number strictly greater than this (SSE <c>Last-Event-ID</c>, paging).</summary>
    public long? AfterSeq { get; init; }

    /// <summary>The page size, 1 to <see cref="MaxLimit"/> (larger values are capped).</summary>
    public int Limit { get; init; } = 100;
}
