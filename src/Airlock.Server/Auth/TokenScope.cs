namespace Airlock.Server.Auth;

/// <summary>What an API token may do.</summary>
public enum TokenScope
{
    /// <summary>Everything: tokens, policies, every sandbox, approvals.</summary>
    Admin,

    /// <summary>Sandboxes the token created, their events and approvals.</summary>
    Sessions,
}

/// <summary>The names of <see cref="TokenScope"/> as written in the store and on the command line.</summary>
public static class TokenScopes
{
    /// <summary>The name of a scope: <c>admin</c> or <c>sessions</c>.</summary>
    /// <param name="scope">The scope.</param>
    public static string Name(TokenScope scope) => scope switch
    {
        TokenScope.Admin => "admin",
        TokenScope.Sessions => "sessions",
        _ => throw new ArgumentOutOfRangeException(nameof(scope), scope, "unknown token scope"),
    };

    /// <summary>Parses <c>admin</c> or <c>sessions</c> (exact, lower case).</summary>
    /// <param name="text">The name.</param>
    /// <param name="scope">The scope, when the name is known.</param>
    /// <returns>Whether the name is a scope.</returns>
    public static bool TryParse(string? text, out TokenScope scope)
    {
        switch (text)
        {
            case "admin":
                scope = TokenScope.Admin;
                return true;
            case "sessions":
                scope = TokenScope.Sessions;
                return true;
            default:
                scope = default;
                return false;
        }
    }
}
