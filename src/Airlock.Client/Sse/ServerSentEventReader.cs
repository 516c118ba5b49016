using System.Text;

namespace Airlock.Client.Sse;

/// <summary>One dispatched server-sent event; <see cref="Data"/> is null for a block that only set the id.</summary>
/// <param name="Id">The last event id as of this event (it carries over from earlier events, as in the SSE spec).</param>
/// <param name="Type">The <c>event</c> field; <c>message</c> when absent.</param>
/// <param name="Data">The <c>data</c> lines joined by line feeds.</param>
internal sealed record ServerSentEvent(string? Id, string Type, string? Data);

/// <summary>
/// Reads <c>text/event-stream</c> (WHATWG HTML §9.2): lines end in CR, LF or CRLF; a blank line dispatches; lines
/// starting with a colon are comments (the gateway's heartbeats). Every read must finish within the idle timeout,
/// so a connection that died silently is noticed.
/// </summary>
internal sealed class ServerSentEventReader : IDisposable
{
    private readonly StreamReader _reader;
    private readonly TimeSpan _idleTimeout;
    private string? _lastId;

    public ServerSentEventReader(Stream stream, TimeSpan idleTimeout)
    {
        _reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false);
        _idleTimeout = idleTimeout;
    }

    /// <summary>Whether anything at all (a heartbeat included) has arrived: the connection worked.</summary>
    public bool ReceivedAnything { get; private set; }

    /// <summary>The next event, or null when the stream ended (an unfinished event at the end is dropped, as the spec says).</summary>
    /// <exception cref="TimeoutException">Nothing arrived within the idle timeout.</exception>
    public async Task<ServerSentEvent?> ReadAsync(CancellationToken cancellationToken)
    {
        string type = "message";
        StringBuilder? data = null;
        var idSet = false;
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        while (true)
        {
            idle.CancelAfter(_idleTimeout);
            string? line;
            try
            {
                line = await _reader.ReadLineAsync(idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"the event stream sent nothing for {_idleTimeout.TotalSeconds:0} s");
            }

            if (line is null)
            {
                return null;
            }

            ReceivedAnything = true;
            if (line.Length == 0)
            {
                if (data is not null || idSet)
                {
                    return new ServerSentEvent(_lastId, type, data?.ToString());
                }

                type = "message";
                continue;
            }

            if (line[0] == ':')
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? string.Empty : line[(colon + 1)..];
            if (value.StartsWith(' '))
            {
                value = value[1..];
            }

            switch (field)
            {
                case "event":
                    type = value;
                    break;
                case "data":
                    data = data is null ? new StringBuilder(value) : data.Append('\n').Append(value);
                    break;
                case "id" when !value.Contains('\0', StringComparison.Ordinal):
                    _lastId = value.Length == 0 ? null : value;
                    idSet = true;
                    break;
                default:
                    // retry and unknown fields: the client keeps its own backoff.
                    break;
            }
        }
    }

    public void Dispose() => _reader.Dispose();
}
