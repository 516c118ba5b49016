using System.Globalization;
using System.Text;
using Airlock.Sandboxes;

namespace Airlock.Kubernetes.Exec;

/// <summary>
/// Uploads and downloads through the exec API, streamed and size-capped, for any image with a POSIX shell and
/// coreutils or busybox (<c>sh</c>, <c>head</c>, <c>mv</c>, <c>cd</c>, <c>pwd -P</c>). Paths are confined to the
/// sandbox's writable roots: the directory part is resolved inside the pod (<c>cd … &amp;&amp; pwd -P</c>, so a
/// symlinked directory that leads out of the roots is refused), an upload is written to a new file there and
/// renamed over the target (a symlink at the target is replaced, not followed), and a download reads only a
/// regular file that is not a symlink. The pod holds no credentials (no service-account token, no CA key), so
/// what these checks protect is the contract, not a secret.
/// </summary>
public sealed class PodFiles(PodExec exec, IReadOnlyList<string> roots, long maxBytes)
{
    private const int OutsideExitCode = 90, NotAFileExitCode = 91, MissingDirectoryExitCode = 92, TooLargeExitCode = 93, TruncatedExitCode = 94;

    /// <summary>The default roots of a sandbox pod: its workspace and temporary volumes.</summary>
    public static IReadOnlyList<string> DefaultRoots { get; } = ["/workspace", "/tmp"];

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> in the pod.</summary>
    /// <exception cref="SandboxException">Outside the roots, over the cap, or the pod refused.</exception>
    public async Task UploadAsync(string @namespace, string pod, string container, string path, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var target = Confine(path);

        // The pod commits only a file of exactly the announced length: an upload cut short (the connection lost,
        // the caller gone) ends the command's input early and is dropped there, not renamed over the target.
        var (body, length) = await MeasureAsync(content, cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            var script = $$"""
                umask 022
                d=$(cd -- "$(dirname -- "$1")" 2>/dev/null && pwd -P) || exit {{MissingDirectoryExitCode}}
                {{RootCheck("$d/")}}
                t="$d/.airlock-upload-$$"
                head -c "$2" > "$t" || { rm -f -- "$t"; exit 1; }
                if [ "$(wc -c < "$t")" -ne "$2" ]; then rm -f -- "$t"; exit {{TruncatedExitCode}}; fi
                mv -f -- "$t" "$d/$(basename -- "$1")"
                """;
            using var stderr = new MemoryStream();
            var code = await exec.ExecAsync(@namespace, pod, container, ["sh", "-c", script, "sh", target, length.ToString(CultureInfo.InvariantCulture)], new ExecStreams(body, Stream.Null, stderr), cancellationToken).ConfigureAwait(false);
            Check(code, path, stderr);
        }
    }

    /// <summary>The content and its length: a seekable stream as it is, anything else read into memory up to the cap.</summary>
    private async Task<(Stream Body, long Length)> MeasureAsync(Stream content, CancellationToken cancellationToken)
    {
        if (content.CanSeek)
        {
            var length = content.Length - content.Position;
            return length > maxBytes ? throw TooLarge(content.Length) : (new CappedStream(content, length), length);
        }

        var buffer = new MemoryStream();
        await new CappedStream(content, maxBytes).CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        buffer.Position = 0;
        return (buffer, buffer.Length);
    }

    private SandboxException TooLarge(long length) =>
        new($"{length.ToString(CultureInfo.InvariantCulture)} bytes: over the {maxBytes.ToString(CultureInfo.InvariantCulture)}-byte limit for a file transfer");

    /// <summary>Reads the regular file at <paramref name="path"/> in the pod into <paramref name="destination"/>.</summary>
    /// <exception cref="SandboxException">Outside the roots, not a regular file, over the cap, or the pod refused.</exception>
    public async Task DownloadAsync(string @namespace, string pod, string container, string path, Stream destination, CancellationToken cancellationToken)
    {
        var target = Confine(path);
        var script = $$"""
            d=$(cd -- "$(dirname -- "$1")" 2>/dev/null && pwd -P) || exit {{MissingDirectoryExitCode}}
            {{RootCheck("$d/")}}
            f="$d/$(basename -- "$1")"
            if [ -L "$f" ] || [ ! -f "$f" ]; then exit {{NotAFileExitCode}}; fi
            if [ "$(wc -c < "$f")" -gt {{maxBytes}} ]; then exit {{TooLargeExitCode}}; fi
            exec cat -- "$f"
            """;
        using var stderr = new MemoryStream();
        var capped = new CappedStream(destination, maxBytes);
        var code = await exec.ExecAsync(@namespace, pod, container, ["sh", "-c", script, "sh", target], new ExecStreams(null, capped, stderr), cancellationToken).ConfigureAwait(false);
        Check(code, path, stderr);
    }

    /// <summary>Lexical confinement first: absolute, normalised, under a root; relative paths start at the first root.</summary>
    private string Confine(string path)
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\0', StringComparison.Ordinal) || path.Contains('\n', StringComparison.Ordinal))
        {
            throw new SandboxException("an empty or malformed path");
        }

        var full = Path.GetFullPath(path, roots[0]);
        if (!roots.Any(r => full.StartsWith(r.TrimEnd('/') + "/", StringComparison.Ordinal)))
        {
            throw new SandboxException($"{path}: outside the sandbox's files ({string.Join(", ", roots)})");
        }

        return full;
    }

    private string RootCheck(string variable) =>
        $"case \"{variable}\" in {string.Join("|", roots.Select(r => r.TrimEnd('/') + "/*"))}) ;; *) exit {OutsideExitCode};; esac";

    private void Check(int code, string path, MemoryStream stderr)
    {
        var detail = Encoding.UTF8.GetString(stderr.ToArray()).Trim();
        switch (code)
        {
            case 0:
                return;
            case OutsideExitCode:
                throw new SandboxException($"{path}: leads outside the sandbox's files ({string.Join(", ", roots)}); refused");
            case NotAFileExitCode:
                throw new SandboxException($"{path}: not a regular file (or a symlink); refused");
            case MissingDirectoryExitCode:
                throw new SandboxException($"{path}: no such directory");
            case TruncatedExitCode:
                throw new SandboxException($"{path}: the upload was cut short; the target is unchanged");
            case TooLargeExitCode:
                throw new SandboxException($"{path}: over the {maxBytes.ToString(CultureInfo.InvariantCulture)}-byte limit for a file transfer");
            default:
                throw new SandboxException($"{path}: failed in the pod (exit {code}){(detail.Length > 0 ? ": " + detail : string.Empty)}");
        }
    }

    /// <summary>Passes at most <c>limit</c> bytes through in either direction; past that it fails the transfer.</summary>
    private sealed class CappedStream(Stream inner, long limit) : Stream
    {
        private long _count;

        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => false;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _count; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, (int)Math.Min(count, limit - _count + 1)));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, limit - _count + 1)], cancellationToken).ConfigureAwait(false));

        public override void Write(byte[] buffer, int offset, int count)
        {
            Count(count);
            inner.Write(buffer, offset, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Count(buffer.Length);
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        private int Count(int count)
        {
            _count += count;
            return _count > limit ? throw new SandboxException($"a file transfer over the {limit.ToString(CultureInfo.InvariantCulture)}-byte limit") : count;
        }
    }
}
