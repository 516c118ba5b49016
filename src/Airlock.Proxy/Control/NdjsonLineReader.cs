using System.Buffers;
using System.IO.Pipelines;

namespace Airlock.Proxy.Control;

/// <summary>What <see cref="NdjsonLineReader.ReadLineAsync"/> found.</summary>
internal enum LineReadStatus
{
    /// <summary>A whole line, without its <c>\n</c>.</summary>
    Line,

    /// <summary>The peer closed its side; a partial last line is dropped.</summary>
    EndOfStream,

    /// <summary>A line is longer than the limit: a protocol error, the connection is to be dropped.</summary>
    TooLong,
}

/// <summary>Splits a stream into <c>\n</c>-terminated lines of at most a given length, without buffering more than one line.</summary>
internal sealed class NdjsonLineReader
{
    private readonly PipeReader _pipe;
    private readonly int _maxLineBytes;
    private byte[] _line = new byte[4096];

    public NdjsonLineReader(Stream stream, int maxLineBytes)
    {
        _pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
        _maxLineBytes = maxLineBytes;
    }

    /// <summary>Reads the next line; the memory is valid until the next call.</summary>
    public async ValueTask<(LineReadStatus Status, ReadOnlyMemory<byte> Line)> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result = await _pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            SequencePosition? newline = buffer.PositionOf((byte)'\n');
            if (newline is not null)
            {
                ReadOnlySequence<byte> line = buffer.Slice(0, newline.Value);
                if (line.Length > _maxLineBytes)
                {
                    _pipe.AdvanceTo(buffer.Start);
                    return (LineReadStatus.TooLong, default);
                }

                int length = (int)line.Length;
                if (_line.Length < length)
                {
                    _line = new byte[Math.Max(length, _line.Length * 2)];
                }

                line.CopyTo(_line);
                _pipe.AdvanceTo(buffer.GetPosition(1, newline.Value));
                return (LineReadStatus.Line, _line.AsMemory(0, length));
            }

            if (buffer.Length > _maxLineBytes)
            {
                _pipe.AdvanceTo(buffer.Start);
                return (LineReadStatus.TooLong, default);
            }

            if (result.IsCompleted)
            {
                _pipe.AdvanceTo(buffer.End);
                return (LineReadStatus.EndOfStream, default);
            }

            _pipe.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Releases the pipe (the stream stays open).</summary>
    public void Complete() => _pipe.Complete();
}
