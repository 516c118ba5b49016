using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Airlock.Proxy.Tls;

/// <summary>What <see cref="ClientHello.TryParse"/> found at the start of a connection.</summary>
public enum ClientHelloParseStatus
{
    /// <summary>So far a plausible ClientHello; more bytes are needed to decide.</summary>
    Incomplete,

    /// <summary>The bytes do not start a TLS handshake record (for example plain HTTP or SSH).</summary>
    NotTls,

    /// <summary>A TLS handshake record, but not a well-formed ClientHello within <see cref="ClientHello.MaxClientHelloBytes"/>.</summary>
    Malformed,

    /// <summary>A complete, well-formed ClientHello.</summary>
    Parsed,
}

/// <summary>
/// The parts of a TLS ClientHello the proxy decides on: the server name (SNI) and the offered application
/// protocols (ALPN). Parsed from bytes the proxy has peeked, without consuming them.
/// </summary>
/// <remarks>
/// The parser is strict where a laxer reading could let the proxy and the origin see different names: one
/// host_name only, one SNI and one ALPN extension only, every length must add up exactly, the handshake
/// message may span several records but nothing may follow it in its last record.
/// </remarks>
public sealed class ClientHello
{
    /// <summary>The most bytes (record headers included) a ClientHello may take; beyond it is <see cref="ClientHelloParseStatus.Malformed"/>.</summary>
    public const int MaxClientHelloBytes = 64 * 1024;

    private const int RecordHeaderLength = 5;
    private const int HandshakeHeaderLength = 4;
    private const int MaxRecordPayload = 1 << 14;
    private const int RandomLength = 32;
    private const int MaxSessionIdLength = 32;
    private const byte HandshakeContentType = 22;
    private const byte ClientHelloMessageType = 1;
    private const byte HostNameType = 0;
    private const ushort ServerNameExtension = 0;
    private const ushort ApplicationProtocolExtension = 16;
    private const ushort EncryptedClientHelloExtension = 0xFE0D;

    private ClientHello(string? serverName, string[] applicationProtocols, bool hasEncryptedClientHello, int recordLength)
    {
        ServerName = serverName;
        ApplicationProtocols = applicationProtocols;
        HasEncryptedClientHello = hasEncryptedClientHello;
        RecordLength = recordLength;
    }

    /// <summary>
    /// The SNI host_name exactly as sent (printable ASCII, no spaces, not yet canonicalised), or null when the
    /// client sent none (typically when it connects to an IP literal).
    /// </summary>
    public string? ServerName { get; }

    /// <summary>The ALPN protocol names in the client's order (each byte mapped to one char); empty without ALPN.</summary>
    public IReadOnlyList<string> ApplicationProtocols { get; }

    /// <summary>
    /// Whether the client offered Encrypted Client Hello: then <see cref="ServerName"/> is only the outer, public
    /// name and the origin may route on a hidden inner one.
    /// </summary>
    public bool HasEncryptedClientHello { get; }

    /// <summary>How many bytes from the start of the buffer the TLS records carrying the ClientHello take.</summary>
    public int RecordLength { get; }

    /// <summary>
    /// Parses the ClientHello at the start of <paramref name="buffer"/> without consuming anything. Never throws.
    /// </summary>
    /// <param name="buffer">The bytes received so far on the connection.</param>
    /// <param name="hello">The ClientHello when the result is <see cref="ClientHelloParseStatus.Parsed"/>; otherwise null.</param>
    /// <returns>Whether the bytes are a complete ClientHello, need more data, are not TLS, or are malformed.</returns>
    public static ClientHelloParseStatus TryParse(ReadOnlySequence<byte> buffer, out ClientHello? hello)
    {
        hello = null;
        var status = Frame(buffer, out var messageLength, out var recordLength, out var records);
        if (status != ClientHelloParseStatus.Parsed)
        {
            return status;
        }

        if (records == 1)
        {
            var message = buffer.Slice(RecordHeaderLength, messageLength);
            if (message.IsSingleSegment)
            {
                return ParseMessage(message.FirstSpan, recordLength, out hello);
            }
        }

        var rented = ArrayPool<byte>.Shared.Rent(messageLength);
        try
        {
            Reassemble(buffer, records, rented.AsSpan(0, messageLength));
            return ParseMessage(rented.AsSpan(0, messageLength), recordLength, out hello);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // Walks the handshake records until the ClientHello message is complete, checking the framing only.
    private static ClientHelloParseStatus Frame(ReadOnlySequence<byte> buffer, out int messageLength, out int recordLength, out int records)
    {
        messageLength = 0;
        recordLength = 0;
        records = 0;
        var reader = new SequenceReader<byte>(buffer);
        Span<byte> header = stackalloc byte[HandshakeHeaderLength];
        var collected = 0;
        var needed = -1;
        while (true)
        {
            // Only the first record decides between TLS and not TLS; a later odd record is a broken handshake.
            var notTls = records == 0 ? ClientHelloParseStatus.NotTls : ClientHelloParseStatus.Malformed;
            if (!reader.TryRead(out var contentType))
            {
                return ClientHelloParseStatus.Incomplete;
            }

            if (contentType != HandshakeContentType)
            {
                return notTls;
            }

            if (!reader.TryRead(out var major))
            {
                return ClientHelloParseStatus.Incomplete;
            }

            if (major != 3)
            {
                return notTls;
            }

            if (!reader.TryRead(out var minor))
            {
                return ClientHelloParseStatus.Incomplete;
            }

            if (minor > 4)
            {
                return notTls;
            }

            if (!reader.TryReadBigEndian(out short rawLength))
            {
                return ClientHelloParseStatus.Incomplete;
            }

            var payload = (ushort)rawLength;
            if (payload is 0 or > MaxRecordPayload)
            {
                return ClientHelloParseStatus.Malformed;
            }

            records++;
            recordLength += RecordHeaderLength + payload;
            if (recordLength > MaxClientHelloBytes)
            {
                return ClientHelloParseStatus.Malformed;
            }

            var left = payload;
            while (collected < HandshakeHeaderLength && left > 0)
            {
                if (!reader.TryRead(out header[collected]))
                {
                    return ClientHelloParseStatus.Incomplete;
                }

                collected++;
                left--;
            }

            if (collected < HandshakeHeaderLength)
            {
                continue;
            }

            if (needed < 0)
            {
                if (header[0] != ClientHelloMessageType)
                {
                    return ClientHelloParseStatus.Malformed;
                }

                needed = HandshakeHeaderLength + ((header[1] << 16) | (header[2] << 8) | header[3]);
                if (needed > MaxClientHelloBytes - RecordHeaderLength)
                {
                    return ClientHelloParseStatus.Malformed;
                }
            }

            // Nothing but the ClientHello may be in its records: a client sends no other handshake message first.
            if (left > needed - collected)
            {
                return ClientHelloParseStatus.Malformed;
            }

            if (reader.Remaining < left)
            {
                return ClientHelloParseStatus.Incomplete;
            }

            reader.Advance(left);
            collected += left;
            if (collected == needed)
            {
                messageLength = needed;
                return ClientHelloParseStatus.Parsed;
            }
        }
    }

    // Copies the handshake message out of the records Frame has already checked.
    private static void Reassemble(ReadOnlySequence<byte> buffer, int records, Span<byte> message)
    {
        var reader = new SequenceReader<byte>(buffer);
        var written = 0;
        for (var i = 0; i < records; i++)
        {
            reader.Advance(RecordHeaderLength - 2);
            reader.TryReadBigEndian(out short rawLength);
            var payload = Math.Min((ushort)rawLength, message.Length - written);
            reader.TryCopyTo(message.Slice(written, payload));
            reader.Advance(payload);
            written += payload;
        }
    }

    private static ClientHelloParseStatus ParseMessage(ReadOnlySpan<byte> message, int recordLength, out ClientHello? hello)
    {
        hello = null;
        var body = message[HandshakeHeaderLength..];
        if (!TryTake(ref body, 2, out var legacyVersion)
            || legacyVersion[0] != 3
            || !TryTake(ref body, RandomLength, out _)
            || !TryTakeVector8(ref body, out var sessionId)
            || sessionId.Length > MaxSessionIdLength
            || !TryTakeVector16(ref body, out var cipherSuites)
            || cipherSuites.Length < 2
            || cipherSuites.Length % 2 != 0
            || !TryTakeVector8(ref body, out var compressionMethods)
            || compressionMethods.IsEmpty)
        {
            return ClientHelloParseStatus.Malformed;
        }

        string? serverName = null;
        string[] protocols = [];
        bool sawServerName = false, sawProtocols = false, sawEncryptedHello = false;
        if (!body.IsEmpty)
        {
            if (!TryTakeVector16(ref body, out var extensions) || !body.IsEmpty)
            {
                return ClientHelloParseStatus.Malformed;
            }

            while (!extensions.IsEmpty)
            {
                if (!TryTakeUInt16(ref extensions, out var type) || !TryTakeVector16(ref extensions, out var data))
                {
                    return ClientHelloParseStatus.Malformed;
                }

                switch (type)
                {
                    case ServerNameExtension:
                        if (sawServerName || !TryParseServerName(data, out serverName))
                        {
                            return ClientHelloParseStatus.Malformed;
                        }

                        sawServerName = true;
                        break;
                    case ApplicationProtocolExtension:
                        if (sawProtocols || !TryParseApplicationProtocols(data, out protocols))
                        {
                            return ClientHelloParseStatus.Malformed;
                        }

                        sawProtocols = true;
                        break;
                    case EncryptedClientHelloExtension:
                        if (sawEncryptedHello)
                        {
                            return ClientHelloParseStatus.Malformed;
                        }

                        sawEncryptedHello = true;
                        break;
                }
            }
        }

        hello = new ClientHello(serverName, protocols, sawEncryptedHello, recordLength);
        return ClientHelloParseStatus.Parsed;
    }

    // RFC 6066 §3: a non-empty list of (name_type, opaque name); at most one host_name. Entries of other
    // types are skipped as length-prefixed, as major TLS stacks do.
    private static bool TryParseServerName(ReadOnlySpan<byte> data, out string? serverName)
    {
        serverName = null;
        if (!TryTakeVector16(ref data, out var list) || !data.IsEmpty || list.IsEmpty)
        {
            return false;
        }

        while (!list.IsEmpty)
        {
            if (!TryTake(ref list, 1, out var nameType) || !TryTakeVector16(ref list, out var name))
            {
                return false;
            }

            if (nameType[0] != HostNameType)
            {
                continue;
            }

            if (serverName is not null || name.IsEmpty || name.IndexOfAnyExceptInRange((byte)0x21, (byte)0x7E) >= 0)
            {
                return false;
            }

            serverName = Encoding.ASCII.GetString(name);
        }

        return true;
    }

    // RFC 7301 §3.1: a non-empty list of non-empty protocol names.
    private static bool TryParseApplicationProtocols(ReadOnlySpan<byte> data, out string[] protocols)
    {
        protocols = [];
        if (!TryTakeVector16(ref data, out var list) || !data.IsEmpty || list.IsEmpty)
        {
            return false;
        }

        var count = 0;
        for (var rest = list; !rest.IsEmpty; count++)
        {
            if (!TryTakeVector8(ref rest, out var name) || name.IsEmpty)
            {
                return false;
            }
        }

        protocols = new string[count];
        for (var i = 0; i < count; i++)
        {
            TryTakeVector8(ref list, out var name);
            protocols[i] = Encoding.Latin1.GetString(name);
        }

        return true;
    }

    private static bool TryTake(ref ReadOnlySpan<byte> span, int length, out ReadOnlySpan<byte> taken)
    {
        if (span.Length < length)
        {
            taken = default;
            return false;
        }

        taken = span[..length];
        span = span[length..];
        return true;
    }

    private static bool TryTakeUInt16(ref ReadOnlySpan<byte> span, out ushort value)
    {
        if (!BinaryPrimitives.TryReadUInt16BigEndian(span, out value))
        {
            return false;
        }

        span = span[2..];
        return true;
    }

    private static bool TryTakeVector8(ref ReadOnlySpan<byte> span, out ReadOnlySpan<byte> vector)
    {
        vector = default;
        return TryTake(ref span, 1, out var length) && TryTake(ref span, length[0], out vector);
    }

    private static bool TryTakeVector16(ref ReadOnlySpan<byte> span, out ReadOnlySpan<byte> vector)
    {
        vector = default;
        return TryTakeUInt16(ref span, out var length) && TryTake(ref span, length, out vector);
    }
}
