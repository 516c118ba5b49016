using System.Globalization;
using System.Net;
using Airlock.Policy.Hosts;

namespace Airlock.Cli;

/// <summary>The <c>--resolve</c> option shared by <c>proxy</c>, <c>run</c> and <c>policy explain</c>.</summary>
internal static class ResolveOverrides
{
    /// <summary>
    /// Parses <c>HOST=IP</c> (and <c>HOST=IP:PORT</c> or <c>HOST=[IPv6]:PORT</c>, which also dials PORT instead of the
    /// requested port: for offline demos and tests).
    /// </summary>
    public static bool TryParse(string[] values, out Dictionary<string, IPAddress[]> overrides, out Dictionary<string, int> ports, out string? error)
    {
        var map = new Dictionary<string, List<IPAddress>>(StringComparer.Ordinal);
        ports = new Dictionary<string, int>(StringComparer.Ordinal);
        overrides = [];
        foreach (var value in values)
        {
            var equals = value.IndexOf('=', StringComparison.Ordinal);
            var target = equals > 0 ? value[(equals + 1)..] : string.Empty;
            int? port = null;
            if (!IPAddress.TryParse(target.Trim('[', ']'), out var address))
            {
                var colon = target.LastIndexOf(':');
                if (colon <= 0
                    || !IPAddress.TryParse(target[..colon].Trim('[', ']'), out address)
                    || !int.TryParse(target.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
                    || parsed is < 1 or > 65535)
                {
                    error = $"'{value}' is not HOST=IP or HOST=IP:PORT";
                    return false;
                }

                port = parsed;
            }

            if (!HostCanonicalizer.TryCanonicalize(value.AsSpan(0, equals), out var host, out var hostError))
            {
                error = $"'{value[..equals]}': {hostError}";
                return false;
            }

            if (!map.TryGetValue(host.Value, out var list))
            {
                map[host.Value] = list = [];
            }

            list.Add(address);
            if (port is { } mapped)
            {
                ports[host.Value] = mapped;
            }
        }

        overrides = map.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
        error = null;
        return true;
    }
}
