namespace Airlock.Proxy.Control;

/// <summary>
/// A first-in first-out file of NDJSON lines: events wait here while the control plane is unreachable.
/// Lines are appended at the end, read from <see cref="Start"/> and consumed once sent; when everything is
/// consumed the file is truncated. The file is created 0600 and locked (two spools cannot share one file).
/// </summary>
/// <remarks>
/// Threading: <see cref="TryAppend"/>, <see cref="Consume"/> and <see cref="Prepend"/> are serialised by the
/// caller (one lock); <see cref="PeekLines"/> may run alongside <see cref="TryAppend"/>, from the one thread
/// that consumes. The read position lives in memory only: after a crash the whole file is sent again, so the
/// control plane de-duplicates events by <c>id</c> (at-least-once).
/// </remarks>
internal sealed class EventSpool : IDisposable
{
    private const int InitialReadBuffer = 64 * 1024;
    private const int ScanChunk = 1024 * 1024;

    private FileStream _file;
    private byte[] _readBuffer = new byte[InitialReadBuffer];
    private long _start;
    private long _end;

    private EventSpool(string path, long maxBytes, FileStream file, long length, long discarded)
    {
        Path = path;
        MaxBytes = maxBytes;
        _file = file;
        _end = length;
        DiscardedTailBytes = discarded;
    }

    /// <summary>The spool file's full path.</summary>
    public string Path { get; }

    /// <summary>Appends that would make the file larger than this are refused.</summary>
    public long MaxBytes { get; }

    /// <summary>Bytes dropped when the spool was opened: a line torn by a crash, or a line longer than the protocol allows and everything after it.</summary>
    public long DiscardedTailBytes { get; }

    /// <summary>Where the first line not yet consumed starts.</summary>
    public long Start => Volatile.Read(ref _start);

    /// <summary>The file's committed length.</summary>
    public long End => Volatile.Read(ref _end);

    /// <summary>Bytes written and not consumed.</summary>
    public long PendingBytes => End - Start;

    /// <summary>Opens or creates a spool, keeping the lines a previous run left.</summary>
    /// <param name="path">The file; its directory is created (0700) when missing.</param>
    /// <param name="maxBytes">The size bound.</param>
    /// <exception cref="IOException">The file cannot be opened, is locked by another spool, or is a symbolic link.</exception>
    /// <exception cref="UnauthorizedAccessException">The file or directory is not accessible.</exception>
    public static EventSpool Open(string path, long maxBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        string full = System.IO.Path.GetFullPath(path);
        string directory = System.IO.Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        if (new FileInfo(full).LinkTarget is not null)
        {
            throw new IOException($"The event spool '{full}' is a symbolic link; give the path of a regular file.");
        }

        FileStream file = OpenLocked(full, FileMode.OpenOrCreate);
        try
        {
            long length = file.Length;
            long valid = ValidPrefix(file, length);
            if (valid < length)
            {
                file.SetLength(valid);
            }

            return new EventSpool(full, maxBytes, file, valid, length - valid);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Appends one line (ending in <c>\n</c>) unless the file would grow past <see cref="MaxBytes"/>.</summary>
    /// <returns>False when the spool is full.</returns>
    /// <exception cref="IOException">The write failed (e.g. the disk is full); nothing was appended.</exception>
    public bool TryAppend(ReadOnlySpan<byte> line)
    {
        long end = _end;
        if (end + line.Length > MaxBytes)
        {
            return false;
        }

        try
        {
            RandomAccess.Write(_file.SafeFileHandle, line, end);
        }
        catch (IOException)
        {
            TryCutTo(end);
            throw;
        }

        Volatile.Write(ref _end, end + line.Length);
        return true;
    }

    /// <summary>
    /// Whole lines from <see cref="Start"/>: at least one when any is pending, up to 64 KiB (or one longer line).
    /// The memory is the spool's and is valid until the next call.
    /// </summary>
    public ReadOnlyMemory<byte> PeekLines()
    {
        long start = Start;
        long pending = End - start;
        if (pending <= 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        while (true)
        {
            int want = (int)Math.Min(pending, _readBuffer.Length);
            Span<byte> span = _readBuffer.AsSpan(0, want);
            ReadExactly(_file, span, start);
            int last = span.LastIndexOf((byte)'\n');
            if (last >= 0)
            {
                return _readBuffer.AsMemory(0, last + 1);
            }

            // Every committed line ends in '\n' and none is longer than the protocol allows (checked when
            // opened, refused when sent), so a buffer of one maximal line always ends in one.
            _readBuffer = new byte[Math.Min(_readBuffer.Length * 2, ControlProtocol.MaxLineBytes + 1)];
        }
    }

    /// <summary>Marks lines as sent; when nothing is left the file is truncated.</summary>
    /// <param name="bytes">Whole lines from <see cref="Start"/>, as returned by <see cref="PeekLines"/>.</param>
    public void Consume(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        long start = _start + bytes;
        if (start > _end)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), "Consumed past the end of the spool.");
        }

        if (start == _end)
        {
            _file.SetLength(0);
            Volatile.Write(ref _end, 0);
            start = 0;
            if (_readBuffer.Length > InitialReadBuffer)
            {
                _readBuffer = new byte[InitialReadBuffer];
            }
        }

        Volatile.Write(ref _start, start);
    }

    /// <summary>
    /// Puts lines in front of the pending ones (events that were in memory when the channel stopped, and are
    /// older than everything spooled) and drops the consumed prefix. May exceed <see cref="MaxBytes"/> by the
    /// lines given: they are older than what is spooled and are not thrown away.
    /// </summary>
    /// <exception cref="IOException">The rewrite failed; the spool is as it was.</exception>
    public void Prepend(IReadOnlyList<ReadOnlyMemory<byte>> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (_start == _end)
        {
            foreach (ReadOnlyMemory<byte> line in lines)
            {
                RandomAccess.Write(_file.SafeFileHandle, line.Span, _end);
                Volatile.Write(ref _end, _end + line.Length);
            }

            return;
        }

        if (lines.Count == 0 && _start == 0)
        {
            return;
        }

        // Write the new content beside the old file and rename it over: the old file stays intact until the
        // new one is complete, and the lock moves with the open handle.
        string temporary = Path + ".tmp";
        FileStream next = OpenLocked(temporary, FileMode.Create);
        long length = 0;
        try
        {
            foreach (ReadOnlyMemory<byte> line in lines)
            {
                RandomAccess.Write(next.SafeFileHandle, line.Span, length);
                length += line.Length;
            }

            byte[] buffer = new byte[ScanChunk];
            for (long offset = _start; offset < _end;)
            {
                int count = (int)Math.Min(buffer.Length, _end - offset);
                ReadExactly(_file, buffer.AsSpan(0, count), offset);
                RandomAccess.Write(next.SafeFileHandle, buffer.AsSpan(0, count), length);
                offset += count;
                length += count;
            }

            next.Flush(flushToDisk: true);
            File.Move(temporary, Path, overwrite: true);
        }
        catch
        {
            next.Dispose();
            TryDelete(temporary);
            throw;
        }

        _file.Dispose();
        _file = next;
        Volatile.Write(ref _start, 0);
        Volatile.Write(ref _end, length);
    }

    /// <summary>Forces what was written to the disk.</summary>
    public void Flush() => _file.Flush(flushToDisk: true);

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();

    private static FileStream OpenLocked(string path, FileMode mode)
    {
        var options = new FileStreamOptions
        {
            Mode = mode,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var file = new FileStream(path, options);
        if (!OperatingSystem.IsWindows())
        {
            // An existing file keeps its mode on open; events may carry hosts and paths, so no one else reads them.
            File.SetUnixFileMode(file.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return file;
    }

    /// <summary>The length of the leading run of whole lines of at most the protocol's line length.</summary>
    private static long ValidPrefix(FileStream file, long length)
    {
        byte[] buffer = new byte[(int)Math.Min(ScanChunk, Math.Max(length, 1))];
        long lineStart = 0;
        for (long offset = 0; offset < length;)
        {
            int count = (int)Math.Min(buffer.Length, length - offset);
            Span<byte> span = buffer.AsSpan(0, count);
            ReadExactly(file, span, offset);
            int index;
            int from = 0;
            while ((index = span[from..].IndexOf((byte)'\n')) >= 0)
            {
                long newline = offset + from + index;
                if (newline - lineStart > ControlProtocol.MaxLineBytes)
                {
                    return lineStart;
                }

                lineStart = newline + 1;
                from += index + 1;
            }

            offset += count;
            if (offset - lineStart > ControlProtocol.MaxLineBytes)
            {
                return lineStart;
            }
        }

        return lineStart;
    }

    private static void ReadExactly(FileStream file, Span<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            int read = RandomAccess.Read(file.SafeFileHandle, buffer, offset);
            if (read == 0)
            {
                throw new IOException("The event spool is shorter than its committed length; another process changed it.");
            }

            buffer = buffer[read..];
            offset += read;
        }
    }

    private void TryCutTo(long length)
    {
        try
        {
            _file.SetLength(length);
        }
        catch (IOException)
        {
            // Bytes past the committed length are overwritten by the next append and cut when the spool is opened.
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
