using System.Buffers;
using System.Threading.Channels;
using Airlock.Proxy.Metrics;

namespace Airlock.Proxy.Events;

/// <summary>
/// Writes events as NDJSON to a file (appended, created 0600) or to standard output, without ever blocking
/// the publisher.
/// </summary>
/// <remarks>
/// <see cref="Publish"/> only offers the event to a bounded channel; one background task drains it, writes
/// each batch (up to 64 KiB) with one write and flushes it to the operating system. When the channel is full
/// the event is dropped and counted, never waited for. <see cref="DisposeAsync"/> stops accepting events,
/// writes everything already accepted and flushes the file to disk, so a graceful shutdown loses nothing.
/// </remarks>
public sealed class NdjsonEventSink : IEventSink, IAsyncDisposable
{
    /// <summary>The default channel capacity in events: about ten seconds of a very busy proxy.</summary>
    public const int DefaultCapacity = 100_000;

    /// <summary>The path that means standard output.</summary>
    public const string StandardOutputPath = "-";

    private const int MaxBatchBytes = 64 * 1024;

    private readonly Channel<EgressEvent> _channel;
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly ProxyMetrics? _metrics;
    private readonly Task _drain;
    private long _dropped;
    private int _closed;

    /// <summary>Creates a sink writing to <paramref name="stream"/>.</summary>
    /// <param name="stream">A writable stream; written by one background task only.</param>
    /// <param name="ownsStream">Whether <see cref="DisposeAsync"/> disposes the stream.</param>
    /// <param name="capacity">How many events may wait to be written before new ones are dropped.</param>
    /// <param name="metrics">Where drops are also counted (<c>airlock_events_dropped_total</c>), if anywhere.</param>
    public NdjsonEventSink(Stream stream, bool ownsStream, int capacity = DefaultCapacity, ProxyMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        if (!stream.CanWrite)
        {
            throw new ArgumentException("The stream is not writable.", nameof(stream));
        }

        _stream = stream;
        _ownsStream = ownsStream;
        _metrics = metrics;

        // Wait mode makes TryWrite return false when full, which is what lets drops be counted;
        // Publish never calls the waiting WriteAsync.
        _channel = Channel.CreateBounded<EgressEvent>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        _drain = Task.Run(DrainAsync);
    }

    /// <summary>Events not written: published while the channel was full or after disposal, or lost in a failed write.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Opens a sink on a file, appending, or on standard output when <paramref name="path"/> is <c>-</c>.
    /// A new file is created with mode 0600 (owner read and write) on Unix; an existing file keeps its mode.
    /// </summary>
    /// <param name="path">A file path, or <c>-</c> for standard output.</param>
    /// <param name="capacity">How many events may wait to be written before new ones are dropped.</param>
    /// <param name="metrics">Where drops are also counted, if anywhere.</param>
    public static NdjsonEventSink Open(string path, int capacity = DefaultCapacity, ProxyMetrics? metrics = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (path == StandardOutputPath)
        {
            return new NdjsonEventSink(Console.OpenStandardOutput(), ownsStream: false, capacity, metrics);
        }

        var options = new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.Read,

            // Batches are already one write each; a FileStream buffer would only copy them again.
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new NdjsonEventSink(new FileStream(path, options), ownsStream: true, capacity, metrics);
    }

    /// <inheritdoc/>
    public void Publish(EgressEvent egressEvent)
    {
        ArgumentNullException.ThrowIfNull(egressEvent);
        if (!_channel.Writer.TryWrite(egressEvent))
        {
            CountDropped(1);
        }
    }

    /// <summary>Stops accepting events, writes every accepted one, flushes to disk and closes an owned stream.</summary>
    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _drain.ConfigureAwait(false);
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        try
        {
            if (_stream is FileStream file)
            {
                file.Flush(flushToDisk: true);
            }
        }
        catch (IOException)
        {
            // Every batch already reached the operating system; only the fsync failed.
        }

        if (_ownsStream)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task DrainAsync()
    {
        var reader = _channel.Reader;
        var batch = new ArrayBufferWriter<byte>(MaxBatchBytes + 4096);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var count = 0;
            while (batch.WrittenCount < MaxBatchBytes && reader.TryRead(out var egressEvent))
            {
                EventJson.Write(batch, egressEvent);
                count++;
            }

            try
            {
                await _stream.WriteAsync(batch.WrittenMemory).ConfigureAwait(false);
                await _stream.FlushAsync().ConfigureAwait(false);
            }
            catch (IOException)
            {
                // Disk full, a closed pipe: the batch is lost, counted, and the sink keeps draining so
                // publishers never see a full channel because of a dead writer.
                CountDropped(count);
            }

            batch.ResetWrittenCount();
        }
    }

    private void CountDropped(long count)
    {
        Interlocked.Add(ref _dropped, count);
        _metrics?.AddEventsDropped(count);
    }
}
