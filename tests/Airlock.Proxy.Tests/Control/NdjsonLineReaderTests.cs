using System.Text;
using Airlock.Proxy.Control;

namespace Airlock.Proxy.Tests.Control;

/// <summary>Framing only; a stream of bytes stands in for the connection (the channel tests use real sockets).</summary>
public class NdjsonLineReaderTests
{
    [Fact]
    public async Task Lines_are_split_on_line_feeds_and_a_partial_last_line_is_dropped()
    {
        var reader = new NdjsonLineReader(new MemoryStream(Encoding.UTF8.GetBytes("a\r\n\nbc\npartial")), 16);
        List<string> lines = [];
        while (true)
        {
            (LineReadStatus status, ReadOnlyMemory<byte> line) = await reader.ReadLineAsync(CancellationToken.None);
            if (status != LineReadStatus.Line)
            {
                Assert.Equal(LineReadStatus.EndOfStream, status);
                break;
            }

            lines.Add(Encoding.UTF8.GetString(line.Span));
        }

        Assert.Equal(["a\r", "", "bc"], lines);
    }

    [Theory]
    [InlineData(16, true)]
    [InlineData(17, false)]
    [InlineData(100_000, false)]
    public async Task A_line_over_the_limit_is_too_long_whether_or_not_its_end_has_arrived(int length, bool fits)
    {
        LineReadStatus expected = fits ? LineReadStatus.Line : LineReadStatus.TooLong;
        var complete = new NdjsonLineReader(new MemoryStream(Encoding.UTF8.GetBytes(new string('x', length) + "\n")), 16);
        Assert.Equal(expected, (await complete.ReadLineAsync(CancellationToken.None)).Status);

        var unterminated = new NdjsonLineReader(new MemoryStream(Encoding.UTF8.GetBytes(new string('x', length))), 16);
        Assert.Equal(expected == LineReadStatus.Line ? LineReadStatus.EndOfStream : expected, (await unterminated.ReadLineAsync(CancellationToken.None)).Status);
    }
}
