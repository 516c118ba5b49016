using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Airlock.Cli.Policies;

/// <summary>The destination <c>policy explain</c> is asked about, split from a URL without normalising the host.</summary>
/// <param name="Scheme">http, https, ws, wss or tcp.</param>
/// <param name="Host">The host exactly as written (canonicalised later by the policy engine).</param>
/// <param name="Port">The port, explicit or the scheme's default.</param>
/// <param name="PathAndQuery">The origin-form target (<c>/</c> when the URL has no path).</param>
internal sealed record ExplainTarget(string Scheme, string Host, int Port, string PathAndQuery)
{
    /// <summary>Whether requests are HTTP, so the rule's HTTP rules apply.</summary>
    public bool IsHttp => Scheme is not "tcp";

    /// <summary>Splits <paramref name="url"/>. The host is deliberately not parsed by <see cref="Uri"/>, which would
    /// normalise it differently from the proxy.</summary>
    public static bool TryParse(string url, [NotNullWhen(true)] out ExplainTarget? target, [NotNullWhen(false)] out string? error)
    {
        target = null;
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            error = $"'{url}' is not an absolute URL; write it like 'https://api.github.com/user' or 'tcp://github.com:22'";
            return false;
        }

        var scheme = url[..schemeEnd].ToLowerInvariant();
        int? defaultPort = scheme switch
        {
            "http" or "ws" => 80,
            "https" or "wss" => 443,
            "tcp" => null,
            _ => -1,
        };
        if (defaultPort == -1)
        {
            error = $"unsupported scheme '{scheme}'; use http, https, ws, wss or tcp";
            return false;
        }

        var rest = url[(schemeEnd + 3)..];
        var authorityEnd = rest.IndexOfAny(['/', '?', '#']);
        var authority = authorityEnd < 0 ? rest : rest[..authorityEnd];
        var pathAndQuery = authorityEnd < 0 ? "/" : rest[authorityEnd..];
        var fragment = pathAndQuery.IndexOf('#', StringComparison.Ordinal);
        if (fragment >= 0)
        {
            pathAndQuery = pathAndQuery[..fragment];
        }

        if (pathAndQuery.StartsWith('?'))
        {
            pathAndQuery = "/" + pathAndQuery;
        }

        if (pathAndQuery.Length == 0)
        {
            pathAndQuery = "/";
        }

        if (authority.Contains('@', StringComparison.Ordinal))
        {
            error = "the URL carries credentials (user@host); remove them: the proxy injects credentials, the sandbox never holds them";
            return false;
        }

        string host;
        string? portText = null;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = $"'{authority}' has an unclosed '['";
                return false;
            }

            host = authority[..(close + 1)];
            var after = authority[(close + 1)..];
            if (after.Length > 0)
            {
                if (after[0] != ':')
                {
                    error = $"unexpected '{after}' after the IPv6 address";
                    return false;
                }

                portText = after[1..];
            }
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            portText = colon < 0 ? null : authority[(colon + 1)..];
        }

        int port;
        if (portText is null)
        {
            if (defaultPort is null)
            {
                error = "a tcp:// URL needs a port, e.g. 'tcp://github.com:22'";
                return false;
            }

            port = defaultPort.Value;
        }
        else if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            error = $"'{portText}' is not a port (1-65535)";
            return false;
        }

        target = new ExplainTarget(scheme, host, port, pathAndQuery);
        error = null;
        return true;
    }
}
