namespace Airlock.Server.Store;

/// <summary>The lifecycle state of a sandbox.</summary>
public enum SandboxState
{
    /// <summary>Accepted; the driver is creating it.</summary>
    Pending,

    /// <summary>Running and reachable.</summary>
    Ready,

    /// <summary>Could not be created or died; <see cref="SandboxRecord.StateReason"/> says why.</summary>
    Failed,

    /// <summary>Deletion requested; the driver is tearing it down.</summary>
    Deleting,

    /// <summary>Gone. The row is kept for its history.</summary>
    Deleted,
}

/// <summary>What the caller decides when a sandbox is created; the store adds the state and the timestamps.</summary>
public sealed record NewSandbox
{
    /// <summary>The sandbox id, which is also the session id in its events.</summary>
    public required string Id { get; init; }

    /// <summary>The driver that runs it (<c>local</c>, <c>kubernetes</c>).</summary>
    public required string Driver { get; init; }

    /// <summary>Labels for filtering.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The named policy it runs, or null.</summary>
    public string? PolicyName { get; init; }

    /// <summary>The version of <see cref="PolicyName"/> asked for, or null.</summary>
    public int? PolicyVersion { get; init; }

    /// <summary>When it is deleted regardless of activity, or null.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Seconds without activity after which it is deleted, or null.</summary>
    public int? IdleTimeoutSeconds { get; init; }

    /// <summary>The id of the token that created it, or null (created by the gateway itself).</summary>
    public string? OwnerTokenId { get; init; }
}

/// <summary>A sandbox as stored.</summary>
public sealed record SandboxRecord
{
    /// <summary>The sandbox id (the session id).</summary>
    public required string Id { get; init; }

    /// <summary>The driver that runs it.</summary>
    public required string Driver { get; init; }

    /// <summary>Its state.</summary>
    public required SandboxState State { get; init; }

    /// <summary>Why it is in that state (a failure's reason), or null.</summary>
    public string? StateReason { get; init; }

    /// <summary>Its labels.</summary>
    public required IReadOnlyDictionary<string, string> Labels { get; init; }

    /// <summary>The named policy it runs, or null.</summary>
    public string? PolicyName { get; init; }

    /// <summary>The policy version it should run, or null.</summary>
    public int? PolicyVersion { get; init; }

    /// <summary>The policy version its proxy acknowledged, or null.</summary>
    public int? ActivePolicyVersion { get; init; }

    /// <summary>When it was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the row last changed.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When it expires, or null.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The idle timeout in seconds, or null.</summary>
    public int? IdleTimeoutSeconds { get; init; }

    /// <summary>The last recorded activity, or null.</summary>
    public DateTimeOffset? LastActivityAt { get; init; }

    /// <summary>The id of the token that created it, or null.</summary>
    public string? OwnerTokenId { get; init; }
}

/// <summary>Which sandboxes to list, and which page.</summary>
public sealed record SandboxQuery
{
    /// <summary>The largest page.</summary>
    public const int MaxLimit = 1000;

    /// <summary>Only these states; null or empty for all.</summary>
    public IReadOnlyCollection<SandboxState>? States { get; init; }

    /// <summary>Only sandboxes carrying every one of these labels with exactly these values.</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    /// <summary>Only sandboxes created by this token.</summary>
    public string? OwnerTokenId { get; init; }

    /// <summary>The <see cref="SandboxPage.NextCursor"/> of the previous page, or null for the first.</summary>
    public string? After { get; init; }

    /// <summary>The page size, 1 to <see cref="MaxLimit"/> (larger values are capped).</summary>
    public int Limit { get; init; } = 100;
}

/// <summary>One page of sandboxes, oldest first (by creation time, then id).</summary>
/// <param name="Items">The sandboxes.</param>
/// <param name="NextCursor">Pass as <see cref="SandboxQuery.After"/> for the next page; null when this is the last.</param>
public sealed record SandboxPage(IReadOnlyList<SandboxRecord> Items, string? NextCursor);
