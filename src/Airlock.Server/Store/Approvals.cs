namespace Airlock.Server.Store;

/// <summary>Where an approval stands.</summary>
public enum ApprovalState
{
    /// <summary>Waiting for a human.</summary>
    Pending,

    /// <summary>Approved.</summary>
    Approved,

    /// <summary>Denied.</summary>
    Denied,

    /// <summary>Nobody decided before it expired.</summary>
    TimedOut,
}

/// <summary>How far a decision reaches.</summary>
public enum ApprovalScope
{
    /// <summary>This one connection.</summary>
    Once,

    /// <summary>Every later ask for the same destination in the same session.</summary>
    Session,
}

/// <summary>A held <c>ask</c> decision, as the proxy reported it.</summary>
public sealed record NewApproval
{
    /// <summary>The proxy's ask id.</summary>
    public required string Id { get; init; }

    /// <summary>The session that asked.</summary>
    public required string Session { get; init; }

    /// <summary>The destination host.</summary>
    public required string Host { get; init; }

    /// <summary>The destination port.</summary>
    public required int Port { get; init; }

    /// <summary>The ask rule's name, or null.</summary>
    public string? Rule { get; init; }

    /// <summary>When the proxy asked.</summary>
    public required DateTimeOffset RequestedAt { get; init; }

    /// <summary>When the proxy stops waiting.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
}

/// <summary>An approval as stored.</summary>
public sealed record ApprovalRecord
{
    /// <summary>The proxy's ask id.</summary>
    public required string Id { get; init; }

    /// <summary>The session that asked.</summary>
    public required string Session { get; init; }

    /// <summary>The destination host.</summary>
    public required string Host { get; init; }

    /// <summary>The destination port.</summary>
    public required int Port { get; init; }

    /// <summary>The ask rule's name, or null.</summary>
    public string? Rule { get; init; }

    /// <summary>When the proxy asked.</summary>
    public required DateTimeOffset RequestedAt { get; init; }

    /// <summary>When the proxy stops waiting.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Where it stands.</summary>
    public required ApprovalState State { get; init; }

    /// <summary>How far the decision reaches; null until approved or denied.</summary>
    public ApprovalScope? Scope { get; init; }

    /// <summary>When it was decided or timed out; null while pending.</summary>
    public DateTimeOffset? DecidedAt { get; init; }

    /// <summary>Who decided (a token id or a user name); null while pending or when timed out.</summary>
    public string? DecidedBy { get; init; }
}
