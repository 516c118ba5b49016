using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Airlock.Sandboxes.Local;

/// <summary>
/// Runs inside the sandbox: listens on 127.0.0.1:3128 (the sandbox's only network is loopback) and relays each
/// connection to the proxy's unix socket, which is bind-mounted from the host. It carries bytes and nothing
/// else; every decision is the proxy's.
/// </summary>
/// <remarks>
/// The sandbox starts while its proxy is still starting (the socket's directory is mounted, so the socket appears
/// inside once the proxy binds it). A client that connects before then is held, not refused: the bridge keeps
/// trying the proxy's socket for <see cref="DefaultProxyWait"/> before it gives up on that client.
/// </remarks>
public sealed class SandboxBridge : IAsyncDisposable
{
    /// <summary>How long a client waits for the proxy's socket to appear and accept before the bridge drops it.</summary>
    public static readonly TimeSpan DefaultProxyWait = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMilliseconds(20);

    private readonly Socket _listener;
    private readonly UnixDomainSocketEndPoint _proxySocket;
    private readonly TimeSpan _proxyWait;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private SandboxBridge(Socket listener, string proxySocket, TimeSpan proxyWait)
    {
        _listener = listener;
        _proxySocket = new UnixDomainSocketEndPoint(proxySocket);
        _proxyWait = proxyWait;
        _accepting = AcceptAsync();
    }

    /// <summary>The bound port.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>Starts listening on 127.0.0.1:<paramref name="port"/>.</summary>
    /// <param name="proxySocket">The proxy's unix socket.</param>
    /// <param name="port">The port (0 picks one; tests).</param>
    /// <param name="proxyWait">How long a client waits for the proxy (default <see cref="DefaultProxyWait"/>).</param>
    public static SandboxBridge Start(string proxySocket, int port = SandboxLayout.BridgePort, TimeSpan? proxyWait = null)
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

        return new SandboxBridge(listener, proxySocket, proxyWait ?? DefaultProxyWait);
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
        {
            try
            {
                client.NoDelay = true;
                using var proxy = await ConnectToProxyAsync().ConfigureAwait(false);
                var toProxy = PumpAsync(client, proxy);
                var toClient = PumpAsync(proxy, client);
                await Task.WhenAll(toProxy, toClient).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
            {
                // Either side went away, or the proxy never came: the relay is over.
            }
        }
    }

    /// <summary>Connects to the proxy, waiting for its socket while it is missing (ENOENT) or not yet listening.</summary>
    private async Task<Socket> ConnectToProxyAsync()
    {
        var started = Stopwatch.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(1);
        while (true)
        {
            var proxy = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await proxy.ConnectAsync(_proxySocket, _stop.Token).ConfigureAwait(false);
                return proxy;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.ConnectionRefused
                && Stopwatch.GetElapsedTime(started) < _proxyWait)
            {
                proxy.Dispose();
            }
            catch
            {
                proxy.Dispose();
                throw;
            }

            await Task.Delay(delay, _stop.Token).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
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
