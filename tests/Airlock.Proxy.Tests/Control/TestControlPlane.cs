using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Airlock.Proxy.Control;

namespace Airlock.Proxy.Tests.Control;

/// <summary>
/// A small real control plane for tests: a listening socket (TCP on 127.0.0.1 or a unix socket) that accepts
/// the proxy's connections one at a time. It can be created "down" (bound, not listening: connections are
/// refused), brought up, and stopped and started again on the same address.
/// </summary>
public sealed class TestControlPlane : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly EndPoint _bindTo;
    private readonly List<PlaneConnection> _connections = [];
    private Socket? _listener;

    private TestControlPlane(ControlEndpoint endpoint, EndPoint bindTo, Socket? listener)
    {
        Endpoint = endpoint;
        _bindTo = bindTo;
        _listener = listener;
    }

    public ControlEndpoint Endpoint { get; }

    /// <summary>A TCP plane on 127.0.0.1 and a free port; when not listening, the port is held but connections are refused.</summary>
    public static TestControlPlane Tcp(bool listening = true)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        var plane = new TestControlPlane(ControlEndpoint.Tcp("127.0.0.1", port), new IPEndPoint(IPAddress.Loopback, port), socket);
        if (listening)
        {
            socket.Listen();
        }

        return plane;
    }

    /// <summary>A unix socket plane at <paramref name="path"/>; when not listening, the path does not exist yet.</summary>
    public static TestControlPlane Unix(string path, bool listening = true)
    {
        var plane = new TestControlPlane(ControlEndpoint.Unix(path), new UnixDomainSocketEndPoint(path), null);
        if (listening)
        {
            plane.Listen();
        }

        return plane;
    }

    /// <summary>Starts accepting (binding again if stopped).</summary>
    public void Listen()
    {
        if (_listener is null)
        {
            _listener = new Socket(_bindTo.AddressFamily, SocketType.Stream, _bindTo is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp);
            if (_bindTo is IPEndPoint)
            {
                _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            }

            _listener.Bind(_bindTo);
        }

        _listener.Listen();
    }

    /// <summary>Stops accepting; connections already accepted stay.</summary>
    public void Stop()
    {
        _listener?.Dispose();
        _listener = null;
        if (_bindTo is UnixDomainSocketEndPoint unix)
        {
            File.Delete(unix.ToString());
        }
    }

    /// <summary>The next connection from the proxy.</summary>
    public async Task<PlaneConnection> AcceptAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        Socket socket = await _listener!.AcceptAsync(cts.Token);
        var connection = new PlaneConnection(socket);
        _connections.Add(connection);
        return connection;
    }

    /// <summary>The next connection, having read its hello.</summary>
    public async Task<(PlaneConnection Connection, JsonElement Hello)> AcceptHelloAsync(TimeSpan? timeout = null)
    {
        PlaneConnection connection = await AcceptAsync(timeout);
        JsonElement hello = await connection.ReadMessageAsync();
        Assert.Equal("hello", hello.GetProperty("type").GetString());
        return (connection, hello);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (PlaneConnection connection in _connections)
        {
            await connection.DisposeAsync();
        }

        Stop();
    }
}

/// <summary>The plane's side of one connection from the proxy.</summary>
public sealed class PlaneConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly MemoryStream _line = new();
    private int _start;
    private int _end;

    public PlaneConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>The next whole line, or null at the end of the stream (a partial last line is dropped, as a plane must).</summary>
    public async Task<string?> ReadLineAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TestControlPlane.DefaultTimeout);
        while (true)
        {
            int newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                _line.Write(_buffer, _start, newline - _start);
                _start = newline + 1;
                string line = Encoding.UTF8.GetString(_line.GetBuffer(), 0, (int)_line.Length);
                _line.SetLength(0);
                return line;
            }

            _line.Write(_buffer, _start, _end - _start);
            _start = 0;
            _end = await _stream.ReadAsync(_buffer, cts.Token);
            if (_end == 0)
            {
                return null;
            }
        }
    }

    /// <summary>The next message; fails at the end of the stream.</summary>
    public async Task<JsonElement> ReadMessageAsync(TimeSpan? timeout = null)
    {
        string? line = await ReadLineAsync(timeout);
        Assert.NotNull(line);
        using var document = JsonDocument.Parse(line);
        return document.RootElement.Clone();
    }

    /// <summary>Reads messages until one of <paramref name="type"/> arrives.</summary>
    public async Task<JsonElement> ReadMessageAsync(string type, TimeSpan? timeout = null)
    {
        while (true)
        {
            JsonElement message = await ReadMessageAsync(timeout);
            if (message.GetProperty("type").GetString() == type)
            {
                return message;
            }
        }
    }

    /// <summary>Reads event sequence numbers until <paramref name="count"/> have arrived (other messages are skipped).</summary>
    public async Task<List<int>> ReadEventsAsync(int count, TimeSpan? timeout = null)
    {
        var seqs = new List<int>(count);
        while (seqs.Count < count)
        {
            JsonElement message = await ReadMessageAsync(timeout);
            if (message.GetProperty("type").GetString() == "connection")
            {
                seqs.Add(message.GetProperty("seq").GetInt32());
            }
        }

        return seqs;
    }

    public async Task SendAsync(string line)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));
    }

    public async Task SendRawAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
    }

    /// <summary>A graceful plane shutdown: stop sending, read what the proxy still sends until it closes.</summary>
    public async Task<List<string>> ShutdownAndDrainAsync(TimeSpan? timeout = null)
    {
        _socket.Shutdown(SocketShutdown.Send);
        var lines = new List<string>();
        while (await ReadLineAsync(timeout) is { } line)
        {
            lines.Add(line);
        }

        return lines;
    }

    /// <summary>Whether the proxy closes the connection within the timeout (reading and dropping what it sends).</summary>
    public async Task<bool> ClosedByProxyAsync(TimeSpan? timeout = null)
    {
        try
        {
            while (await ReadLineAsync(timeout) is not null)
            {
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>An abrupt plane crash: the connection is reset.</summary>
    public void Abort()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        await _line.DisposeAsync();
        await _stream.DisposeAsync();
    }
}
