using System.Text.Json;
using System.Text.Json.Serialization;
using Airlock.Server.Store;

namespace Airlock.Server.Api;

/// <summary><c>POST /v1/sandboxes</c>.</summary>
public sealed record CreateSandboxRequest
{
    /// <summary>The policy text (YAML or JSON); or <see cref="PolicyName"/>.</summary>
    public string? Policy { get; init; }

    /// <summary>A stored policy's name; or <see cref="Policy"/>.</summary>
    public string? PolicyName { get; init; }

    /// <summary>The stored policy's version; its latest when null.</summary>
    public int? PolicyVersion { get; init; }

    /// <summary>Environment variables for commands in the sandbox.</summary>
    public Dictionary<string, string>? Env { get; init; }

    /// <summary>Secrets the proxy injects (never visible inside the sandbox).</summary>
    public Dictionary<string, string>? Secrets { get; init; }

    /// <summary>Lifetime, such as <c>2h</c>.</summary>
    public string? Ttl { get; init; }

    /// <summary>Idle timeout, such as <c>30m</c>.</summary>
    public string? IdleTimeout { get; init; }

    /// <summary>Labels to find it by.</summary>
    public Dictionary<string, string>? Labels { get; init; }
}

/// <summary>A sandbox as the API shows it.</summary>
public sealed record SandboxView
{
    /// <summary>Its id.</summary>
    public required string Id { get; init; }

    /// <summary>local or kubernetes.</summary>
    public required string Driver { get; init; }

    /// <summary>pending, ready, failed, deleting or deleted.</summary>
    public required string State { get; init; }

    /// <summary>Why it failed (or was deleted by the gateway).</summary>
    public string? StateReason { get; init; }

    /// <summary>Its labels.</summary>
    public required IReadOnlyDictionary<string, string> Labels { get; init; }

    /// <summary>The stored policy it was created from, if any.</summary>
    public string? PolicyName { get; init; }

    /// <summary>That policy's version.</summary>
    public int? PolicyVersion { get; init; }

    /// <summary>The policy version its proxy enforces now, after hot reloads.</summary>
    public int? ActivePolicyVersion { get; init; }

    /// <summary>When it was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When its state last changed.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When its TTL ends.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Its idle timeout in seconds.</summary>
    public int? IdleTimeoutSeconds { get; init; }

    /// <summary>Its last egress.</summary>
    public DateTimeOffset? LastActivityAt { get; init; }

    /// <summary>The API view of a stored sandbox.</summary>
    public static SandboxView From(SandboxRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new SandboxView
        {
            Id = record.Id,
            Driver = record.Driver,
            State = record.State.ToString().ToLowerInvariant(),
            StateReason = record.StateReason,
            Labels = record.Labels,
            PolicyName = record.PolicyName,
            PolicyVersion = record.PolicyVersion,
            ActivePolicyVersion = record.ActivePolicyVersion,
            CreatedAt = record.CreatedAt,
            UpdatedAt = record.UpdatedAt,
            ExpiresAt = record.ExpiresAt,
            IdleTimeoutSeconds = record.IdleTimeoutSeconds,
            LastActivityAt = record.LastActivityAt,
        };
    }
}

/// <summary>A page of sandboxes.</summary>
/// <param name="Items">The sandboxes.</param>
/// <param name="Next">The <c>after</c> cursor of the next page; null on the last.</param>
public sealed record SandboxListView(IReadOnlyList<SandboxView> Items, string? Next);

/// <summary>The API's JSON (source-generated: the gateway runs as NativeAOT).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateSandboxRequest))]
[JsonSerializable(typeof(SandboxView))]
[JsonSerializable(typeof(SandboxListView))]

// Errors (Problem Details), written by the API and its auth middleware.
[JsonSerializable(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))]
[JsonSerializable(typeof(Microsoft.AspNetCore.Http.HttpValidationProblemDetails))]

// Parameter types, for the OpenAPI document's schemas under NativeAOT.
[JsonSerializable(typeof(bool?))]
[JsonSerializable(typeof(int?))]
[JsonSerializable(typeof(long?))]
[JsonSerializable(typeof(string))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
