namespace Airlock.Policy.Http;

/// <summary>
/// A glob over one piece of text (a path segment or a query value): <c>*</c> matches any run of
/// characters, including none; everything else is compared ordinally. Matching is greedy
/// leftmost-first over the literal parts, so it is O(text × parts) and never backtracks.
/// </summary>
internal sealed class TextGlob
{
    // Literal parts between the stars; Parts.Length == stars + 1. A glob without a star has one part.
    private readonly string[] _parts;

    private TextGlob(string[] parts) => _parts = parts;

    /// <summary>A glob from literal parts that were separated by stars.</summary>
    public static TextGlob FromParts(string[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Length == 0)
        {
            throw new ArgumentException("A glob has at least one part.", nameof(parts));
        }

        return new TextGlob(parts);
    }

    /// <summary>A glob as written: every <c>*</c> is a wildcard, nothing is escaped.</summary>
    public static TextGlob Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new TextGlob(text.Split('*'));
    }

    /// <summary>Whether the whole of <paramref name="text"/> matches.</summary>
    public bool Matches(ReadOnlySpan<char> text)
    {
        var parts = _parts;
        if (parts.Length == 1)
        {
            return text.SequenceEqual(parts[0]);
        }

        var first = parts[0];
        var last = parts[^1];
        if (text.Length < first.Length + last.Length
            || !text.StartsWith(first, StringComparison.Ordinal)
            || !text.EndsWith(last, StringComparison.Ordinal))
        {
            return false;
        }

        // The middle parts must appear in order, without overlapping the fixed prefix and suffix.
        // Taking the leftmost occurrence of each is optimal: it leaves the most room for the rest.
        var middle = text[first.Length..^last.Length];
        for (var i = 1; i < parts.Length - 1; i++)
        {
            var at = middle.IndexOf(parts[i], StringComparison.Ordinal);
            if (at < 0)
            {
                return false;
            }

            middle = middle[(at + parts[i].Length)..];
        }

        return true;
    }
}
