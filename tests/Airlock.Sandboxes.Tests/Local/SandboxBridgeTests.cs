using System.Net;
using System.Net.Sockets;
using System.Text;
using Airlock.Sandboxes.Local;

namespace Airlock.Sandboxes.Tests.Local;

/// <summary>
/// The in-sandbox bridge with real sockets: a TCP client on one side, a unix listener standing in for the proxy on
/// the other. The sandbox starts while the proxy is still starting, so a client may arrive before the proxy's
/// socket exists.
/// </summary>
public sealed class SandboxBridgeTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("airlock-bridge-");

    private string SocketPath => Path.Combine(_directory.FullName, "proxy.sock");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public async Task Bytes_go_both_ways_to_a_listening_proxy()
    {
        using var proxy = Listen();
        await using var bridge = SandboxBridge.Start(SocketPath, port: 0);
        using var client = await ConnectAsync(bridge);

        await EchoOnceAsync(proxy, client);
    }

    [Fact]
    public async Task A_client_that_arrives_before_the_proxy_socket_exists_is_served_once_it_listens()
    {
        await using var bridge = SandboxBridge.Start(SocketPath, port: 0);
        using var client = await ConnectAsync(bridge);
        await client.SendAsync(Encoding.ASCII.GetBytes("ping"));

        // The client is connected and has sent its request while there is no proxy at all; only now does it appear.
        await Task.Delay(200);
        Assert.False(File.Exists(SocketPath));
        using var proxy = Listen();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var accepted = await proxy.AcceptAsync(timeout.Token);
        Assert.Equal("ping", await ReadAsync(accepted, 4, timeout.Token));
        await accepted.SendAsync(Encoding.ASCII.GetBytes("pong"));
        Assert.Equal("pong", await ReadAsync(client, 4, timeout.Token));
    }

    [Fact]
    public async Task A_client_that_arrives_before_the_proxy_listens_is_served_once_it_does()
    {
        // The socket file exists but nobody listens yet (ECONNREFUSED), as between bind and listen.
        using var early = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        early.Bind(new UnixDomainSocketEndPoint(SocketPath));
        await using var bridge = SandboxBridge.Start(SocketPath, port: 0);
        using var client = await ConnectAsync(bridge);
        await client.SendAsync(Encoding.ASCII.GetBytes("ping"));

        await Task.Delay(200);
        early.Listen(16);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var accepted = await early.AcceptAsync(timeout.Token);
        Assert.Equal("ping", await ReadAsync(accepted, 4, timeout.Token));
        await accepted.SendAsync(Encoding.ASCII.GetBytes("pong"));
        Assert.Equal("pong", await ReadAsync(client, 4, timeout.Token));
    }

    [Fact]
    public async Task A_client_is_closed_when_the_proxy_never_comes()
    {
        await using var bridge = SandboxBridge.Start(SocketPath, port: 0, proxyWait: TimeSpan.FromMilliseconds(300));
        using var client = await ConnectAsync(bridge);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var read = await client.ReceiveAsync(new byte[16], SocketFlags.None, timeout.Token);

        Assert.Equal(0, read);
    }

    private Socket Listen()
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        listener.Listen(16);
        return listener;
    }

    private static async Task<Socket> ConnectAsync(SandboxBridge bridge)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, bridge.Port));
        return client;
    }

    private static async Task EchoOnceAsync(Socket proxy, Socket client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await client.SendAsync(Encoding.ASCII.GetBytes("ping"));
        using var accepted = await proxy.AcceptAsync(timeout.Token);
        Assert.Equal("ping", await ReadAsync(accepted, 4, timeout.Token));
        await accepted.SendAsync(Encoding.ASCII.GetBytes("pong"));
        Assert.Equal("pong", await ReadAsync(client, 4, timeout.Token));
    }

    private static async Task<string> ReadAsync(Socket socket, int count, CancellationToken cancellationToken)
    {
        var buffer = new byte[count];
        var total = 0;
        while (total < count)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return Encoding.ASCII.GetString(buffer, 0, total);
    }
}
