using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Airlock.Policy.Hosts;

namespace Airlock.Proxy.FrontDoors;

/// <summary>What parsing a CONNECT preamble produced.</summary>
internal enum ConnectParseStatus
{
    /// <summary>The head is not complete yet; read more.</summary>
    Incomplete,

    /// <summary>A valid CONNECT request.</summary>
    Parsed,

    /// <summary>The request is malformed; answer 400.</summary>
    Malformed,

    /// <summary>The head is longer than allowed; answer 431.</summary>
    TooLarge,
}

/// <summary>
/// A CONNECT request (RFC 9110 §9.3.6), parsed strictly by hand because Kestrel does not accept CONNECT:
/// authority-form target only, canonical host, explicit port, bounded head, no obs-fold.
/// </summary>
/// <param name="RawHost">The host as the client wrote it (for events when it is malformed elsewhere).</param>
/// <param name="Host">The canonical host.</param>
/// <param name="Port">The port.</param>
/// <param name="HeadLength">Bytes of the head, including the final empty line.</param>
internal sealed record ConnectRequest(string RawHost, CanonicalHost Host, int Port, int HeadLength)
{
    /// <summary>Longest accepted CONNECT head (request line and headers).</summary>
    public const int MaxHeadBytes = 8 * 1024;

    /// <summary>Most header fields accepted on a CONNECT request.</summary>
    public const int MaxHeaderCount = 64;

    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;

    /// <summary>Whether <paramref name="buffer"/> starts like a CONNECT request (so far).</summary>
    public static bool LooksLikeConnect(ReadOnlySequence<byte> buffer)
    {
        ReadOnlySpan<byte> prefix = "CONNECT "u8;
        Span<byte> start = stackalloc byte[8];
        var length = (int)Math.Min(buffer.Length, prefix.Length);
        buffer.Slice(0, length).CopyTo(start);
        return start[..length].SequenceEqual(prefix[..length]);
    }

    /// <summary>Parses a CONNECT head from the start of <paramref name="buffer"/>.</summary>
    /// <param name="buffer">Bytes received so far.</param>
    /// <param name="request">The request when <see cref="ConnectParseStatus.Parsed"/>.</param>
    /// <param name="error">Why, when <see cref="ConnectParseStatus.Malformed"/>.</param>
    public static ConnectParseStatus TryParse(ReadOnlySequence<byte> buffer, out ConnectRequest? request, out string? error)
    {
        request = null;
        error = null;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> headWithoutEnd, HeadEnd, advancePastDelimiter: true))
        {
            return buffer.Length > MaxHeadBytes ? ConnectParseStatus.TooLarge : ConnectParseStatus.Incomplete;
        }

        var headLength = (int)reader.Consumed;
        if (headLength > MaxHeadBytes)
        {
            return ConnectParseStatus.TooLarge;
        }

        var head = Encoding.Latin1.GetString(headWithoutEnd);
        var lines = head.Split("\r\n");
        if (lines.Length - 1 > MaxHeaderCount)
        {
            return ConnectParseStatus.TooLarge;
        }

        if (!TryParseRequestLine(lines[0], out var rawHost, out var host, out var port, out error))
        {
            return ConnectParseStatus.Malformed;
        }

        for (var i = 1; i < lines.Length; i++)
        {
            if (!IsValidHeaderLine(lines[i], out error))
            {
                return ConnectParseStatus.Malformed;
            }
        }

        request = new ConnectRequest(rawHost, host, port, headLength);
        return ConnectParseStatus.Parsed;
    }

    private static bool TryParseRequestLine(
        string line,
        out string rawHost,
        [NotNullWhen(true)] out CanonicalHost? host,
        out int port,
        [NotNullWhen(false)] out string? error)
    {
        rawHost = string.Empty;
        host = null;
        port = 0;
        var parts = line.Split(' ');
        if (parts.Length != 3 || parts[0] != "CONNECT" || parts[2] is not ("HTTP/1.1" or "HTTP/1.0"))
        {
            error = "the request line must be 'CONNECT host:port HTTP/1.1'";
            return false;
        }

        var authority = parts[1];
        string portText;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= authority.Length || authority[close + 1] != ':')
            {
                error = "the CONNECT target must be host:port (IPv6 as [address]:port)";
                return false;
            }

            rawHost = authority[..(close + 1)];
            portText = authority[(close + 2)..];
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            if (colon <= 0)
            {
                error = "the CONNECT target must be host:port with an explicit port";
                return false;
            }

            rawHost = authority[..colon];
            portText = authority[(colon + 1)..];
            if (rawHost.Contains(':', StringComparison.Ordinal))
            {
                error = "an IPv6 CONNECT target must be written in brackets: [address]:port";
                return false;
            }
        }

        if (portText.Length is 0 or > 5
            || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port)
            || port is < 1 or > 65535)
        {
            error = "the CONNECT port must be a number from 1 to 65535";
            return false;
        }

        if (!HostCanonicalizer.TryCanonicalize(rawHost, out host, out var hostError))
        {
            error = hostError;
            return false;
        }

        error = null;
        return true;
    }

    private static bool IsValidHeaderLine(string line, [NotNullWhen(false)] out string? error)
    {
        if (line.Length == 0 || line[0] is ' ' or '\t')
        {
            error = "folded (obs-fold) or empty header lines are not accepted";
            return false;
        }

        var colon = line.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            error = "a header line has no name";
            return false;
        }

        foreach (var c in line)
        {
            if (c is '\0' or '\r' or '\n' || (c < 0x20 && c != '\t') || c == 0x7f)
            {
                error = "a header contains a control character";
                return false;
            }
        }

        for (var i = 0; i < colon; i++)
        {
            if (!IsTokenChar(line[i]))
            {
                error = "a header name is not a token";
                return false;
            }
        }

        error = null;
        return true;
    }

    private static bool IsTokenChar(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
            or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
}
