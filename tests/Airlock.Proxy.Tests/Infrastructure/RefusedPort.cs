using System.Net;
using System.Net.Sockets;

namespace Airlock.Proxy.Tests.Infrastructure;

/// <summary>
/// A loopback port where connections are refused: bound but never listening, so it stays reserved
/// (nothing else can take it) until disposed. The upstream that is down.
/// </summary>
public sealed class RefusedPort : IDisposable
{
    private readonly Socket _socket;

    /// <summary>Reserves a port on <paramref name="address"/> (default 127.0.0.1).</summary>
    public RefusedPort(IPAddress? address = null)
    {
        address ??= IPAddress.Loopback;
        if (!IPAddress.IsLoopback(address))
        {
            throw new ArgumentException($"test ports are on loopback addresses only, not {address}", nameof(address));
        }

        _socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _socket.Bind(new IPEndPoint(address, 0));
    }

    /// <summary>The reserved address and port.</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>The reserved port.</summary>
    public int Port => EndPoint.Port;

    /// <summary>Releases the port.</summary>
    public void Dispose() => _socket.Dispose();
}
