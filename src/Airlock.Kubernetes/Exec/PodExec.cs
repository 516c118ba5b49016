using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Airlock.Sandboxes;

namespace Airlock.Kubernetes.Exec;

/// <summary>
/// Runs a command in a pod's container through the Kubernetes exec API (a WebSocket with the
/// <c>v5.channel.k8s.io</c> protocol, falling back to <c>v4.channel.k8s.io</c>): standard input on channel 0,
/// output on 1 and 2, the result as a <c>Status</c> on 3. v5 can close the command's standard input (channel
/// 255), so <c>cat</c>-like commands see their end of input; under v4 they are only ended by the caller.
/// </summary>
public sealed class PodExec(k8s.Kubernetes client)
{
    private const byte StdinChannel = 0, StdoutChannel = 1, StderrChannel = 2, ErrorChannel = 3, CloseChannel = 255;

    /// <summary>Runs <paramref name="command"/> and returns its exit code.</summary>
    /// <exception cref="SandboxException">The exec could not be started, or ended without a status.</exception>
    public async Task<int> ExecAsync(string @namespace, string pod, string container, IReadOnlyList<string> command, ExecStreams streams, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(streams);
        using var socket = await ConnectAsync(@namespace, pod, container, command, streams.Stdin is not null, cancellationToken).ConfigureAwait(false);
        var canCloseStdin = socket.SubProtocol == k8s.WebSocketProtocol.V5BinaryWebsocketProtocol;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var feeding = streams.Stdin is { } stdin ? FeedAsync(socket, stdin, canCloseStdin, stop.Token) : Task.CompletedTask;

        // Input that fails (a capped upload over its limit) ends the exec: the command would wait for it forever.
        _ = feeding.ContinueWith(_ => stop.Cancel(), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            var buffer = new byte[64 * 1024];
            using var message = new MemoryStream();
            while (true)
            {
                message.SetLength(0);
                WebSocketReceiveResult result;
                do
                {
                    try
                    {
                        result = await socket.ReceiveAsync(buffer, stop.Token).ConfigureAwait(false);
                    }
                    catch (Exception) when (feeding.IsFaulted)
                    {
                        await feeding.ConfigureAwait(false);
                        throw;
                    }

                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        throw new SandboxException($"the exec in {@namespace}/{pod} ended without a status ({socket.CloseStatusDescription ?? socket.CloseStatus?.ToString() ?? "closed"})");
                    }

                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);

                if (message.Length == 0)
                {
                    continue;
                }

                var bytes = message.GetBuffer().AsMemory(1, (int)message.Length - 1);
                switch (message.GetBuffer()[0])
                {
                    case StdoutChannel:
                        await streams.Stdout.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                        await streams.Stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case StderrChannel:
                        await streams.Stderr.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                        await streams.Stderr.FlushAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case ErrorChannel:
                        return ExitCode(bytes.Span, @namespace, pod);
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            if (streams.Stdin is null || feeding.IsCompleted)
            {
                await feeding.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>The exit code in the error channel's Status: 0 on Success, the <c>ExitCode</c> cause of a NonZeroExitCode.</summary>
    internal static int ExitCode(ReadOnlySpan<byte> status, string @namespace, string pod)
    {
        JsonObject? node;
        try
        {
            node = JsonNode.Parse(status) as JsonObject;
        }
        catch (JsonException e)
        {
            throw new SandboxException($"the exec in {@namespace}/{pod} sent an unreadable status: {e.Message}", e);
        }

        if ((string?)node?["status"] == "Success")
        {
            return 0;
        }

        if ((string?)node?["reason"] == "NonZeroExitCode"
            && (node["details"]?["causes"] as JsonArray ?? []).FirstOrDefault(c => (string?)c?["reason"] == "ExitCode") is { } cause
            && int.TryParse((string?)cause["message"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var code))
        {
            return code;
        }

        throw new SandboxException($"the exec in {@namespace}/{pod} failed: {(string?)node?["message"] ?? status.ToString()}");
    }

    private async Task<WebSocket> ConnectAsync(string @namespace, string pod, string container, IReadOnlyList<string> command, bool stdin, CancellationToken cancellationToken)
    {
        try
        {
            return await client.WebSocketNamespacedPodExecAsync(pod, @namespace, command, container, stderr: true, stdin: stdin, stdout: true, tty: false, webSocketSubProtocol: k8s.WebSocketProtocol.V5BinaryWebsocketProtocol, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or k8s.Autorest.HttpOperationException)
        {
            // An API server before v5 (Kubernetes < 1.30) refuses the protocol: v4 has no stdin close.
            try
            {
                return await client.WebSocketNamespacedPodExecAsync(pod, @namespace, command, container, stderr: true, stdin: stdin, stdout: true, tty: false, webSocketSubProtocol: k8s.WebSocketProtocol.V4BinaryWebsocketProtocol, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (Exception again) when (again is WebSocketException or k8s.Autorest.HttpOperationException)
            {
                throw new SandboxException($"cannot exec in {@namespace}/{pod}: {again.Message}", again);
            }
        }
    }

    private static async Task FeedAsync(WebSocket socket, Stream stdin, bool canClose, CancellationToken cancellationToken)
    {
        var buffer = new byte[32 * 1024 + 1];
        buffer[0] = StdinChannel;
        int read;
        while ((read = await stdin.ReadAsync(buffer.AsMemory(1), cancellationToken).ConfigureAwait(false)) > 0)
        {
            await socket.SendAsync(buffer.AsMemory(0, read + 1), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }

        if (canClose)
        {
            await socket.SendAsync(new byte[] { CloseChannel, StdinChannel }, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
    }
}
