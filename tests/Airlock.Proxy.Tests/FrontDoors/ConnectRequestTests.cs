using System.Buffers;
using System.Text;
using Airlock.Proxy.FrontDoors;

namespace Airlock.Proxy.Tests.FrontDoors;

public class ConnectRequestTests
{
    [Theory]
    [InlineData("CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n", "api.example.com", 443)]
    [InlineData("CONNECT API.Example.COM.:443 HTTP/1.1\r\n\r\n", "api.example.com", 443)]
    [InlineData("CONNECT 127.1:8443 HTTP/1.1\r\n\r\n", "127.0.0.1", 8443)]
    [InlineData("CONNECT [::1]:22 HTTP/1.1\r\n\r\n", "::1", 22)]
    [InlineData("CONNECT [::ffff:10.0.0.1]:443 HTTP/1.0\r\nProxy-Connection: keep-alive\r\n\r\n", "10.0.0.1", 443)]
    [InlineData("CONNECT xn--bcher-kva.example:443 HTTP/1.1\r\nUser-Agent: curl/8\r\n\r\n", "xn--bcher-kva.example", 443)]
    public void Valid_connect_heads_parse_to_the_canonical_target(string head, string host, int port)
    {
        var status = ConnectRequest.TryParse(Sequence(head), out var request, out var error);

        Assert.Equal(ConnectParseStatus.Parsed, status);
        Assert.Null(error);
        Assert.Equal(host, request!.Host.Value);
        Assert.Equal(port, request.Port);
        Assert.Equal(Encoding.ASCII.GetByteCount(head), request.HeadLength);
    }

    [Theory]
    [InlineData("CONNECT api.example.com HTTP/1.1\r\n\r\n", "explicit port")]
    [InlineData("CONNECT api.example.com: HTTP/1.1\r\n\r\n", "port")]
    [InlineData("CONNECT api.example.com:0 HTTP/1.1\r\n\r\n", "1 to 65535")]
    [InlineData("CONNECT api.example.com:65536 HTTP/1.1\r\n\r\n", "1 to 65535")]
    [InlineData("CONNECT api.example.com:+443 HTTP/1.1\r\n\r\n", "1 to 65535")]
    [InlineData("CONNECT api.example.com:443:443 HTTP/1.1\r\n\r\n", "brackets")]
    [InlineData("CONNECT ::1:443 HTTP/1.1\r\n\r\n", "brackets")]
    [InlineData("CONNECT [::1] HTTP/1.1\r\n\r\n", "host:port")]
    [InlineData("CONNECT https://api.example.com:443 HTTP/1.1\r\n\r\n", "")]
    [InlineData("CONNECT /path HTTP/1.1\r\n\r\n", "port")]
    [InlineData("CONNECT user@api.example.com:443 HTTP/1.1\r\n\r\n", "")]
    [InlineData("CONNECT exa%6dple.com:443 HTTP/1.1\r\n\r\n", "")]
    [InlineData("CONNECT 1.2.3.256:443 HTTP/1.1\r\n\r\n", "")]
    [InlineData("CONNECT  api.example.com:443 HTTP/1.1\r\n\r\n", "request line")]
    [InlineData("CONNECT api.example.com:443 HTTP/2\r\n\r\n", "request line")]
    [InlineData("CONNECT api.example.com:443\r\n\r\n", "request line")]
    [InlineData("connect api.example.com:443 HTTP/1.1\r\n\r\n", "request line")]
    [InlineData("CONNECT api.example.com:443 HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "obs-fold")]
    [InlineData("CONNECT api.example.com:443 HTTP/1.1\r\nNo colon here\r\n\r\n", "")]
    [InlineData("CONNECT api.example.com:443 HTTP/1.1\r\nBad Name: x\r\n\r\n", "token")]
    [InlineData("CONNECT api.example.com:443 HTTP/1.1\r\nX: a\u0001b\r\n\r\n", "control")]
    public void Malformed_connect_heads_are_refused_with_a_reason(string head, string fragment)
    {
        var status = ConnectRequest.TryParse(Sequence(head), out var request, out var error);

        Assert.Equal(ConnectParseStatus.Malformed, status);
        Assert.Null(request);
        Assert.NotNull(error);
        Assert.Contains(fragment, error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unfinished_head_asks_for_more_until_the_limit()
    {
        Assert.Equal(ConnectParseStatus.Incomplete, ConnectRequest.TryParse(Sequence("CONNECT api.example.com:443 HTTP/1.1\r\nHost: x\r\n"), out _, out _));

        var endless = "CONNECT api.example.com:443 HTTP/1.1\r\n" + new string('a', ConnectRequest.MaxHeadBytes);
        Assert.Equal(ConnectParseStatus.TooLarge, ConnectRequest.TryParse(Sequence(endless), out _, out _));
    }

    [Fact]
    public void Too_many_headers_are_refused()
    {
        var head = "CONNECT api.example.com:443 HTTP/1.1\r\n" + string.Concat(Enumerable.Range(0, ConnectRequest.MaxHeaderCount + 1).Select(i => $"X-{i}: 1\r\n")) + "\r\n";

        Assert.Equal(ConnectParseStatus.TooLarge, ConnectRequest.TryParse(Sequence(head), out _, out _));
    }

    [Fact]
    public void Bytes_after_the_head_are_not_part_of_it()
    {
        const string head = "CONNECT api.example.com:443 HTTP/1.1\r\n\r\n";

        var status = ConnectRequest.TryParse(Sequence(head + "\u0016\u0003\u0001rest"), out var request, out _);

        Assert.Equal(ConnectParseStatus.Parsed, status);
        Assert.Equal(head.Length, request!.HeadLength);
    }

    [Fact]
    public void A_head_split_across_segments_parses_the_same()
    {
        const string head = "CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n";
        var bytes = Encoding.ASCII.GetBytes(head);
        for (var split = 1; split < bytes.Length; split++)
        {
            var status = ConnectRequest.TryParse(TwoSegments(bytes, split), out var request, out _);
            Assert.Equal(ConnectParseStatus.Parsed, status);
            Assert.Equal("api.example.com", request!.Host.Value);
        }
    }

    [Theory]
    [InlineData("", true)]
    [InlineData("CONN", true)]
    [InlineData("CONNECT ", true)]
    [InlineData("GET http://a/ HTTP/1.1", false)]
    [InlineData("CONNECTX", false)]
    public void Connect_is_recognised_from_its_first_bytes(string start, bool looksLikeConnect) =>
        Assert.Equal(looksLikeConnect, ConnectRequest.LooksLikeConnect(Sequence(start)));

    private static ReadOnlySequence<byte> Sequence(string text) => new(Encoding.Latin1.GetBytes(text));

    private static ReadOnlySequence<byte> TwoSegments(byte[] bytes, int split)
    {
        var first = new Segment(bytes.AsMemory(0, split), 0);
        var second = first.Append(bytes.AsMemory(split));
        return new ReadOnlySequence<byte>(first, 0, second, second.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
