using System.Buffers;
using System.Text;
using Airlock.Proxy.Tls;
using static Airlock.Proxy.Tests.Tls.TlsBytes;

namespace Airlock.Proxy.Tests.Tls;

public class ClientHelloTests
{
    private static readonly Lazy<byte[]> Captured = new(() => Capture("api.example.com", "h2", "http/1.1"));

    private static (ClientHelloParseStatus Status, ClientHello? Hello) Parse(ReadOnlySequence<byte> bytes)
    {
        var status = ClientHello.TryParse(bytes, out var hello);
        Assert.Equal(status == ClientHelloParseStatus.Parsed, hello is not null);
        return (status, hello);
    }

    private static (ClientHelloParseStatus Status, ClientHello? Hello) Parse(byte[] bytes) => Parse(new ReadOnlySequence<byte>(bytes));

    [Fact]
    public void A_real_SslStream_ClientHello_yields_its_server_name_and_protocols()
    {
        var bytes = Captured.Value;
        var (status, hello) = Parse(bytes);

        Assert.Equal(ClientHelloParseStatus.Parsed, status);
        Assert.Equal("api.example.com", hello!.ServerName);
        Assert.Equal(["h2", "http/1.1"], hello.ApplicationProtocols);
        Assert.False(hello.HasEncryptedClientHello);
        // SslStream sends the ClientHello as one record and nothing else before the server answers.
        Assert.Equal(5 + ((bytes[3] << 8) | bytes[4]), hello.RecordLength);
        Assert.Equal(bytes.Length, hello.RecordLength);
    }

    [Fact]
    public void A_ClientHello_for_an_IP_literal_has_no_server_name()
    {
        var (status, hello) = Parse(Capture("127.0.0.1", "http/1.1"));

        Assert.Equal(ClientHelloParseStatus.Parsed, status);
        Assert.Null(hello!.ServerName);
        Assert.Equal(["http/1.1"], hello.ApplicationProtocols);
    }

    [Fact]
    public void A_ClientHello_without_ALPN_has_no_protocols()
    {
        var (status, hello) = Parse(Capture("pypi.org"));

        Assert.Equal(ClientHelloParseStatus.Parsed, status);
        Assert.Equal("pypi.org", hello!.ServerName);
        Assert.Empty(hello.ApplicationProtocols);
    }

    [Fact]
    public void Every_prefix_is_incomplete_and_every_split_parses_the_same()
    {
        var bytes = Captured.Value;
        for (var length = 0; length < bytes.Length; length++)
        {
            var prefix = bytes[..length];
            Assert.Equal(ClientHelloParseStatus.Incomplete, Parse(prefix).Status);
            Assert.Equal(ClientHelloParseStatus.Incomplete, Parse(Split(prefix, length / 2)).Status);
        }

        for (var cut = 0; cut <= bytes.Length; cut++)
        {
            var (status, hello) = Parse(Split(bytes, cut));
            Assert.Equal(ClientHelloParseStatus.Parsed, status);
            Assert.Equal("api.example.com", hello!.ServerName);
            Assert.Equal(["h2", "http/1.1"], hello.ApplicationProtocols);
            Assert.Equal(bytes.Length, hello.RecordLength);
        }

        var bytewise = Parse(Bytewise(bytes));
        Assert.Equal(ClientHelloParseStatus.Parsed, bytewise.Status);
        Assert.Equal("api.example.com", bytewise.Hello!.ServerName);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(100)]
    [InlineData(512)]
    public void A_ClientHello_fragmented_across_records_is_reassembled(int fragment)
    {
        var original = Captured.Value;
        var message = original[5..];
        var bytes = Records(message, fragment);
        var records = (message.Length + fragment - 1) / fragment;
        Assert.Equal(message.Length + (5 * records), bytes.Length);

        var (status, hello) = Parse(bytes);
        Assert.Equal(ClientHelloParseStatus.Parsed, status);
        Assert.Equal("api.example.com", hello!.ServerName);
        Assert.Equal(["h2", "http/1.1"], hello.ApplicationProtocols);
        Assert.Equal(bytes.Length, hello.RecordLength);

        Assert.Equal(ClientHelloParseStatus.Parsed, Parse(Split(bytes, bytes.Length / 3, bytes.Length / 2)).Status);
        for (var length = 0; length < bytes.Length; length += Math.Max(1, fragment / 2))
        {
            Assert.Equal(ClientHelloParseStatus.Incomplete, Parse(bytes[..length]).Status);
        }
    }

    [Fact]
    public void Records_after_the_ClientHello_are_not_part_of_it()
    {
        var hello = Captured.Value;
        byte[] changeCipherSpec = [20, 3, 3, 0, 1, 1];
        byte[] applicationData = [23, 3, 3, 0, 2, 0xAB, 0xCD];

        var (status, parsed) = Parse(Concat(hello, changeCipherSpec, applicationData));

        Assert.Equal(ClientHelloParseStatus.Parsed, status);
        Assert.Equal(hello.Length, parsed!.RecordLength);
    }

    public static TheoryData<string, byte[]> NotTlsInputs => new()
    {
        { "HTTP request", Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n") },
        { "HTTP, one byte", Encoding.ASCII.GetBytes("G") },
        { "CONNECT", Encoding.ASCII.GetBytes("CONNECT example.com:443 HTTP/1.1\r\n\r\n") },
        { "SSH banner", Encoding.ASCII.GetBytes("SSH-2.0-OpenSSH_9.6\r\n") },
        { "SSLv2-style hello", [0x80, 0x2E, 0x01, 0x03, 0x01] },
        { "application data record", [23, 3, 3, 0, 5, 1, 2, 3, 4, 5] },
        { "alert record", [21, 3, 3, 0, 2, 2, 40] },
        { "handshake with version major 2", [22, 2] },
        { "handshake with version 3.5", [22, 3, 5, 0, 1] },
        { "NUL bytes", [0, 0, 0, 0] },
    };

    [Theory]
    [MemberData(nameof(NotTlsInputs))]
    public void Bytes_that_do_not_start_a_handshake_record_are_not_TLS(string name, byte[] bytes)
    {
        Assert.False(string.IsNullOrEmpty(name));
        Assert.Equal(ClientHelloParseStatus.NotTls, Parse(bytes).Status);
        Assert.Equal(ClientHelloParseStatus.NotTls, Parse(Bytewise(bytes)).Status);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 22 })]
    [InlineData(new byte[] { 22, 3 })]
    [InlineData(new byte[] { 22, 3, 1 })]
    [InlineData(new byte[] { 22, 3, 1, 0 })]
    [InlineData(new byte[] { 22, 3, 1, 0, 200 })]
    [InlineData(new byte[] { 22, 3, 1, 0, 200, 1, 0, 0 })]
    [InlineData(new byte[] { 22, 3, 0, 0, 2, 1, 0 })] // the handshake header continues in the next record
    public void Plausible_beginnings_are_incomplete(byte[] bytes) =>
        Assert.Equal(ClientHelloParseStatus.Incomplete, Parse(bytes).Status);

    public static TheoryData<string, byte[]> MalformedInputs
    {
        get
        {
            var valid = Message(Concat(Sni("a.example"), Alpn("h2")));
            return new TheoryData<string, byte[]>
            {
                { "two host_names", Hello(Sni((0, "a.example"), (0, "b.example"))) },
                { "two SNI extensions", Hello(Sni("a.example"), Sni("a.example")) },
                { "two ALPN extensions", Hello(Alpn("h2"), Alpn("h2")) },
                { "two ECH extensions", Hello(Extension(EncryptedClientHello, [0]), Extension(EncryptedClientHello, [0])) },
                { "empty SNI list", Hello(Extension(ServerName, Vector16([]))) },
                { "empty SNI extension", Hello(Extension(ServerName, [])) },
                { "SNI list shorter than the extension", Hello(Extension(ServerName, [.. Vector16([0, 0, 1, (byte)'a']), 0])) },
                { "SNI list longer than the extension", Hello(Extension(ServerName, [0, 9, 0, 0, 1, (byte)'a'])) },
                { "SNI entry cut short", Hello(Extension(ServerName, Vector16([0, 0, 5, (byte)'a']))) },
                { "empty host_name", Hello(Sni("")) },
                { "NUL in host_name", Hello(Sni("a\0.example")) },
                { "space in host_name", Hello(Sni("a .example")) },
                { "control character in host_name", Hello(Sni("a\r\n.example")) },
                { "non-ASCII host_name", Hello(Sni("b\u00FCcher.example")) },
                { "DEL in host_name", Hello(Sni("a\u007F.example")) },
                { "empty ALPN list", Hello(Extension(ApplicationProtocols, Vector16([]))) },
                { "empty ALPN protocol", Hello(Alpn("h2", "")) },
                { "ALPN list longer than the extension", Hello(Extension(ApplicationProtocols, [0, 9, 2, (byte)'h', (byte)'2'])) },
                { "ALPN list shorter than the extension", Hello(Extension(ApplicationProtocols, [.. Vector16([2, (byte)'h', (byte)'2']), 0])) },
                { "extensions block longer than the message", Records(Message(extensionsBlock: [0, 10, 0, 0, 0, 0])) },
                { "bytes after the extensions block", Records(Message(extensionsBlock: [0, 4, 0, 0xAA, 0, 0, 0xFF])) },
                { "extension longer than the block", Records(Message(extensionsBlock: [0, 4, 0, 0, 0, 9])) },
                { "half an extension header", Records(Message(extensionsBlock: [0, 2, 0, 0])) },
                { "extensions length cut short", Records(Message(extensionsBlock: [0])) },
                { "ServerHello, not ClientHello", Records(Message(messageType: 2)) },
                { "legacy version 2.0", Records(Message(legacyVersion: 0x0200)) },
                { "33-byte session id", Records(Message(sessionIdLength: 33)) },
                { "odd cipher suites length", Records(Message(cipherSuites: [0x13, 0x01, 0x13])) },
                { "no cipher suites", Records(Message(cipherSuites: [])) },
                { "no compression methods", Records(Message(compressionMethods: [])) },
                { "message shorter than its fields", Records([1, 0, 0, 10, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0]) },
                { "empty message", Records([1, 0, 0, 0]) },
                { "zero-length record", [22, 3, 1, 0, 0] },
                { "record longer than 2^14", [22, 3, 1, 0x40, 0x01] },
                { "handshake message longer than the bound", [22, 3, 1, 0, 4, 1, 1, 0, 0] },
                { "bytes after the ClientHello in its record", AppendToRecord(Records(valid), [1, 2, 3]) },
                { "a later record that is not a handshake", [.. Records(valid, 10)[..15], 23, .. Records(valid, 10)[16..]] },
                { "a later record with version 2", [.. Records(valid, 10)[..16], 2, .. Records(valid, 10)[17..]] },
                { "a later zero-length record", [.. Records(valid[..10], 10), 22, 3, 1, 0, 0] },
            };
        }
    }

    [Theory]
    [MemberData(nameof(MalformedInputs))]
    public void Malformed_ClientHellos_are_refused(string name, byte[] bytes)
    {
        Assert.False(string.IsNullOrEmpty(name));
        Assert.Equal(ClientHelloParseStatus.Malformed, Parse(bytes).Status);
        Assert.Equal(ClientHelloParseStatus.Malformed, Parse(Bytewise(bytes)).Status);
    }

    public static TheoryData<string, byte[], string?, string[], bool> WellFormedInputs => new()
    {
        { "no extensions at all", Records(Message(omitExtensions: true)), null, [], false },
        { "empty extensions block", Hello(), null, [], false },
        { "SNI and ALPN", Hello(Sni("a.example"), Alpn("h2", "http/1.1")), "a.example", ["h2", "http/1.1"], false },
        { "raw, not canonical, server name", Hello(Sni("API.Example.COM.")), "API.Example.COM.", [], false },
        { "another name type before host_name", Hello(Sni((7, "whatever \0"), (0, "a.example"))), "a.example", [], false },
        { "only another name type", Hello(Sni((1, "x"))), null, [], false },
        { "ALPN bytes outside ASCII", Hello(Alpn("h2", "\u00FF\u0001")), null, ["h2", "\u00FF\u0001"], false },
        { "ECH offered", Hello(Extension(EncryptedClientHello, [0, 1, 2]), Sni("public.example")), "public.example", [], true },
        { "unknown and GREASE extensions", Hello(Extension(0x0A0A, []), Sni("a.example"), Extension(0xFFFF, [1, 2, 3])), "a.example", [], false },
        { "record version 3.0", Records(Message(Sni("a.example")), minor: 0), "a.example", [], false },
        { "record version 3.4", Records(Message(Sni("a.example")), minor: 4), "a.example", [], false },
        { "legacy version 3.1", Records(Message(Sni("a.example"), legacyVersion: 0x0301)), "a.example", [], false },
        { "empty session id", Records(Message(Sni("a.example"), sessionIdLength: 0)), "a.example", [], false },
    };

    [Theory]
    [MemberData(nameof(WellFormedInputs))]
    public void Well_formed_edge_cases_parse(string name, byte[] bytes, string? serverName, string[] protocols, bool encryptedHello)
    {
        Assert.False(string.IsNullOrEmpty(name));
        var (status, hello) = Parse(bytes);
        Assert.Equal(ClientHelloParseStatus.Parsed, status);
        Assert.Equal(serverName, hello!.ServerName);
        Assert.Equal(protocols, hello.ApplicationProtocols);
        Assert.Equal(encryptedHello, hello.HasEncryptedClientHello);
        Assert.Equal(bytes.Length, hello.RecordLength);
    }

    [Theory]
    [InlineData(ClientHello.MaxClientHelloBytes, ClientHelloParseStatus.Parsed)]
    [InlineData(ClientHello.MaxClientHelloBytes + 1, ClientHelloParseStatus.Malformed)]
    public void The_size_bound_counts_record_headers(int total, ClientHelloParseStatus expected)
    {
        // Four full-size records: total = message + 4 * 5 header bytes.
        var messageLength = total - 20;
        var withoutPadding = Message(Concat(Sni("a.example"), Extension(Padding, [])));
        var padding = messageLength - withoutPadding.Length;
        var bytes = Records(Message(Concat(Sni("a.example"), Extension(Padding, new byte[padding]))));
        Assert.Equal(total, bytes.Length);

        var (status, hello) = Parse(bytes);
        Assert.Equal(expected, status);
        if (expected == ClientHelloParseStatus.Parsed)
        {
            Assert.Equal("a.example", hello!.ServerName);
        }
    }

    [Fact]
    public void Random_mutations_of_a_real_ClientHello_never_throw()
    {
        var random = new Random(20240611);
        var original = Captured.Value;
        var fragmented = Records(original[5..], 97);
        var seen = new HashSet<ClientHelloParseStatus>();
        for (var i = 0; i < 4000; i++)
        {
            var bytes = Mutate(random, i % 2 == 0 ? original : fragmented);
            seen.Add(ParseEverySplit(random, bytes));
        }

        Assert.Contains(ClientHelloParseStatus.Malformed, seen);
        Assert.Contains(ClientHelloParseStatus.Parsed, seen);
        Assert.Contains(ClientHelloParseStatus.Incomplete, seen);
    }

    [Fact]
    public void Random_garbage_never_throws()
    {
        var random = new Random(7);
        for (var i = 0; i < 3000; i++)
        {
            var bytes = new byte[random.Next(0, 600)];
            random.NextBytes(bytes);
            if (i % 2 == 0 && bytes.Length >= 9)
            {
                // Look like a handshake record holding a ClientHello so the parser gets past the first checks.
                bytes[0] = 22;
                bytes[1] = 3;
                bytes[2] = (byte)random.Next(0, 5);
                bytes[3] = (byte)((bytes.Length - 5) >> 8);
                bytes[4] = (byte)(bytes.Length - 5);
                bytes[5] = 1;
                bytes[6] = 0;
                bytes[7] = (byte)((bytes.Length - 9) >> 8);
                bytes[8] = (byte)(bytes.Length - 9);
            }

            ParseEverySplit(random, bytes);
        }
    }

    private static ClientHelloParseStatus ParseEverySplit(Random random, byte[] bytes)
    {
        var (status, hello) = Parse(bytes);
        if (hello is not null)
        {
            Assert.InRange(hello.RecordLength, 1, Math.Min(bytes.Length, ClientHello.MaxClientHelloBytes));
        }

        var cut = Split(bytes, random.Next(0, bytes.Length + 1), random.Next(0, bytes.Length + 1));
        var (splitStatus, splitHello) = Parse(cut);
        Assert.Equal(status, splitStatus);
        Assert.Equal(hello?.ServerName, splitHello?.ServerName);
        return status;
    }

    private static byte[] Mutate(Random random, byte[] original)
    {
        var bytes = original.ToList();
        var mutations = random.Next(1, 4);
        for (var m = 0; m < mutations && bytes.Count > 0; m++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(5))
            {
                case 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 1:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 2:
                    bytes.RemoveRange(at, random.Next(1, Math.Min(8, bytes.Count - at) + 1));
                    break;
                case 3:
                    bytes.InsertRange(at, Enumerable.Range(0, random.Next(1, 8)).Select(_ => (byte)random.Next(256)));
                    break;
                default:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
            }
        }

        return [.. bytes];
    }

    private static byte[] AppendToRecord(byte[] record, byte[] extra)
    {
        var length = ((record[3] << 8) | record[4]) + extra.Length;
        return [record[0], record[1], record[2], (byte)(length >> 8), (byte)length, .. record[5..], .. extra];
    }
}
