using System.Text.Json;
using System.Text.Json.Serialization;

namespace Airlock.Client;

/// <summary>
/// One egress event (events v1: one per proxy decision, one per connection close). The fields most callers need
/// are typed; <see cref="Json"/> is the whole event as the proxy wrote it (snake_case, with <c>rule</c>,
/// <c>would_deny</c>, <c>resolved_ip</c>, byte counts and the rest), so fields this SDK does not type are not lost.
/// </summary>
public sealed record EgressEvent
{
    /// <summary>The event's unique id, such as <c>evt_01J…</c>.</summary>
    public required string Id { get; init; }

    /// <summary>The session (sandbox) id.</summary>
    public required string Session { get; init; }

    /// <summary><c>connection</c>, <c>request</c>, <c>close</c>, <c>ask</c>, <c>policy</c> or <c>error</c>.</summary>
    public required string Type { get; init; }

    /// <summary>When it happened.</summary>
    public required DateTimeOffset Ts { get; init; }

    /// <summary>The connection it belongs to.</summary>
    public string? Conn { get; init; }

    /// <summary><c>allow</c>, <c>deny</c> or <c>pending</c>; null on close events.</summary>
    public string? Decision { get; init; }

    /// <summary>Why, in snake_case, such as <c>default_deny</c> or <c>no_matching_http_rule</c>.</summary>
    public string? Reason { get; init; }

    /// <summary>The canonical destination host.</summary>
    public string? Host { get; init; }

    /// <summary>The destination port.</summary>
    public int? Port { get; init; }

    /// <summary>The HTTP method (request events).</summary>
    public string? Method { get; init; }

    /// <summary>The request path and query, redacted.</summary>
    public string? Path { get; init; }

    /// <summary>The HTTP status the sandbox got.</summary>
    public int? Status { get; init; }

    /// <summary>The whole event object as sent.</summary>
    [JsonIgnore]
    public JsonElement Json { get; init; }
}

/// <summary>An event from the stream with its <c>seq</c>: the store's position, which only grows; resume after it.</summary>
/// <param name="Seq">The event's seq.</param>
/// <param name="Event">The event.</param>
public sealed record EgressEventEnvelope(long Seq, EgressEvent Event);

/// <summary>Which events to read; every one the token may see when empty (a <c>sessions</c> token must name a <see cref="Session"/>).</summary>
public sealed record EventFilter
{
    /// <summary>Only this session's (sandbox's) events.</summary>
    public string? Session { get; init; }

    /// <summary>Only <c>allow</c>, <c>deny</c> or <c>ask</c>.</summary>
    public string? Decision { get; init; }

    /// <summary>Only this reason, such as <c>default_deny</c>.</summary>
    public string? Reason { get; init; }

    /// <summary>Only this destination host.</summary>
    public string? Host { get; init; }

    /// <summary>Only events at or after this time.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Only events before this time.</summary>
    public DateTimeOffset? To { get; init; }
}

/// <summary>A page of the event history, in seq order.</summary>
/// <param name="Items">The events.</param>
/// <param name="Next">The seq to pass as <c>after</c> for the following page; null when this page was not full (the last one for now).</param>
public sealed record EventPage(IReadOnlyList<EgressEvent> Items, long? Next);

/// <summary>How <see cref="AirlockClient.StreamEventsAsync"/> keeps its stream alive.</summary>
public sealed record EventStreamOptions
{
    /// <summary>The defaults: 250 ms doubling to 10 s between attempts, forever; a connection silent for 45 s is dropped.</summary>
    public static EventStreamOptions Default { get; } = new();

    /// <summary>The wait before the first reconnection attempt; it doubles with each failure (with jitter).</summary>
    public TimeSpan MinReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between attempts.</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A connection that sends nothing for this long is taken as dead and replaced. The gateway sends a comment every
    /// 15 s, so the default of 45 s tolerates two lost heartbeats.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary>How many failed attempts in a row before the stream gives up and throws; null to retry until cancelled.</summary>
    public int? MaxConsecutiveFailures { get; init; }
}
