namespace Airlock.Server.Auth;

/// <summary>An API token as the store knows it: everything but its secret, which is stored only as a hash.</summary>
public sealed record TokenInfo
{
    /// <summary>The short public id (the part after <c>alk_</c>).</summary>
    public required string Id { get; init; }

    /// <summary>What the token may do.</summary>
    public required TokenScope Scope { get; init; }

    /// <summary>Free text given when the token was created, or null.</summary>
    public string? Description { get; init; }

    /// <summary>When it was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it stops working, or null for never.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>When it was revoked, or null.</summary>
    public DateTimeOffset? RevokedAt { get; init; }
}

/// <summary>A token just created: its one-time string and what the store recorded.</summary>
/// <param name="Token">The full token string, <c>alk_&lt;id&gt;_&lt;secret&gt;</c>. Shown once; only its hash is kept.</param>
/// <param name="Info">The stored record.</param>
public sealed record CreatedToken(string Token, TokenInfo Info);
