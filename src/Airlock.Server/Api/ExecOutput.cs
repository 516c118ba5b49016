using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Airlock.Server.Api;

/// <summary>
/// A streamed exec's response: each chunk of output becomes one NDJSON line (or SSE event) written and flushed
/// at once, so a client sees output as the command writes it. Writes are serialised (a driver may write both
/// streams from different tasks) and always whole: they heed only the client's going away, never the command's
/// timeout, so a timeout cannot cut a line in half before the last line says what happened.
/// </summary>
internal sealed class ExecEventWriter : IDisposable
{
    private readonly Stream _body;
    private readonly bool _sse;
    private readonly CancellationToken _aborted;
    private readonly SemaphoreSlim _lock = new(1, 1);

    public ExecEventWriter(Stream body, bool sse, CancellationToken aborted)
    {
        _body = body;
        _sse = sse;
        _aborted = aborted;
        Stdout = new ChunkStream(this, "stdout");
        Stderr = new ChunkStream(this, "stderr");
    }

    public Stream Stdout { get; }

    public Stream Stderr { get; }

    /// <summary>Whether a write to the client failed (it went away): nothing more can reach it.</summary>
    public bool Failed { get; private set; }

    public ValueTask WriteEndAsync(ExecEnd end) => WriteAsync("exit", end, ExecJsonContext.Default.ExecEnd);

    public void Dispose()
    {
        _lock.Dispose();
        Stdout.Dispose();
        Stderr.Dispose();
    }

    private async ValueTask WriteAsync<T>(string name, T value, JsonTypeInfo<T> type)
    {
        var line = new ArrayBufferWriter<byte>(256);
        if (_sse)
        {
            line.Write(Encoding.UTF8.GetBytes($"event: {name}\ndata: "));
        }

        using (var json = new Utf8JsonWriter(line))
        {
            JsonSerializer.Serialize(json, value, type);
        }

        line.Write(_sse ? "\n\n"u8 : "\n"u8);
        await _lock.WaitAsync(_aborted).ConfigureAwait(false);
        try
        {
            await _body.WriteAsync(line.WrittenMemory, _aborted).ConfigureAwait(false);
            await _body.FlushAsync(_aborted).ConfigureAwait(false);
        }
        catch
        {
            Failed = true;
            throw;
        }
        finally
        {
            _lock.Release();
        }
    }

    private sealed class ChunkStream(ExecEventWriter writer, string name) : WriteOnlyStream
    {
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            buffer.IsEmpty ? ValueTask.CompletedTask : writer.WriteAsync(name, new ExecChunk(name, buffer.ToArray()), ExecJsonContext.Default.ExecChunk);
    }
}

/// <summary>Keeps the first <c>limit</c> bytes written to it and counts the rest away.</summary>
internal sealed class CappedBuffer(int limit) : WriteOnlyStream
{
    private readonly MemoryStream _kept = new();

    /// <summary>Whether bytes past the limit were dropped.</summary>
    public bool Truncated { get; private set; }

    /// <summary>What was kept.</summary>
    public ReadOnlySpan<byte> Bytes => _kept.GetBuffer().AsSpan(0, (int)_kept.Length);

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var room = limit - (int)_kept.Length;
        if (buffer.Length > room)
        {
            Truncated = true;
            buffer = buffer[..room];
        }

        _kept.Write(buffer);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _kept.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// A request body the driver reads: when reading it fails (too large, the client went away), the driver's call is
/// cancelled, since a driver may take a failed read for the sandbox's refusal and wait for an answer that never comes.
/// </summary>
internal sealed class GuardedRequestBody(Stream inner, CancellationTokenSource cancel) : Stream
{
    /// <summary>Why reading the body failed, if it did.</summary>
    public Exception? Failure { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("asynchronous reads only");

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            Failure ??= e;
            await cancel.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>The parts of <see cref="Stream"/> every write-only stream here shares.</summary>
internal abstract class WriteOnlyStream : Stream
{
    public override bool CanRead => false;

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

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("asynchronous writes only");

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public abstract override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default);
}
