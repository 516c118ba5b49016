using System.Globalization;

namespace Airlock.Cli.Console;

/// <summary>Plain-text tables for listings: columns padded to their widest cell, two spaces apart, the last one unpadded.</summary>
internal static class TextTable
{
    public static void Write(TextWriter writer, string[] header, IEnumerable<string[]> rows)
    {
        var all = rows.Prepend(header).ToList();
        var widths = Enumerable.Range(0, header.Length).Select(c => all.Max(r => r[c].Length)).ToArray();
        foreach (var row in all)
        {
            writer.WriteLine(string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))));
        }
    }

    /// <summary>A span as one rounded unit: <c>42s</c>, <c>5m</c>, <c>3h</c>, <c>4d</c>; negative spans are <c>0s</c>.</summary>
    public static string Age(TimeSpan span) => span switch
    {
        { TotalSeconds: < 0 } => "0s",
        { TotalMinutes: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalSeconds}s"),
        { TotalHours: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes}m"),
        { TotalDays: < 2 } => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}h"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalDays}d"),
    };
}
