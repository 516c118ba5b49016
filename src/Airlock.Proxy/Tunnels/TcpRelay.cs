using System.IO.Pipelines;
using System.Net.Sockets;

namespace Airlock.Proxy.Tunnels;

/// <summary>
/// Relays bytes both ways between the client's connection and an upstream socket (passthrough TLS and opaque
/// TCP). Half-closes are passed on; the relay ends when both directions have, or when the tunnel's lifetime
/// runs out, or when the client connection closes.
/// </summary>
internal static class TcpRelay
{
    public static async Task RunAsync(IDuplexPipe client, Socket upstream, TimeSpan lifetime, CancellationToken connectionClosed)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(connectionClosed);
        cancel.CancelAfter(lifetime);
        var stream = new NetworkStream(upstream, ownsSocket: false);
        await using (stream.ConfigureAwait(false))
        {
            var toUpstream = ClientToUpstreamAsync(client.Input, stream, upstream, cancel.Token);
            var toClient = UpstreamToClientAsync(stream, client.Output, cancel.Token);
            var first = await Task.WhenAny(toUpstream, toClient).ConfigureAwait(false);
            if (first.IsFaulted)
            {
                await cancel.CancelAsync().ConfigureAwait(false);
            }

            try
            {
                await Task.WhenAll(toUpstream, toClient).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // One side reset or the lifetime ended: the tunnel is over either way.
            }
        }
    }

    private static async Task ClientToUpstreamAsync(PipeReader client, NetworkStream upstream, Socket socket, CancellationToken cancellationToken)
    {
        await client.CopyToAsync(upstream, cancellationToken).ConfigureAwait(false);
        socket.Shutdown(SocketShutdown.Send);
    }

    private static async Task UpstreamToClientAsync(NetworkStream upstream, PipeWriter client, CancellationToken cancellationToken)
    {
        await upstream.CopyToAsync(client, cancellationToken).ConfigureAwait(false);
        await client.CompleteAsync().ConfigureAwait(false);
    }
}
