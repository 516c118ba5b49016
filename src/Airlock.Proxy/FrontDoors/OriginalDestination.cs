using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Airlock.Proxy.FrontDoors;

/// <summary>
/// Reads where a connection redirected by nftables/iptables (REDIRECT or DNAT) was originally going, with
/// <c>getsockopt(SO_ORIGINAL_DST)</c> for IPv4 and <c>IP6T_SO_ORIGINAL_DST</c> for IPv6.
/// </summary>
internal static class OriginalDestination
{
    private const int SoOriginalDst = 80;
    private const int SolIp = 0;
    private const int SolIpv6 = 41;

    public static IPEndPoint? Get(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            if (socket.AddressFamily == AddressFamily.InterNetwork || IsMappedV4(socket))
            {
                Span<byte> v4 = stackalloc byte[16];
                var length = socket.GetRawSocketOption(SolIp, SoOriginalDst, v4);
                return length >= 8 ? new IPEndPoint(new IPAddress(v4.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(v4[2..])) : null;
            }

            Span<byte> v6 = stackalloc byte[28];
            var read = socket.GetRawSocketOption(SolIpv6, SoOriginalDst, v6);
            return read >= 24 ? new IPEndPoint(new IPAddress(v6.Slice(8, 16)), BinaryPrimitives.ReadUInt16BigEndian(v6[2..])) : null;
        }
        catch (SocketException)
        {
            // Not a redirected connection (no conntrack entry).
            return null;
        }
    }

    private static bool IsMappedV4(Socket socket) =>
        socket.LocalEndPoint is IPEndPoint { Address.IsIPv4MappedToIPv6: true };
}
