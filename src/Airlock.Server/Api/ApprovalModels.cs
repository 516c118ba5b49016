using System.Text.Json;
using System.Text.Json.Serialization;
using Airlock.Server.Store;

namespace Airlock.Server.Api;

/// <summary>A held <c>ask</c>, as the API shows it.</summary>
public sealed record ApprovalView
{
    /// <summary>The approval (ask) id.</summary>
    public required string Id { get; init; }

    /// <summary>The sandbox that asked.</summary>
    public required string Session { get; init; }

    /// <summary>The destination host.</summary>
    public required string Host { get; init; }

    /// <summary>The destination port.</summary>
    public required int Port { get; init; }

    /// <summary>The ask rule's name, or null.</summary>
    public string? Rule { get; init; }

    /// <summary>When the proxy asked.</summary>
    public required DateTimeOffset RequestedAt { get; init; }

    /// <summary>When the proxy stops waiting (and denies).</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary><c>pending</c>, <c>approved</c>, <c>denied</c> or <c>timedOut</c>.</summary>
    public required string State { get; init; }

    /// <summary><c>once</c> or <c>session</c>; null until decided.</summary>
    public string? Scope { get; init; }

    /// <summary>When it was decided or timed out.</summary>
    public DateTimeOffset? DecidedAt { get; init; }

    /// <summary>The token id that decided.</summary>
    public string? DecidedBy { get; init; }

    /// <summary>The view of a stored approval.</summary>
    public static ApprovalView From(ApprovalRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new ApprovalView
        {
            Id = record.Id,
            Session = record.Session,
            Host = record.Host,
            Port = record.Port,
            Rule = record.Rule,
            RequestedAt = record.RequestedAt,
            ExpiresAt = record.ExpiresAt,
            State = JsonNamingPolicy.CamelCase.ConvertName(record.State.ToString()),
            Scope = record.Scope?.ToString().ToLowerInvariant(),
            DecidedAt = record.DecidedAt,
            DecidedBy = record.DecidedBy,
        };
    }
}

/// <summary>Approvals.</summary>
/// <param name="Items">Oldest first.</param>
public sealed record ApprovalListView(IReadOnlyList<ApprovalView> Items);

/// <summary>The body of <c>POST /v1/approvals/{id}</c>.</summary>
public sealed record DecideApprovalRequest
{
    /// <summary><c>approve</c> or <c>deny</c>.</summary>
    public string? Decision { get; init; }

    /// <summary><c>once</c> (the default) or <c>session</c>.</summary>
    public string? Scope { get; init; }
}

/// <summary>Source-generated JSON for the approval routes.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ApprovalView))]
[JsonSerializable(typeof(ApprovalListView))]
[JsonSerializable(typeof(DecideApprovalRequest))]
public sealed partial class ApprovalJsonContext : JsonSerializerContext;
