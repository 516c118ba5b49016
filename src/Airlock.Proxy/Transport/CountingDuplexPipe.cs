using System.Buffers;
using System.IO.Pipelines;

namespace Airlock.Proxy.Transport;

/// <summary>Wraps a connection's transport and counts the bytes read from and written to the client.</summary>
internal sealed class CountingDuplexPipe : IDuplexPipe
{
    private readonly CountingReader _reader;
    private readonly CountingWriter _writer;

    public CountingDuplexPipe(IDuplexPipe inner)
    {
        _reader = new CountingReader(inner.Input);
        _writer = new CountingWriter(inner.Output);
    }

    public PipeReader Input => _reader;

    public PipeWriter Output => _writer;

    /// <summary>Bytes consumed from the client.</summary>
    public long BytesIn => Interlocked.Read(ref _reader.Count);

    /// <summary>Bytes written to the client.</summary>
    public long BytesOut => Interlocked.Read(ref _writer.Count);

    private sealed class CountingReader(PipeReader inner) : PipeReader
    {
        public long Count;
        private ReadOnlySequence<byte> _last;

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            Interlocked.Add(ref Count, _last.Slice(_last.Start, consumed).Length);
            _last = default;
            inner.AdvanceTo(consumed, examined);
        }

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            var result = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
            _last = result.Buffer;
            return result;
        }

        public override bool TryRead(out ReadResult result)
        {
            if (!inner.TryRead(out result))
            {
                return false;
            }

            _last = result.Buffer;
            return true;
        }
    }

    private sealed class CountingWriter(PipeWriter inner) : PipeWriter
    {
        public long Count;

        public override void Advance(int bytes)
        {
            Interlocked.Add(ref Count, bytes);
            inner.Advance(bytes);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);
    }
}
