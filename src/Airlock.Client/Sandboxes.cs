using System.Text.Json.Serialization;

namespace Airlock.Client;

/// <summary>What a sandbox is doing, as the gateway records it.</summary>
[JsonConverter(typeof(SandboxStateConverter))]
public enum SandboxState
{
    /// <summary>A state this version of the SDK does not know (a newer gateway's).</summary>
    Unknown,

    /// <summary>Being created.</summary>
    Pending,

    /// <summary>Running; commands can be run in it.</summary>
    Ready,

    /// <summary>The driver could not create it; <see cref="Sandbox.StateReason"/> says why.</summary>
    Failed,

    /// <summary>Being deleted.</summary>
    Deleting,

    /// <summary>Deleted; the record stays.</summary>
    Deleted,
}

/// <summary>
/// A new sandbox (<c>POST /v1/sandboxes</c>): give exactly one of <see cref="Policy"/> and <see cref="PolicyName"/>.
/// Durations are the gateway's syntax (<c>30s</c>, <c>10m</c>, <c>2h</c>) and are checked by the gateway, which names
/// the field when one is wrong.
/// </summary>
public sealed record CreateSandboxRequest
{
    /// <summary>The policy's text (YAML or JSON).</summary>
    public string? Policy { get; init; }

    /// <summary>A stored policy's name.</summary>
    public string? PolicyName { get; init; }

    /// <summary>The stored policy's version; its latest when null.</summary>
    public int? PolicyVersion { get; init; }

    /// <summary>Environment variables for commands in the sandbox.</summary>
    public IReadOnlyDictionary<string, string>? Env { get; init; }

    /// <summary>Secrets the proxy injects into requests; never visible inside the sandbox.</summary>
    public IReadOnlyDictionary<string, string>? Secrets { get; init; }

    /// <summary>Lifetime, such as <c>2h</c>; the gateway's default when null.</summary>
    public string? Ttl { get; init; }

    /// <summary>Idle timeout, such as <c>30m</c>; none when null.</summary>
    public string? IdleTimeout { get; init; }

    /// <summary>Labels to find it by (keys 1 to 63 characters, values at most 63).</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

/// <summary>A sandbox as the gateway shows it.</summary>
public sealed record Sandbox
{
    /// <summary>Its id, such as <c>sb-…</c>.</summary>
    public required string Id { get; init; }

    /// <summary>The driver that runs it: <c>local</c> or <c>kubernetes</c>.</summary>
    public required string Driver { get; init; }

    /// <summary>What it is doing.</summary>
    public required SandboxState State { get; init; }

    /// <summary>Why it failed (or was deleted by the gateway).</summary>
    public string? StateReason { get; init; }

    /// <summary>Its labels.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

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
}

/// <summary>Which sandboxes to list; every one the token may see when empty.</summary>
public sealed record SandboxFilter
{
    /// <summary>Only these states.</summary>
    public IReadOnlyCollection<SandboxState>? States { get; init; }

    /// <summary>Only sandboxes with all of these labels.</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

/// <summary>A page of sandboxes, oldest first.</summary>
/// <param name="Items">The sandboxes.</param>
/// <param name="Next">The cursor of the following page (pass it as <c>after</c>); null on the last page.</param>
public sealed record SandboxPage(IReadOnlyList<Sandbox> Items, string? Next);
