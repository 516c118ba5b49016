namespace Airlock.Policy.Loading;

/// <summary>"Did you mean" for misspelt keys and values.</summary>
public static class Suggestions
{
    private const int MaxDistance = 2;
    private const int MinAffixLength = 3;

    /// <summary>
    /// The known word closest to <paramref name="typed"/>: within edit distance 2 (ignoring case), or else one
    /// that is a prefix or suffix of it, or it of them (<c>tls_mode</c> → <c>tls</c>). Null when none is close.
    /// </summary>
    /// <param name="typed">What was written.</param>
    /// <param name="known">The words it may have meant.</param>
    /// <returns>The closest, or null.</returns>
    public static string? Closest(string typed, IEnumerable<string> known)
    {
        var lower = typed.ToLowerInvariant();
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            if (Math.Abs(candidate.Length - lower.Length) > MaxDistance)
            {
                continue;
            }

            var distance = Distance(lower, candidate);
            if (distance <= MaxDistance && distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        if (best is not null)
        {
            return best;
        }

        foreach (var candidate in known)
        {
            if ((lower.Length >= MinAffixLength && (candidate.StartsWith(lower, StringComparison.Ordinal) || candidate.EndsWith(lower, StringComparison.Ordinal)))
                || (candidate.Length >= MinAffixLength && (lower.StartsWith(candidate, StringComparison.Ordinal) || lower.EndsWith(candidate, StringComparison.Ordinal))))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary><c>did you mean 'ports'?</c>, or the list of valid keys when none is close.</summary>
    public static string ForKey(string typed, IReadOnlyList<string> known) =>
        Closest(typed, known) is { } close
            ? $"did you mean {Text.Quote(close)}?"
            : $"valid keys are {Text.AllOf(known)}";

    /// <summary>Levenshtein distance.</summary>
    public static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), substitution);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
