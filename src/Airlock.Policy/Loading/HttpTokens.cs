namespace Airlock.Policy.Loading;

/// <summary>RFC 9110 §5.6.2 tokens (header names and methods).</summary>
internal static class HttpTokens
{
    public static bool IsToken(string text)
    {
        if (text.Length == 0)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!IsTokenChar(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The index of the first character that is not a tchar, or -1.</summary>
    public static int IndexOfNonTokenChar(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (!IsTokenChar(text[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
}
