using System.Text;
using Airlock.Client.Sse;

namespace Airlock.Client.Tests.Sse;

public sealed class ServerSentEventReaderTests
{
    private static ServerSentEventReader Reader(string text, TimeSpan? idle = null) =>
        new(new MemoryStream(Encoding.UTF8.GetBytes(text)), idle ?? TimeSpan.FromSeconds(5));

    private static async Task<List<ServerSentEvent>> ReadAllAsync(ServerSentEventReader reader)
    {
        var events = new List<ServerSentEvent>();
        while (await reader.ReadAsync(CancellationToken.None) is { } e)
        {
            events.Add(e);
        }

        return events;
    }

    [Fact]
    public async Task Reads_fields_across_line_endings_and_skips_comments()
    {
        using var reader = Reader(": keep-alive\n\nid: 7\r\nevent: egress\r\ndata: {\"a\":1}\r\n\r\nid:8\rdata:x\rdata: y\r\r");

        var events = await ReadAllAsync(reader);

        Assert.Equal([new ServerSentEvent("7", "egress", "{\"a\":1}"), new ServerSentEvent("8", "message", "x\ny")], events);
        Assert.True(reader.ReceivedAnything);
    }

    [Fact]
    public async Task An_id_only_block_moves_the_id_and_the_id_carries_over()
    {
        using var reader = Reader("id: 41\n\ndata: a\n\n");

        var events = await ReadAllAsync(reader);

        Assert.Equal([new ServerSentEvent("41", "message", null), new ServerSentEvent("41", "message", "a")], events);
    }

    [Fact]
    public async Task An_unfinished_event_at_the_end_is_dropped()
    {
        using var reader = Reader("id: 1\ndata: complete\n\nid: 2\ndata: cut off");

        var events = await ReadAllAsync(reader);

        Assert.Equal("complete", Assert.Single(events).Data);
    }

    [Fact]
    public async Task A_silent_stream_times_out_but_cancellation_stays_cancellation()
    {
        using var pipe = new BlockingStream();
        using var reader = new ServerSentEventReader(pipe, TimeSpan.FromMilliseconds(200));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAsync<TimeoutException>(() => reader.ReadAsync(CancellationToken.None));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new ServerSentEventReader(new BlockingStream(), TimeSpan.FromSeconds(5)).ReadAsync(cancelled.Token));
    }

    /// <summary>A stream whose reads wait until cancelled, like a connection that went silent.</summary>
    internal class BlockingStream : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
