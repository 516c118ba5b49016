using System.Security.Cryptography;
using Airlock.Policy.Decisions;
using Airlock.Policy.Model;
using Airlock.Proxy.Events;

namespace Airlock.Proxy.Sessions;

/// <summary>Builds and publishes the session's events: one per decision, one close per connection.</summary>
internal sealed class ProxyEvents(string session, IEventSink sink, TimeProvider time)
{
    public static string NewConnectionId() => "conn_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    public void Decision(
        EgressEventType type,
        ClientConnection connection,
        EgressDecision decision,
        string? method = null,
        string? path = null,
        int? status = null,
        string? resolvedIp = null,
        string? detail = null) =>
        sink.Publish(Base(type, connection) with
        {
            Decision = VerdictName(decision.Verdict),
            Reason = decision.ReasonName,
            Rule = decision.Rule is { } rule ? new EventRule(rule.Index, rule.KindName, rule.Name) : null,
            Mode = ModeName(decision.Mode),
            WouldDeny = decision.WouldDeny,
            Method = method,
            Path = path,
            Status = status,
            ResolvedIp = resolvedIp,
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
        sink.Publish(Base(type, connection) with
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
        sink.Publish(Base(EgressEventType.Error, connection) with
        {
            Reason = reason,
            Mode = ModeName(mode),
            Method = method,
            Path = path,
            Status = status,
            Detail = detail,
        });

    public void Close(ClientConnection connection, PolicyMode mode, long bytesIn, long bytesOut) =>
        sink.Publish(Base(EgressEventType.Close, connection) with
        {
            Mode = ModeName(mode),
            BytesIn = bytesIn,
            BytesOut = bytesOut,
            DurationMs = (long)(time.GetUtcNow() - connection.Started).TotalMilliseconds,
        });

    private EgressEvent Base(EgressEventType type, ClientConnection connection) => new()
    {
        Type = type,
        Ts = time.GetUtcNow(),
        Session = session,
        Id = "evt_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)),
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
