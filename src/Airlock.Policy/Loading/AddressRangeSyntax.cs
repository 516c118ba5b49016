using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Airlock.Policy.Loading;

/// <summary>
/// Address ranges as written in <c>addresses</c>: CIDR (<c>10.0.0.0/8</c>, <c>fd00::/8</c>) or a bare address
/// (a /32 or /128). Strict, because a range that means something other than what it looks like is a hole:
/// IPv4 only as four decimal numbers (no <c>127.1</c> or <c>0x7f.0.0.1</c>), no zone ids, no brackets, and
/// no bits set after the prefix (<see cref="IPNetwork.Parse(string)"/> silently clears them).
/// </summary>
internal static class AddressRangeSyntax
{
    public static bool TryParse(string text, out IPNetwork network, [NotNullWhen(false)] out SyntaxError? error)
    {
        network = default;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        if (addressText.Contains('%', StringComparison.Ordinal))
        {
            error = new SyntaxError($"{Text.Quote(text)}: zone ids are not allowed in address ranges", Index: addressText.IndexOf('%', StringComparison.Ordinal));
            return false;
        }

        if (addressText.StartsWith('[') || addressText.EndsWith(']'))
        {
            error = new SyntaxError($"{Text.Quote(text)}: write IPv6 addresses without brackets", $"did you mean {Text.Quote(addressText.Trim('[', ']') + text[addressText.Length..])}?");
            return false;
        }

        if (!IPAddress.TryParse(addressText, out var address))
        {
            error = new SyntaxError($"{Text.Quote(text)} is not an IP address or a CIDR range", "write an address such as '10.1.2.3' or a range such as '10.0.0.0/8'");
            return false;
        }

        var canonical = address.ToString();
        if (address.AddressFamily == AddressFamily.InterNetwork && canonical != addressText)
        {
            error = new SyntaxError(
                $"{Text.Quote(addressText)} is not an IPv4 address in dotted-decimal form",
                $"did you mean {Text.Quote(canonical + text[addressText.Length..])}?");
            return false;
        }

        var maxPrefix = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var prefix = maxPrefix;
        if (slash >= 0)
        {
            var prefixText = text[(slash + 1)..];
            if (prefixText.Length is 0 or > 3 || !prefixText.All(char.IsAsciiDigit)
                || (prefix = int.Parse(prefixText, NumberStyles.None, CultureInfo.InvariantCulture)) > maxPrefix)
            {
                error = new SyntaxError(
                    string.Create(CultureInfo.InvariantCulture, $"{Text.Quote(text)}: the prefix length must be a number from 0 to {maxPrefix}"),
                    Index: slash + 1);
                return false;
            }
        }

        var bytes = address.GetAddressBytes();
        for (var bit = prefix; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        var masked = new IPAddress(bytes);
        if (!masked.Equals(address))
        {
            error = new SyntaxError(
                $"{Text.Quote(text)} has bits set after the prefix",
                string.Create(CultureInfo.InvariantCulture, $"did you mean '{masked}/{prefix}'?"));
            return false;
        }

        network = new IPNetwork(masked, prefix);
        error = null;
        return true;
    }
}
