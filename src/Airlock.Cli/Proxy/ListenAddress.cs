using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace Airlock.Cli.Proxy;

/// <summary>Parses <c>IP:PORT</c> and <c>[IPv6]:PORT</c> listen addresses.</summary>
internal static class ListenAddress
{
    public static bool TryParse(string text, [NotNullWhen(true)] out IPEndPoint? endpoint, [NotNullWhen(false)] out string? error)
    {
        endpoint = null;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            error = $"'{text}' is not IP:PORT (for example 127.0.0.1:3128 or [::1]:3128)";
            return false;
        }

        var host = text[..colon].Trim('[', ']');
        if (!IPAddress.TryParse(host, out var address))
        {
            error = $"'{host}' is not an IP address; listen addresses are numeric (for example 127.0.0.1)";
            return false;
        }

        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            error = $"'{text[(colon + 1)..]}' is not a port (0-65535; 0 picks a free one)";
            return false;
        }

        endpoint = new IPEndPoint(address, port);
        error = null;
        return true;
    }
}
