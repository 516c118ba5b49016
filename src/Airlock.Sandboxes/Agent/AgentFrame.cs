using System.Buffers.Binary;

namespace Airlock.Sandboxes.Agent;

/// <summary>What a frame of the agent protocol carries.</summary>
public enum FrameKind : byte
{
    /// <summary>Opens a channel: the payload is an <see cref="AgentRequest"/> in JSON.</summary>
    Open = 1,

    /// <summary>Bytes for the command's standard input.</summary>
    Stdin = 2,

    /// <summary>The command's standard input is closed.</summary>
    StdinEnd = 3,

    /// <summary>Bytes the command wrote to standard output.</summary>
    Stdout = 4,

    /// <summary>Bytes the command wrote to standard error.</summary>
    Stderr = 5,

    /// <summary>The command ended: the payload is an <see cref="ExitStatus"/> in JSON. Last frame of an exec.</summary>
    Exit = 6,

    /// <summary>File content (upload or download).</summary>
    Data = 7,

    /// <summary>The file content is complete.</summary>
    DataEnd = 8,

    /// <summary>The request failed: the payload is a UTF-8 message. Last frame of the channel.</summary>
    Error = 9,

    /// <summary>The requester went away or gave up: stop the command, drop the upload.</summary>
    Cancel = 10,

    /// <summary>The request succeeded: the payload is JSON (may be empty). Last frame of the channel.</summary>
    Ok = 11,
}

/// <summary>
/// One frame of the agent protocol: a channel number, a kind and a payload. Several requests share one link
/// (the supervisor's pipe to the agent), each on its own channel; a requester's own connection uses channel 0.
/// </summary>
/// <param name="Channel">The channel.</param>
/// <param name="Kind">The kind.</param>
/// <param name="Payload">The payload (at most <see cref="AgentFrame.MaxPayload"/> bytes).</param>
public readonly record struct AgentFrame(uint Channel, FrameKind Kind, ReadOnlyMemory<byte> Payload)
{
    /// <summary>The largest payload a frame may carry.</summary>
    public const int MaxPayload = 1024 * 1024;

    /// <summary>How much file or output data one frame carries at most when the sender chooses.</summary>
    public const int ChunkSize = 64 * 1024;

    /// <summary>Header size: channel (4), kind (1), length (4), big-endian.</summary>
    public const int HeaderSize = 9;

    /// <summary>Reads one frame, or null at a clean end of stream (before a header).</summary>
    /// <exception cref="InvalidDataException">A truncated frame, an unknown kind or an oversized payload.</exception>
    public static async ValueTask<AgentFrame?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var header = new byte[HeaderSize];
        var read = await stream.ReadAtLeastAsync(header, HeaderSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            return null;
        }

        if (read < HeaderSize)
        {
            throw new InvalidDataException("the agent link ended inside a frame header");
        }

        var channel = BinaryPrimitives.ReadUInt32BigEndian(header);
        var kind = (FrameKind)header[4];
        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5));
        if (!Enum.IsDefined(kind))
        {
            throw new InvalidDataException($"unknown frame kind {header[4]}");
        }

        if (length > MaxPayload)
        {
            throw new InvalidDataException($"a frame of {length} bytes is over the {MaxPayload}-byte limit");
        }

        var payload = new byte[length];
        if (length > 0)
        {
            await stream.ReadExactlyAsync(payload, cancellationToken).ConfigureAwait(false);
        }

        return new AgentFrame(channel, kind, payload);
    }

    /// <summary>Writes the frame's header and payload into one buffer.</summary>
    public byte[] Encode()
    {
        if (Payload.Length > MaxPayload)
        {
            throw new InvalidOperationException($"a frame of {Payload.Length} bytes is over the {MaxPayload}-byte limit");
        }

        var bytes = new byte[HeaderSize + Payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, Channel);
        bytes[4] = (byte)Kind;
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(5), (uint)Payload.Length);
        Payload.Span.CopyTo(bytes.AsSpan(HeaderSize));
        return bytes;
    }
}

/// <summary>Writes frames to a stream, one at a time, from any number of writers.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A SemaphoreSlim whose wait handle is never created holds nothing to dispose.")]
public sealed class FrameWriter(Stream stream)
{
    // Never disposed: without its wait handle a SemaphoreSlim holds nothing to release.
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Writes and flushes one frame.</summary>
    public async ValueTask WriteAsync(AgentFrame frame, CancellationToken cancellationToken = default)
    {
        var bytes = frame.Encode();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Writes a frame with a UTF-8 text payload.</summary>
    public ValueTask WriteTextAsync(uint channel, FrameKind kind, string text, CancellationToken cancellationToken = default) =>
        WriteAsync(new AgentFrame(channel, kind, System.Text.Encoding.UTF8.GetBytes(text)), cancellationToken);
}
