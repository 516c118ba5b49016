using System.Buffers;
using System.Buffers.Binary;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;

namespace Airlock.Proxy.Tests.Tls;

/// <summary>ClientHello bytes for the parser tests: captured from a real <see cref="SslStream"/> or built by hand.</summary>
internal static class TlsBytes
{
    public const ushort ServerName = 0;
    public const ushort ApplicationProtocols = 16;
    public const ushort Padding = 21;
    public const ushort EncryptedClientHello = 0xFE0D;

    /// <summary>What an <see cref="SslStream"/> client sends first, captured by a stream that records writes and answers EOF.</summary>
    public static byte[] Capture(string targetHost, params string[] protocols)
    {
        using var transport = new RecordingStream();
        using var client = new SslStream(transport);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            ApplicationProtocols = [.. protocols.Select(p => new SslApplicationProtocol(p))],
            RemoteCertificateValidationCallback = (_, _, _, _) => false,
        };
        try
        {
            client.AuthenticateAsClient(options);
        }
        catch (Exception e) when (e is IOException or AuthenticationException)
        {
            // Expected: the "server" closes after the ClientHello.
        }

        return transport.Written;
    }

    /// <summary>A ClientHello handshake message (header included).</summary>
    public static byte[] Message(
        byte[]? extensions = null,
        bool omitExtensions = false,
        byte messageType = 1,
        ushort legacyVersion = 0x0303,
        int sessionIdLength = 32,
        byte[]? cipherSuites = null,
        byte[]? compressionMethods = null,
        byte[]? extensionsBlock = null)
    {
        var body = new List<byte>();
        body.AddRange(U16(legacyVersion));
        body.AddRange(new byte[32]);
        body.Add((byte)sessionIdLength);
        body.AddRange(new byte[sessionIdLength]);
        cipherSuites ??= [0x13, 0x01, 0x13, 0x02];
        body.AddRange(U16(cipherSuites.Length));
        body.AddRange(cipherSuites);
        compressionMethods ??= [0];
        body.Add((byte)compressionMethods.Length);
        body.AddRange(compressionMethods);
        if (extensionsBlock is not null)
        {
            body.AddRange(extensionsBlock);
        }
        else if (!omitExtensions)
        {
            extensions ??= [];
            body.AddRange(U16(extensions.Length));
            body.AddRange(extensions);
        }

        return [messageType, (byte)(body.Count >> 16), (byte)(body.Count >> 8), (byte)body.Count, .. body];
    }

    /// <summary>Wraps a handshake message in handshake records of at most <paramref name="fragment"/> bytes.</summary>
    public static byte[] Records(byte[] message, int fragment = 16384, byte minor = 1)
    {
        var records = new List<byte>();
        for (var offset = 0; offset < message.Length; offset += fragment)
        {
            var length = Math.Min(fragment, message.Length - offset);
            records.AddRange([22, 3, minor, .. U16(length)]);
            records.AddRange(message.AsSpan(offset, length).ToArray());
        }

        return [.. records];
    }

    public static byte[] Hello(params byte[][] extensions) => Records(Message(Concat(extensions)));

    public static byte[] Extension(ushort type, byte[] data) => [.. U16(type), .. U16(data.Length), .. data];

    public static byte[] Sni(params (byte Type, string Name)[] names) =>
        Extension(ServerName, Vector16(Concat(names.Select(n => (byte[])[n.Type, .. Vector16(Encoding.Latin1.GetBytes(n.Name))]).ToArray())));

    public static byte[] Sni(string name) => Sni((0, name));

    public static byte[] Alpn(params string[] protocols) =>
        Extension(ApplicationProtocols, Vector16(Concat(protocols.Select(p => (byte[])[(byte)p.Length, .. Encoding.Latin1.GetBytes(p)]).ToArray())));

    public static byte[] Vector16(byte[] data) => [.. U16(data.Length), .. data];

    public static byte[] U16(int value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)value);
        return bytes;
    }

    public static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    /// <summary>The bytes as a sequence cut at <paramref name="cuts"/> (segments may be empty).</summary>
    public static ReadOnlySequence<byte> Split(byte[] data, params int[] cuts)
    {
        if (cuts.Length == 0)
        {
            return new ReadOnlySequence<byte>(data);
        }

        var bounds = cuts.Order().Prepend(0).Append(data.Length).ToArray();
        var first = new Segment(data.AsMemory(bounds[0], bounds[1] - bounds[0]), null);
        var last = first;
        for (var i = 1; i < bounds.Length - 1; i++)
        {
            last = new Segment(data.AsMemory(bounds[i], bounds[i + 1] - bounds[i]), last);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>The bytes as one-byte segments.</summary>
    public static ReadOnlySequence<byte> Bytewise(byte[] data) =>
        data.Length < 2 ? new ReadOnlySequence<byte>(data) : Split(data, [.. Enumerable.Range(1, data.Length - 1)]);

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }

    private sealed class RecordingStream : Stream
    {
        private readonly MemoryStream written = new();

        public byte[] Written => written.ToArray();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => 0;

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => written.Write(buffer, offset, count);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                written.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
