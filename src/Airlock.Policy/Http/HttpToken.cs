namespace Airlock.Policy.Http;

/// <summary>The RFC 9110 <c>token</c> grammar, which HTTP methods follow.</summary>
internal static class HttpToken
{
    /// <summary>Whether <paramref name="text"/> is a non-empty token.</summary>
    public static bool IsValid(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return false;
        }

        foreach (var c in text)
        {
            var ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
                or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
