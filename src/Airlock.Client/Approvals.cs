using System.Text.Json;
using System.Text.Json.Serialization;

namespace Airlock.Client;

/// <summary>Where a held <c>ask</c> stands.</summary>
[JsonConverter(typeof(ApprovalStateConverter))]
public enum ApprovalState
{
    /// <summary>A state this version of the SDK does not know (a newer gateway's).</summary>
    Unknown,

    /// <summary>Waiting for a decision; the sandbox's request is held.</summary>
    Pending,

    /// <summary>Approved: the request went through.</summary>
    Approved,

    /// <summary>Denied: the request was refused.</summary>
    Denied,

    /// <summary>Nobody decided before <see cref="Approval.ExpiresAt"/>: refused.</summary>
    TimedOut,
}

/// <summary>How far an approval reaches.</summary>
[JsonConverter(typeof(ApprovalScopeConverter))]
public enum ApprovalScope
{
    /// <summary>This one request only; the next one asks again.</summary>
    Once,

    /// <summary>The rest of the sandbox's life: its policy is amended with an allow rule for the host and port.</summary>
    Session,
}

/// <summary>A decision on a held <c>ask</c>.</summary>
public enum ApprovalDecision
{
    /// <summary>Let it through.</summary>
    Approve,

    /// <summary>Refuse it.</summary>
    Deny,
}

/// <summary>A held <c>ask</c>: a sandbox's request waiting for a person (or a program) to decide.</summary>
public sealed record Approval
{
    /// <summary>Its id.</summary>
    public required string Id { get; init; }

    /// <summary>The sandbox that asked.</summary>
    public required string Session { get; init; }

    /// <summary>The destination host.</summary>
    public required string Host { get; init; }

    /// <summary>The destination port.</summary>
    public required int Port { get; init; }

    /// <summary>The name of the ask rule that matched, if it has one.</summary>
    public string? Rule { get; init; }

    /// <summary>When the proxy asked.</summary>
    public required DateTimeOffset RequestedAt { get; init; }

    /// <summary>When the proxy stops waiting and refuses.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Where it stands.</summary>
    public required ApprovalState State { get; init; }

    /// <summary>How far the decision reaches; null until decided.</summary>
    public ApprovalScope? Scope { get; init; }

    /// <summary>When it was decided or timed out.</summary>
    public DateTimeOffset? DecidedAt { get; init; }

    /// <summary>The id of the token that decided.</summary>
    public string? DecidedBy { get; init; }
}

/// <summary>The answer of <c>GET /v1/approvals</c>.</summary>
internal sealed record ApprovalListWire(IReadOnlyList<Approval> Items);

/// <summary>The body of <c>POST /v1/approvals/{id}</c>.</summary>
internal sealed record DecideApprovalWire(string Decision, string Scope);

/// <summary>Approval states on the wire: <c>pending</c>, <c>approved</c>, <c>denied</c>, <c>timedOut</c>.</summary>
internal sealed class ApprovalStateConverter : JsonConverter<ApprovalState>
{
    public static string Name(ApprovalState state) => state switch
    {
        ApprovalState.Pending => "pending",
        ApprovalState.Approved => "approved",
        ApprovalState.Denied => "denied",
        ApprovalState.TimedOut => "timedOut",
        _ => "unknown",
    };

    public override ApprovalState Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetString() switch
        {
            "pending" => ApprovalState.Pending,
            "approved" => ApprovalState.Approved,
            "denied" => ApprovalState.Denied,
            "timedOut" => ApprovalState.TimedOut,
            _ => ApprovalState.Unknown,
        };

    public override void Write(Utf8JsonWriter writer, ApprovalState value, JsonSerializerOptions options) => writer.WriteStringValue(Name(value));
}

/// <summary>Approval scopes on the wire: <c>once</c>, <c>session</c>.</summary>
internal sealed class ApprovalScopeConverter : JsonConverter<ApprovalScope>
{
    public static string Name(ApprovalScope scope) => scope == ApprovalScope.Session ? "session" : "once";

    public override ApprovalScope Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetString() switch
        {
            "once" => ApprovalScope.Once,
            "session" => ApprovalScope.Session,
            var other => throw new JsonException($"'{other}' is not an approval scope"),
        };

    public override void Write(Utf8JsonWriter writer, ApprovalScope value, JsonSerializerOptions options) => writer.WriteStringValue(Name(value));
}
