namespace Airlock.Proxy.Events;

/// <summary>The <c>type</c> of an event (events v1, DESIGN §4).</summary>
public enum EgressEventType
{
    /// <summary>A connection-level decision (CONNECT, transparent connection, absolute-form request's destination).</summary>
    Connection,

    /// <summary>A request-level decision inside an inspected or plain-HTTP connection.</summary>
    Request,

    /// <summary>A connection closed; carries byte counts and duration.</summary>
    Close,

    /// <summary>An ask rule held a connection; the control plane is asked.</summary>
    Ask,

    /// <summary>The policy changed (hot reload accepted or rejected).</summary>
    Policy,

    /// <summary>A fault: upstream refused, reset, TLS failure, timeout, malformed input.</summary>
    Error,
}

/// <summary>The rule that decided, as written into events: <c>{index, kind, name?}</c>.</summary>
/// <param name="Index">0-based index in the policy's egress list.</param>
/// <param name="Kind"><c>allow</c>, <c>deny</c> or <c>ask</c>.</param>
/// <param name="Name">The rule's name, if it has one.</param>
public sealed record EventRule(int Index, string Kind, string? Name);

/// <summary>
/// One audit event (events v1). Every decision produces exactly one; every connection close one <c>close</c>.
/// Field names on the wire are snake_case (<c>would_deny</c>, <c>resolved_ip</c>, …); null optional fields are omitted.
/// </summary>
public sealed record EgressEvent
{
    /// <summary>Schema version, always 1.</summary>
    public int V { get; init; } = 1;

    /// <summary>The event type.</summary>
    public required EgressEventType Type { get; init; }

    /// <summary>When it happened (written as RFC 3339 UTC with milliseconds).</summary>
    public required DateTimeOffset Ts { get; init; }

    /// <summary>The session id.</summary>
    public required string Session { get; init; }

    /// <summary>A unique event id.</summary>
    public required string Id { get; init; }

    /// <summary>The connection id; ties request and close events to their connection.</summary>
    public required string Conn { get; init; }

    /// <summary><c>allow</c>, <c>deny</c> or <c>pending</c>; null on close events.</summary>
    public string? Decision { get; init; }

    /// <summary>The snake_case reason (see <c>DecisionReasons.Name</c>), or a fault reason such as <c>upstream_timeout</c>.</summary>
    public string? Reason { get; init; }

    /// <summary>The deciding rule, or null (defaults, malformed input).</summary>
    public EventRule? Rule { get; init; }

    /// <summary><c>enforce</c> or <c>audit</c>.</summary>
    public required string Mode { get; init; }

    /// <summary>Audit mode: the policy denies this, but it was let through.</summary>
    public bool WouldDeny { get; init; }

    /// <summary>The client's address and port, e.g. <c>127.0.0.1:50312</c>.</summary>
    public string? Client { get; init; }

    /// <summary>The canonical destination host (or the raw host, escaped, when malformed).</summary>
    public string? Host { get; init; }

    /// <summary>The destination port.</summary>
    public int? Port { get; init; }

    /// <summary><c>https</c>, <c>http</c>, <c>tcp</c>, <c>wss</c>, <c>ws</c>.</summary>
    public string? Scheme { get; init; }

    /// <summary>The HTTP method (request events).</summary>
    public string? Method { get; init; }

    /// <summary>The request path and query, redacted.</summary>
    public string? Path { get; init; }

    /// <summary>The HTTP status the client got.</summary>
    public int? Status { get; init; }

    /// <summary>The address the proxy dialled.</summary>
    public string? ResolvedIp { get; init; }

    /// <summary><c>inspect</c>, <c>passthrough</c> or <c>none</c>.</summary>
    public required string Tls { get; init; }

    /// <summary>Bytes received from the client (close events; request events when known).</summary>
    public long? BytesIn { get; init; }

    /// <summary>Bytes sent to the client.</summary>
    public long? BytesOut { get; init; }

    /// <summary>Duration in milliseconds.</summary>
    public long? DurationMs { get; init; }

    /// <summary>A human-readable detail (errors, policy updates, address classification).</summary>
    public string? Detail { get; init; }
}

/// <summary>Where events go. Implementations must not block the caller on I/O and must be thread-safe.</summary>
public interface IEventSink
{
    /// <summary>Publishes one event.</summary>
    /// <param name="egressEvent">The event (already redacted).</param>
    void Publish(EgressEvent egressEvent);
}
