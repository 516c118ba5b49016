using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Airlock.Policy.Loading;

/// <summary>Durations as written in a policy: a whole number and one unit, <c>500ms</c>, <c>30s</c>, <c>2m</c>, <c>1h</c>.</summary>
public static class DurationSyntax
{
    private const string Hint = "write a number and a unit: '500ms', '30s', '2m' or '1h'";

    /// <summary>Parses a duration as Airlock's files write them.</summary>
    /// <param name="text">The text, such as <c>30s</c>.</param>
    /// <param name="duration">The duration, when it parses.</param>
    /// <param name="error">When it does not: what is wrong and how to write it.</param>
    /// <returns>Whether it parsed.</returns>
    public static bool TryParse(string text, out TimeSpan duration, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (TryParse(text, out duration, out SyntaxError? syntax))
        {
            error = null;
            return true;
        }

        error = syntax.Suggestion is null ? syntax.Message : $"{syntax.Message}; {syntax.Suggestion}";
        return false;
    }

    internal static bool TryParse(string text, out TimeSpan duration, [NotNullWhen(false)] out SyntaxError? error)
    {
        duration = default;
        var digits = 0;
        while (digits < text.Length && char.IsAsciiDigit(text[digits]))
        {
            digits++;
        }

        var unit = text[digits..];
        if (digits == 0 || digits > 9)
        {
            error = new SyntaxError($"{Text.Quote(text)} is not a duration", Hint);
            return false;
        }

        var amount = long.Parse(text.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture);
        switch (unit)
        {
            case "ms":
                duration = TimeSpan.FromMilliseconds(amount);
                break;
            case "s":
                duration = TimeSpan.FromSeconds(amount);
                break;
            case "m":
                duration = TimeSpan.FromMinutes(amount);
                break;
            case "h":
                duration = TimeSpan.FromHours(amount);
                break;
            case "":
                error = new SyntaxError($"{Text.Quote(text)} has no unit", $"did you mean '{text}s'?");
                return false;
            default:
                error = new SyntaxError($"unknown duration unit {Text.Quote(unit)}", Hint, digits);
                return false;
        }

        error = null;
        return true;
    }
}
