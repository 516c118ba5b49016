using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Airlock.Proxy.Tests.Infrastructure;

/// <summary>
/// A raw TCP client for hostile-input tests: it sends exactly the bytes given (text as Latin-1, so
/// every char is one byte and nothing is normalised), reads response heads with a deadline and tells
/// whether the peer closed. Optionally continues over TLS (after a CONNECT, say) with any SNI.
/// </summary>
public sealed class RawClient : IAsyncDisposable
{
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();

    private readonly Socket _socket;
    private Stream _stream;
    private byte[] _pending = [];

    private RawClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>Set once a read saw end of stream or a reset from the peer.</summary>
    public bool PeerClosed { get; private set; }

    /// <summary>Bytes received but not yet returned by a read (e.g. the body after a head).</summary>
    public ReadOnlyMemory<byte> Pending => _pending;

    /// <summary>Connects to <paramref name="endPoint"/> (Nagle off, so each send is its own segment).</summary>
    public static async Task<RawClient> ConnectAsync(IPEndPoint endPoint, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(endPoint, limit.Token);
            return new RawClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/>.</summary>
    public static Task<RawClient> ConnectAsync(int port, TimeSpan? timeout = null) => ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout);

    /// <summary>Sends <paramref name="text"/> as Latin-1 bytes, all at once.</summary>
    public Task SendAsync(string text) => SendAsync(Encoding.Latin1.GetBytes(text));

    /// <summary>Sends <paramref name="bytes"/> all at once.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>
    /// Sends <paramref name="text"/> (Latin-1) <paramref name="chunkSize"/> bytes at a time with
    /// <paramref name="interval"/> between chunks. Stops early, without throwing, when the peer
    /// closes or resets; returns how many bytes were written before that.
    /// </summary>
    public async Task<int> SendSlowlyAsync(string text, TimeSpan interval, int chunkSize = 1, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSize);
        var bytes = Encoding.Latin1.GetBytes(text);
        var sent = 0;
        try
        {
            while (sent < bytes.Length)
            {
                if (sent > 0)
                {
                    await Task.Delay(interval, cancellationToken);
                }

                var count = Math.Min(chunkSize, bytes.Length - sent);
                await _stream.WriteAsync(bytes.AsMemory(sent, count), cancellationToken);
                await _stream.FlushAsync(cancellationToken);
                sent += count;
            }
        }
        catch (IOException)
        {
            PeerClosed = true;
        }

        return sent;
    }

    /// <summary>Sends <paramref name="text"/> and reads the response head (see <see cref="ReadHeadAsync"/>).</summary>
    public async Task<string> SendAndReadHeadAsync(string text, TimeSpan timeout)
    {
        await SendAsync(text);
        return await ReadHeadAsync(timeout);
    }

    /// <summary>
    /// Reads up to and including the blank line ending a response head, returned as Latin-1 text with
    /// its CRLFs. Bytes after it stay in <see cref="Pending"/>. If the peer closes first, returns what
    /// arrived (possibly empty) and sets <see cref="PeerClosed"/>.
    /// </summary>
    /// <exception cref="TimeoutException">No complete head and no close within <paramref name="timeout"/>.</exception>
    public async Task<string> ReadHeadAsync(TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        while (true)
        {
            var end = _pending.AsSpan().IndexOf(HeadEnd);
            if (end >= 0)
            {
                return Take(end + HeadEnd.Length);
            }

            if (PeerClosed || !await FillAsync(timeout, "a response head", limit.Token))
            {
                return Take(_pending.Length);
            }
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes (fewer only if the peer closes first).</summary>
    /// <exception cref="TimeoutException">They did not arrive within <paramref name="timeout"/>.</exception>
    public async Task<byte[]> ReadExactlyAsync(int count, TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        while (_pending.Length < count && !PeerClosed && await FillAsync(timeout, $"{count} bytes", limit.Token))
        {
        }

        return TakeBytes(Math.Min(count, _pending.Length));
    }

    /// <summary>Reads until the peer closes and returns everything as Latin-1 text.</summary>
    /// <exception cref="TimeoutException">The peer kept the connection open past <paramref name="timeout"/>.</exception>
    public async Task<string> ReadToEndAsync(TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        while (!PeerClosed && await FillAsync(timeout, "the peer to close", limit.Token))
        {
        }

        return Take(_pending.Length);
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the peer to close or reset, discarding anything it sends
    /// meanwhile. True if it closed; false if the connection was still open at the deadline.
    /// </summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        try
        {
            await ReadToEndAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// Continues over TLS on this connection with <paramref name="serverName"/> as SNI (and the name to
    /// verify), trusting only <paramref name="trustedRoot"/>. Offers <paramref name="applicationProtocols"/> by ALPN
    /// when given. Further sends and reads go through TLS.
    /// </summary>
    public async Task<SslStream> StartTlsAsync(string serverName, X509Certificate2 trustedRoot, TimeSpan timeout, params SslApplicationProtocol[] applicationProtocols)
    {
        if (_pending.Length != 0)
        {
            throw new InvalidOperationException($"{_pending.Length} unread plaintext bytes before the TLS handshake");
        }

        var tls = new SslStream(_stream, leaveInnerStreamOpen: false);
        using var limit = new CancellationTokenSource(timeout);
        await tls.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = serverName,
                RemoteCertificateValidationCallback = TestCertificates.TrustOnly(trustedRoot),
                ApplicationProtocols = applicationProtocols.Length == 0 ? null : [.. applicationProtocols],
            },
            limit.Token);
        _stream = tls;
        return tls;
    }

    /// <summary>Half-closes: sends FIN, keeps reading possible.</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>Closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
    }

    private async Task<bool> FillAsync(TimeSpan timeout, string waitingFor, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        int read;
        try
        {
            read = await _stream.ReadAsync(buffer, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"waited {timeout} for {waitingFor}; received {_pending.Length} bytes: {Encoding.Latin1.GetString(_pending)}");
        }
        catch (IOException)
        {
            read = 0; // reset by peer
        }

        if (read == 0)
        {
            PeerClosed = true;
            return false;
        }

        _pending = [.. _pending, .. buffer.AsSpan(0, read)];
        return true;
    }

    private string Take(int count) => Encoding.Latin1.GetString(TakeBytes(count));

    private byte[] TakeBytes(int count)
    {
        var taken = _pending[..count];
        _pending = _pending[count..];
        return taken;
    }

    /// <summary>The status code of a head such as <c>HTTP/1.1 403 Forbidden</c>, or null if it is not a status line.</summary>
    public static int? StatusCodeOf(string head)
    {
        ArgumentNullException.ThrowIfNull(head);
        var parts = head.Split(' ', 3);
        return parts.Length >= 2 && parts[0].StartsWith("HTTP/", StringComparison.Ordinal)
            && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code)
            ? code
            : null;
    }
}
