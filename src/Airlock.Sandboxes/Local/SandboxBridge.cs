using System.Net;
using System.Net.Sockets;

namespace Airlock.Sandboxes.Local;

/// <summary>
/// Runs inside the sandbox: listens on 127.0.0.1:3128 (the sandbox's only network is loopback) and relays each
/// connection to the proxy's unix socket, which is bind-mounted from the host. It carries bytes and nothing
/// else; every decision is the proxy's.
/// </summary>
public sealed class SandboxBridge : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly string _proxySocket;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private SandboxBridge(Socket listener, string proxySocket)
    {
        _listener = listener;
        _proxySocket = proxySocket;
        _accepting = AcceptAsync();
    }

    /// <summary>The bound port.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>Starts listening on 127.0.0.1:<paramref name="port"/>.</summary>
    /// <param name="proxySocket">The proxy's unix socket.</param>
    /// <param name="port">The port (0 picks one; tests).</param>
    public static SandboxBridge Start(string proxySocket, int port = SandboxLayout.BridgePort)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
            listener.Listen(512);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        return new SandboxBridge(listener, proxySocket);
    }

    /// <summary>Stops accepting; open relays end with their connections.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        try
        {
            await _accepting.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopping.
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using (client)
        using (var proxy = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                client.NoDelay = true;
                await proxy.ConnectAsync(new UnixDomainSocketEndPoint(_proxySocket), _stop.Token).ConfigureAwait(false);
                var toProxy = PumpAsync(client, proxy);
                var toClient = PumpAsync(proxy, client);
                await Task.WhenAll(toProxy, toClient).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
            {
                // Either side went away: the relay is over.
            }
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token).ConfigureAwait(false);
            }
        }
        finally
        {
            try
            {
                to.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
                // Already closed.
            }
        }
    }
}
