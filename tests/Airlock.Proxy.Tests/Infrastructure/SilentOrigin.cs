using System.Net;
using System.Net.Sockets;

namespace Airlock.Proxy.Tests.Infrastructure;

/// <summary>
/// A loopback listener that accepts connections and never sends a byte nor closes them until disposed:
/// the upstream that hangs, for timeout tests.
/// </summary>
public sealed class SilentOrigin : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly List<Socket> _accepted = [];
    private readonly Lock _gate = new();
    private readonly Task _acceptLoop;

    private SilentOrigin(TcpListener listener)
    {
        _listener = listener;
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>The bound address and port.</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>The bound port.</summary>
    public int Port => EndPoint.Port;

    /// <summary>Connections accepted so far.</summary>
    public int AcceptedCount
    {
        get
        {
            lock (_gate)
            {
                return _accepted.Count;
            }
        }
    }

    /// <summary>Starts listening on <paramref name="address"/> (default 127.0.0.1), port chosen by the OS.</summary>
    public static SilentOrigin Start(IPAddress? address = null)
    {
        address ??= IPAddress.Loopback;
        if (!IPAddress.IsLoopback(address))
        {
            throw new ArgumentException($"test servers bind loopback addresses only, not {address}", nameof(address));
        }

        var listener = new TcpListener(address, 0);
        listener.Start();
        return new SilentOrigin(listener);
    }

    /// <summary>Stops listening and closes every accepted connection.</summary>
    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _acceptLoop;
        lock (_gate)
        {
            foreach (var socket in _accepted)
            {
                socket.Dispose();
            }
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return; // stopped
            }

            lock (_gate)
            {
                _accepted.Add(socket);
            }
        }
    }
}
