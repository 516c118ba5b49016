using System.Buffers;
using System.Text;

namespace Airlock.Proxy.FrontDoors;

/// <summary>
/// Finds the Host of a plain HTTP/1.x request head without consuming it, for the transparent front door
/// (which has no CONNECT line to name the destination). Only the name is taken here; Kestrel parses the
/// request for real afterwards.
/// </summary>
internal static class HttpHead
{
    /// <summary>Result of a peek.</summary>
    public enum Status
    {
        /// <summary>Need more bytes.</summary>
        Incomplete,

        /// <summary>A complete head; <c>host</c> may still be null when it has no Host header.</summary>
        Complete,

        /// <summary>Longer than the limit.</summary>
        TooLarge,
    }

    public static Status TryGetHost(ReadOnlySequence<byte> buffer, int maxHeadBytes, out string? host)
    {
        host = null;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> head, "\r\n\r\n"u8, advancePastDelimiter: true))
        {
            return buffer.Length > maxHeadBytes ? Status.TooLarge : Status.Incomplete;
        }

        if (reader.Consumed > maxHeadBytes)
        {
            return Status.TooLarge;
        }

        foreach (var line in Encoding.Latin1.GetString(head).Split("\r\n").Skip(1))
        {
            if (line.StartsWith("host:", StringComparison.OrdinalIgnoreCase))
            {
                if (host is not null)
                {
                    // Two Host headers: leave it to Kestrel to refuse; name nothing here.
                    host = null;
                    return Status.Complete;
                }

                host = line[5..].Trim(' ', '\t');
            }
        }

        return Status.Complete;
    }
}
