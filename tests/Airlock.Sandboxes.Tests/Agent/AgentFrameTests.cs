using System.Text;
using Airlock.Sandboxes.Agent;

namespace Airlock.Sandboxes.Tests.Agent;

public sealed class AgentFrameTests
{
    [Fact]
    public async Task Frames_round_trip_in_order_and_end_cleanly()
    {
        using var stream = new MemoryStream();
        var writer = new FrameWriter(stream);
        {
            await writer.WriteAsync(new AgentFrame(7, FrameKind.Open, new AgentRequest { Op = AgentRequest.Exec, Argv = ["sh", "-c", "true"] }.ToJson()));
            await writer.WriteTextAsync(7, FrameKind.Stdin, "héllo");
            await writer.WriteAsync(new AgentFrame(uint.MaxValue, FrameKind.StdinEnd, ReadOnlyMemory<byte>.Empty));
        }

        stream.Position = 0;
        var open = await AgentFrame.ReadAsync(stream, CancellationToken.None);
        var stdin = await AgentFrame.ReadAsync(stream, CancellationToken.None);
        var end = await AgentFrame.ReadAsync(stream, CancellationToken.None);
        var none = await AgentFrame.ReadAsync(stream, CancellationToken.None);

        Assert.Equal((7u, FrameKind.Open), (open!.Value.Channel, open.Value.Kind));
        Assert.Equal(["sh", "-c", "true"], AgentRequest.Parse(open.Value.Payload.Span, out _)!.Argv);
        Assert.Equal("héllo", Encoding.UTF8.GetString(stdin!.Value.Payload.Span));
        Assert.Equal((uint.MaxValue, FrameKind.StdinEnd, 0), (end!.Value.Channel, end.Value.Kind, end.Value.Payload.Length));
        Assert.Null(none);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 1, 4 }, "header")]
    [InlineData(new byte[] { 0, 0, 0, 1, 99, 0, 0, 0, 0 }, "unknown frame kind 99")]
    [InlineData(new byte[] { 0, 0, 0, 1, 4, 0x7f, 0xff, 0xff, 0xff }, "limit")]
    public async Task Malformed_frames_are_refused_not_trusted(byte[] bytes, string message)
    {
        using var stream = new MemoryStream(bytes);

        var error = await Assert.ThrowsAsync<InvalidDataException>(async () => await AgentFrame.ReadAsync(stream, CancellationToken.None));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_payload_cut_short_is_an_error()
    {
        var frame = new AgentFrame(1, FrameKind.Data, new byte[100]).Encode();
        using var stream = new MemoryStream(frame[..50]);

        await Assert.ThrowsAsync<EndOfStreamException>(async () => await AgentFrame.ReadAsync(stream, CancellationToken.None));
    }

    [Theory]
    [InlineData("{\"op\":")]
    [InlineData("[1,2]")]
    [InlineData("{\"argv\":[\"x\"]}")]
    public void Malformed_requests_get_a_reason(string json)
    {
        var request = AgentRequest.Parse(Encoding.UTF8.GetBytes(json), out var error);

        Assert.Null(request);
        Assert.False(string.IsNullOrEmpty(error));
    }
}
