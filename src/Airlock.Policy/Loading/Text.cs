using System.Globalization;
using System.Text;

namespace Airlock.Policy.Loading;

/// <summary>Quoting of user text inside one-line diagnostics.</summary>
internal static class Text
{
    private const int MaxQuoted = 60;

    /// <summary>
    /// The value in single quotes, shortened to <see cref="MaxQuoted"/> characters, with control characters
    /// escaped so a diagnostic stays on one line and cannot forge another one.
    /// </summary>
    public static string Quote(string value)
    {
        var builder = new StringBuilder(Math.Min(value.Length, MaxQuoted) + 4).Append('\'');
        for (var i = 0; i < value.Length; i++)
        {
            if (i == MaxQuoted)
            {
                builder.Append('…');
                break;
            }

            var c = value[i];
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
            {
                builder.Append(c switch
                {
                    '\n' => "\\n",
                    '\r' => "\\r",
                    '\t' => "\\t",
                    '\0' => "\\0",
                    _ => string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                });
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.Append('\'').ToString();
    }

    /// <summary><c>'a', 'b' or 'c'</c>.</summary>
    public static string OneOf(IReadOnlyList<string> values) => Join(values, "or");

    /// <summary><c>'a', 'b' and 'c'</c>.</summary>
    public static string AllOf(IReadOnlyList<string> values) => Join(values, "and");

    private static string Join(IReadOnlyList<string> values, string conjunction) => values.Count switch
    {
        0 => string.Empty,
        1 => Quote(values[0]),
        _ => string.Join(", ", values.Take(values.Count - 1).Select(Quote)) + $" {conjunction} " + Quote(values[^1]),
    };
}
