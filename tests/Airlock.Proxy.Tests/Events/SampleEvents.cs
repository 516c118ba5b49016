using Airlock.Proxy.Events;

namespace Airlock.Proxy.Tests.Events;

internal static class SampleEvents
{
    public static readonly DateTimeOffset Ts = new(2026, 11, 23, 12, 0, 0, 123, TimeSpan.Zero);

    /// <summary>A request event with every field set.</summary>
    public static EgressEvent Full() => new()
    {
        Type = EgressEventType.Request,
        Ts = Ts,
        Session = "ses_1",
        Id = "evt_1",
        Conn = "conn_1",
        Decision = "allow",
        Reason = "allowed_by_rule",
        Rule = new EventRule(2, "allow", "github"),
        Mode = "enforce",
        WouldDeny = false,
        Client = "127.0.0.1:50312",
        Host = "api.github.com",
        Port = 443,
        Scheme = "https",
        Method = "GET",
        Path = "/repos/o/r",
        Status = 200,
        ResolvedIp = "140.82.112.6",
        Tls = "inspect",
        BytesIn = 10,
        BytesOut = 20,
        DurationMs = 5,
        Detail = "ok",
    };

    /// <summary>A close event: no decision, reason or rule, no optional fields but byte counts.</summary>
    public static EgressEvent Close() => new()
    {
        Type = EgressEventType.Close,
        Ts = Ts,
        Session = "ses_1",
        Id = "evt_2",
        Conn = "conn_1",
        Mode = "audit",
        Tls = "passthrough",
        BytesIn = 0,
        BytesOut = 1234567890123,
    };

    public static EgressEvent Numbered(int n) => Full() with { Id = $"evt_{n}", Path = $"/item/{n}" };
}
