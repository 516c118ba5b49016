using System.Net;
using System.Net.Sockets;

namespace Airlock.Kubernetes.Tests.Verification;

/// <summary>An IPv4 or IPv6 CIDR (<c>10.0.0.0/8</c>, <c>fd00::/8</c>); host bits after the prefix are ignored, as <c>net.ParseCIDR</c> does.</summary>
public sealed record IpCidr(IPAddress Network, int PrefixLength)
{
    /// <summary>Parses <c>address/prefix</c>; throws <see cref="FormatException"/> otherwise.</summary>
    public static IpCidr Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0
            || !IPAddress.TryParse(text.AsSpan(0, slash), out var address)
            || !int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var prefix)
            || prefix > address.GetAddressBytes().Length * 8)
        {
            throw new FormatException($"'{text}' is not a CIDR (address/prefix).");
        }

        return new IpCidr(address, prefix);
    }

    /// <summary>Whether <paramref name="address"/> is of the same family and inside the prefix.</summary>
    public bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily != Network.AddressFamily || address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            return false;
        }

        var network = Network.GetAddressBytes();
        var candidate = address.GetAddressBytes();
        var remaining = PrefixLength;
        for (var i = 0; i < network.Length && remaining > 0; i++, remaining -= 8)
        {
            var mask = remaining >= 8 ? 0xFF : (byte)(0xFF << (8 - remaining));
            if ((network[i] & mask) != (candidate[i] & mask))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Network}/{PrefixLength}";
}
