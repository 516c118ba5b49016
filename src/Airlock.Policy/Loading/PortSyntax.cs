using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Airlock.Policy.Model;

namespace Airlock.Policy.Loading;

/// <summary>Ports as written in a rule: <c>443</c> or <c>8000-8999</c>.</summary>
internal static class PortSyntax
{
    private const string Hint = "write a port from 1 to 65535 or a range such as '8000-8999'";

    public static bool TryParse(string text, out PortRange range, [NotNullWhen(false)] out SyntaxError? error)
    {
        range = default;
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            if (!TryParsePort(text, out var port, out error))
            {
                return false;
            }

            range = new PortRange(port, port);
            return true;
        }

        if (!TryParsePort(text[..dash], out var first, out error))
        {
            return false;
        }

        if (!TryParsePort(text[(dash + 1)..], out var last, out error))
        {
            error = error with { Index = (error.Index ?? 0) + dash + 1 };
            return false;
        }

        if (first > last)
        {
            error = new SyntaxError(
                $"port range {Text.Quote(text)} is reversed",
                string.Create(CultureInfo.InvariantCulture, $"did you mean '{last}-{first}'?"));
            return false;
        }

        range = new PortRange(first, last);
        return true;
    }

    private static bool TryParsePort(string text, out int port, [NotNullWhen(false)] out SyntaxError? error)
    {
        port = 0;
        if (text.Length == 0 || text.Length > 9 || !text.All(char.IsAsciiDigit))
        {
            error = new SyntaxError($"{Text.Quote(text)} is not a port", Hint);
            return false;
        }

        port = int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        if (port is < 1 or > 65535)
        {
            error = new SyntaxError(string.Create(CultureInfo.InvariantCulture, $"port {port} is out of range 1-65535"));
            return false;
        }

        error = null;
        return true;
    }
}
