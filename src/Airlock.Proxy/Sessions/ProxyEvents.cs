using Airlock.Policy.Decisions;
using Airlock.Policy.Model;
using Airlock.Proxy.Events;
using Airlock.Proxy.Metrics;

namespace Airlock.Proxy.Sessions;

/// <summary>
/// Builds and publishes the session's events (one per decision, one close per connection), redacted, and
/// counts them in the metrics.
/// </summary>
internal sealed class ProxyEvents(string session, IEventSink sink, TimeProvider time, ProxyMetrics metrics)
{
    private EventRedactor _redactor = new([]);

    public ProxyMetrics Metrics => metrics;

    /// <summary>The redactor in use; replaced when the policy's patterns change.</summary>
    public EventRedactor Redactor
    {
        get => Volatile.Read(ref _redactor);
        set => Volatile.Write(ref _redactor, value);
    }

    public string NewConnectionId()
    {
        metrics.ConnectionOpened();
        return EventIds.NewConnectionId(time.GetUtcNow());
    }

    public void Decision(
        EgressEventType type,
        ClientConnection connection,
        EgressDecision decision,
        string? method = null,
        string? path = null,
        int? status = null,
        string? resolvedIp = null,
        string? detail = null) =>
        Publish(Base(type, connection) with
        {
            Decision = VerdictName(decision.Verdict),
            Reason = decision.ReasonName,
            Rule = decision.Rule is { } rule ? new EventRule(rule.Index, rule.KindName, rule.Name) : null,
            Mode = ModeName(decision.Mode),
            WouldDeny = decision.WouldDeny,
            Method = method,
            Path = path,
            Status = status,
            ResolvedIp = resolvedIp ?? connection.ResolvedIp,
            Detail = detail,
        });

    public void Refusal(
        EgressEventType type,
        ClientConnection connection,
        string reason,
        PolicyMode mode,
        string? method = null,
        string? path = null,
        int? status = null,
        string? detail = null,
        EgressRule? rule = null) =>
        Publish(Base(type, connection) with
        {
            Decision = "deny",
            Reason = reason,
            Rule = rule is null ? null : new EventRule(rule.Index, rule.KindName, rule.Name),
            Mode = ModeName(mode),
            Method = method,
            Path = path,
            Status = status,
            Detail = detail,
        });

    public void Error(ClientConnection connection, string reason, PolicyMode mode, string detail, string? method = null, string? path = null, int? status = null) =>
        Publish(Base(EgressEventType.Error, connection) with
        {
            Reason = reason,
            Mode = ModeName(mode),
            Method = method,
            Path = path,
            Status = status,
            Detail = detail,
        });

    public void Policy(ClientConnection connection, string detail, PolicyMode mode) =>
        Publish(Base(EgressEventType.Policy, connection) with
        {
            Decision = "allow",
            Reason = "policy_applied",
            Mode = ModeName(mode),
            Detail = detail,
        });

    public void Close(ClientConnection connection, PolicyMode mode, long bytesIn, long bytesOut)
    {
        metrics.ConnectionClosed();
        metrics.AddBytes(bytesIn, bytesOut);
        Publish(Base(EgressEventType.Close, connection) with
        {
            Mode = ModeName(mode),
            BytesIn = bytesIn,
            BytesOut = bytesOut,
            DurationMs = (long)(time.GetUtcNow() - connection.Started).TotalMilliseconds,
        });
    }

    private void Publish(EgressEvent egressEvent)
    {
        if (egressEvent.Type != EgressEventType.Policy && egressEvent.Decision is { } decision && egressEvent.Reason is { } reason)
        {
            metrics.RecordDecision(decision, reason);
        }
        else if (egressEvent.Type == EgressEventType.Error && egressEvent.Reason is { } cause)
        {
            if (cause == "dns_failure")
            {
                metrics.RecordUpstreamError("dns");
            }
            else if (cause.StartsWith("upstream_", StringComparison.Ordinal))
            {
                metrics.RecordUpstreamError(cause["upstream_".Length..]);
            }
        }

        sink.Publish(Redactor.Redact(egressEvent));
    }

    private EgressEvent Base(EgressEventType type, ClientConnection connection) => new()
    {
        Type = type,
        Ts = time.GetUtcNow(),
        Session = session,
        Id = EventIds.NewEventId(time.GetUtcNow()),
        Conn = connection.Id,
        Mode = "enforce",
        Client = connection.Client,
        Host = connection.Host,
        Port = connection.Port,
        Scheme = connection.Scheme,
        ResolvedIp = connection.ResolvedIp,
        Tls = connection.Tls,
    };

    private static string VerdictName(Verdict verdict) => verdict switch
    {
        Verdict.Allow => "allow",
        Verdict.Pending => "pending",
        _ => "deny",
    };

    private static string ModeName(PolicyMode mode) => mode == PolicyMode.Audit ? "audit" : "enforce";
}

/// <summary>What is known about one client connection, filled in as it is decided.</summary>
internal sealed class ClientConnection(string id, string? client, DateTimeOffset started)
{
    public string Id { get; } = id;

    public string? Client { get; } = client;

    public DateTimeOffset Started { get; } = started;

    public string? Host { get; set; }

    public int? Port { get; set; }

    public string? Scheme { get; set; }

    public string? ResolvedIp { get; set; }

    /// <summary><c>inspect</c>, <c>passthrough</c> or <c>none</c>.</summary>
    public string Tls { get; set; } = "none";
}
