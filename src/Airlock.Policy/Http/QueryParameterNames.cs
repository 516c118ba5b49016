namespace Airlock.Policy.Http;

/// <summary>
/// How loosely origin frameworks read query parameter names, so that a constraint on <c>ref</c> also checks
/// every parameter that some server would bind to <c>ref</c>.
/// </summary>
/// <remarks>
/// Folded: case, by invariant upper-casing (ASP.NET Core compares names ignoring case), an array or hash suffix from the first
/// <c>[</c> (PHP and Rails read <c>ref[]=x</c> and <c>ref[a]=x</c> as <c>ref</c>), leading spaces, and
/// <c>.</c>, space and <c>_</c> taken as the same character (PHP rewrites <c>per.page</c> to <c>per_page</c>).
/// Folding only ever adds parameters to check, so it can deny a request but never allow one.
/// </remarks>
internal static class QueryParameterNames
{
    /// <summary>Whether some server could read the parameter <paramref name="received"/> as <paramref name="constrained"/>.</summary>
    public static bool MayBeReadAs(string received, string constrained)
    {
        var a = Fold(received);
        var b = Fold(constrained);
        if (a.Length != b.Length)
        {
            return false;
        }

        for (var i = 0; i < a.Length; i++)
        {
            if (FoldChar(a[i]) != FoldChar(b[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static ReadOnlySpan<char> Fold(string name)
    {
        var span = name.AsSpan().TrimStart(' ');
        var bracket = span.IndexOf('[');
        return bracket < 0 ? span : span[..bracket];
    }

    private static char FoldChar(char c) => c switch
    {
        '.' or ' ' => '_',
        _ => char.ToUpperInvariant(c),
    };
}
