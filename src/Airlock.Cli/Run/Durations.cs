using System.CommandLine.Parsing;
using System.Globalization;

namespace Airlock.Cli.Run;

/// <summary>Parses durations as people write them: <c>500ms</c>, <c>30s</c>, <c>10m</c>, <c>2h</c>.</summary>
internal static class Durations
{
    public static TimeSpan? Parse(ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
        var split = text.Length - text.AsSpan().TrimStart("0123456789.").Length;
        var unit = text[split..];
        if (split == 0 || !double.TryParse(text.AsSpan(0, split), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value <= 0)
        {
            result.AddError($"'{text}' is not a duration such as 30s, 10m or 2h");
            return null;
        }

        TimeSpan? duration = unit switch
        {
            "ms" => TimeSpan.FromMilliseconds(value),
            "s" => TimeSpan.FromSeconds(value),
            "m" => TimeSpan.FromMinutes(value),
            "h" => TimeSpan.FromHours(value),
            _ => null,
        };
        if (duration is null)
        {
            result.AddError($"'{text}' has no unit; write ms, s, m or h (for example 30s)");
        }

        return duration;
    }
}
