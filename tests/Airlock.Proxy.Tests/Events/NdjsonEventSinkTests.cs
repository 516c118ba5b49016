using System.Text;
using Airlock.Proxy.Events;
using Airlock.Proxy.Metrics;

namespace Airlock.Proxy.Tests.Events;

public sealed class NdjsonEventSinkTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("airlock-events-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Concurrent_publishers_get_every_event_written_as_one_valid_line()
    {
        const int Threads = 8;
        const int PerThread = 10_000;
        var path = Path.Combine(_directory, "events.ndjson");
        var sink = NdjsonEventSink.Open(path);

        var publishers = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                sink.Publish(SampleEvents.Numbered((t * PerThread) + i));
            }
        })).ToArray();
        await Task.WhenAll(publishers);
        await sink.DisposeAsync();

        var lines = await File.ReadAllLinesAsync(path);
        Assert.Equal(0, sink.Dropped);
        Assert.Equal(Threads * PerThread, lines.Length);
        var ids = lines.Select(line => EventJson.Parse(Encoding.UTF8.GetBytes(line)).Id).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(Threads * PerThread, ids.Count);
    }

    [Fact]
    public async Task A_new_file_is_created_with_mode_0600()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var path = Path.Combine(_directory, "new.ndjson");
        await using (var sink = NdjsonEventSink.Open(path))
        {
            sink.Publish(SampleEvents.Full());
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public async Task An_existing_file_is_appended_to()
    {
        var path = Path.Combine(_directory, "existing.ndjson");
        await File.WriteAllTextAsync(path, EventJson.ToJson(SampleEvents.Close()) + "\n");

        await using (var sink = NdjsonEventSink.Open(path))
        {
            sink.Publish(SampleEvents.Full());
        }

        var lines = await File.ReadAllLinesAsync(path);
        Assert.Equal([EventJson.ToJson(SampleEvents.Close()), EventJson.ToJson(SampleEvents.Full())], lines);
    }

    [Fact]
    public async Task Dispose_writes_everything_accepted_while_the_writer_was_stalled()
    {
        var stream = new GatedStream();
        var sink = new NdjsonEventSink(stream, ownsStream: false, capacity: 1_000);

        for (var i = 0; i < 500; i++)
        {
            sink.Publish(SampleEvents.Numbered(i));
        }

        var disposing = sink.DisposeAsync().AsTask();
        Assert.False(disposing.IsCompleted);
        stream.Open();
        await disposing;

        Assert.Equal(0, sink.Dropped);
        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"evt_{i}"), stream.Lines().Select(e => e.Id));
        Assert.False(stream.Disposed);
    }

    [Fact]
    public async Task A_full_channel_drops_and_counts_instead_of_blocking()
    {
        var stream = new GatedStream();
        var metrics = new ProxyMetrics();
        var sink = new NdjsonEventSink(stream, ownsStream: true, capacity: 10, metrics);

        sink.Publish(SampleEvents.Numbered(0));
        await stream.WaitForWriteAttemptsAsync(1);
        for (var i = 1; i <= 100; i++)
        {
            sink.Publish(SampleEvents.Numbered(i));
        }

        Assert.Equal(90, sink.Dropped);
        stream.Open();
        await sink.DisposeAsync();

        Assert.Equal(Enumerable.Range(0, 11).Select(i => $"evt_{i}"), stream.Lines().Select(e => e.Id));
        Assert.Contains($"airlock_events_dropped_total {sink.Dropped}\n", Exposition(metrics), StringComparison.Ordinal);
        Assert.True(stream.Disposed);
    }

    [Fact]
    public async Task Events_published_after_dispose_are_counted_as_dropped()
    {
        var stream = new GatedStream();
        stream.Open();
        var sink = new NdjsonEventSink(stream, ownsStream: false);
        await sink.DisposeAsync();

        sink.Publish(SampleEvents.Full());
        await sink.DisposeAsync();

        Assert.Equal(1, sink.Dropped);
        Assert.Empty(stream.Lines());
    }

    [Fact]
    public async Task A_failed_write_loses_its_batch_only()
    {
        var stream = new GatedStream { FailNextWrite = true };
        stream.Open();
        var sink = new NdjsonEventSink(stream, ownsStream: false);

        sink.Publish(SampleEvents.Numbered(1));
        await stream.WaitForWriteAttemptsAsync(1);
        sink.Publish(SampleEvents.Numbered(2));
        await sink.DisposeAsync();

        Assert.Equal(1, sink.Dropped);
        Assert.Equal(["evt_2"], stream.Lines().Select(e => e.Id));
    }

    [Fact]
    public async Task Standard_output_is_a_path()
    {
        await using var sink = NdjsonEventSink.Open(NdjsonEventSink.StandardOutputPath);

        Assert.Equal(0, sink.Dropped);
    }

    private static string Exposition(ProxyMetrics metrics)
    {
        using var writer = new StringWriter();
        metrics.WriteTo(writer);
        return writer.ToString();
    }

    /// <summary>A stream whose writes wait until it is opened (attempts are counted on entry); it can fail one write.</summary>
    private sealed class GatedStream : Stream
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly MemoryStream _written = new();
        private readonly Lock _lock = new();
        private int _writeAttempts;

        public bool FailNextWrite { get; set; }

        public bool Disposed { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public void Open() => _open.TrySetResult();

        public async Task WaitForWriteAttemptsAsync(int count)
        {
            while (Volatile.Read(ref _writeAttempts) < count)
            {
                await Task.Delay(5);
            }
        }

        public List<EgressEvent> Lines()
        {
            lock (_lock)
            {
                var text = Encoding.UTF8.GetString(_written.ToArray());
                Assert.True(text.Length == 0 || text.EndsWith('\n'));
                return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => EventJson.Parse(Encoding.UTF8.GetBytes(line)))];
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _writeAttempts);
            await _open.Task.WaitAsync(cancellationToken);
            if (FailNextWrite)
            {
                FailNextWrite = false;
                throw new IOException("No space left on device");
            }

            lock (_lock)
            {
                _written.Write(buffer.Span);
            }
        }

        public override void Write(byte[] buffer, int offset, int count) =>
            WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }
    }
}
