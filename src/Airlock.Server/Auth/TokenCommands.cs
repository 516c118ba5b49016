using System.Globalization;
using Airlock.Server.Store;

namespace Airlock.Server.Auth;

/// <summary>What <c>airlock token …</c> runs, for the CLI to call.</summary>
public static class TokenCommands
{
    /// <summary>A new, well-formed token that is stored nowhere yet: for <c>AIRLOCK_BOOTSTRAP_ADMIN_TOKEN</c>, which the gateway imports (its hash) on start.</summary>
    /// <returns>The token string.</returns>
    public static string Generate() => ApiTokenFormat.Format(ApiTokenFormat.NewId(), ApiTokenFormat.NewSecret());

    // A hundred years: longer is a typo, not a lifetime.
    private const long MaxTtlSeconds = 36_500L * 86_400;

    /// <summary>
    /// <c>airlock token create</c>: opens the store (creating and migrating it if needed), creates a token, and writes
    /// the token string and a newline to <paramref name="stdout"/>, nothing else (scripts capture it).
    /// </summary>
    /// <param name="storeUrl">The store URL; null for <see cref="ServerStore.DefaultUrl()"/>.</param>
    /// <param name="scope">What the token may do.</param>
    /// <param name="ttl">How long it works, or null for until revoked.</param>
    /// <param name="description">Free text, or null.</param>
    /// <param name="stdout">Where the token goes.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The stored record (the CLI may print it to stderr).</returns>
    /// <exception cref="StoreException">The store URL is not understood, or the store cannot be opened.</exception>
    public static async Task<TokenInfo> CreateAsync(
        string? storeUrl, TokenScope scope, TimeSpan? ttl, string? description, TextWriter stdout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        var store = await ServerStore.OpenAsync(storeUrl ?? ServerStore.DefaultUrl(), cancellationToken).ConfigureAwait(false);
        await using (store.ConfigureAwait(false))
        {
            var created = await store.CreateTokenAsync(scope, ttl, description, cancellationToken).ConfigureAwait(false);
            await stdout.WriteLineAsync(created.Token.AsMemory(), cancellationToken).ConfigureAwait(false);
            await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            return created.Info;
        }
    }

    /// <summary>
    /// Parses a <c>--ttl</c> value: a positive whole number followed by <c>s</c>, <c>m</c>, <c>h</c> or <c>d</c>
    /// (<c>90s</c>, <c>15m</c>, <c>12h</c>, <c>30d</c>).
    /// </summary>
    /// <param name="text">The value.</param>
    /// <param name="ttl">The duration, when valid.</param>
    /// <returns>Whether the value is valid.</returns>
    public static bool TryParseTtl(string? text, out TimeSpan ttl)
    {
        ttl = default;
        if (string.IsNullOrEmpty(text) || text.Length < 2
            || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount)
            || amount <= 0 || amount > 100_000_000)
        {
            return false;
        }

        long? unitSeconds = text[^1] switch
        {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => null,
        };
        if (unitSeconds is not { } unit || amount * unit > MaxTtlSeconds)
        {
            return false;
        }

        var value = TimeSpan.FromSeconds(amount * unit);
        ttl = value;
        return true;
    }
}
