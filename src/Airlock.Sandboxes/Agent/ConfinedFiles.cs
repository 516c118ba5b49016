using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Airlock.Sandboxes.Agent;

/// <summary>A file operation the agent refused or could not carry out, with a message for the requester.</summary>
public sealed class ConfinedFileException(string message) : IOException(message);

/// <summary>
/// Opens files for upload and download inside the sandbox, confined to its writable roots (the workdir,
/// <c>/tmp</c>, the policy's <c>read_write</c> paths). Every path is resolved by the kernel with
/// <c>openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)</c> from the root it names, so a symlink (or <c>..</c>)
/// that leads out of that root, or a <c>/proc</c> magic link, is refused rather than followed; only regular
/// files are read, and an upload is written to a new file beside the target and renamed over it, so it never
/// writes through a symlink or into a FIFO or device.
/// </summary>
public sealed partial class ConfinedFiles
{
    private const long SysOpenat2 = 437;
    private const int OCreat = 0x40, OExcl = 0x80, ONoctty = 0x100, ONonblock = 0x800, OCloexec = 0x80000, OPath = 0x200000;
    private const ulong ResolveNoMagiclinks = 0x02, ResolveBeneath = 0x08;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1;
    private const int SIfmt = 0xF000, SIfreg = 0x8000, SIfdir = 0x4000;

    private static readonly int ODirectory = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000 : 0x10000;
    private static readonly int ONofollow = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    /// <summary>The rwx bits for owner, group and others; set-id and sticky bits are never uploaded.</summary>
    private const UnixFileMode PermissionBits = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly string _workDirectory;
    private readonly string[] _roots;

    /// <summary>Creates the confinement.</summary>
    /// <param name="workDirectory">The sandbox's workdir: relative paths start here.</param>
    /// <param name="roots">Every root files may be under (the workdir is added).</param>
    public ConfinedFiles(string workDirectory, IEnumerable<string> roots)
    {
        _workDirectory = Path.GetFullPath(workDirectory);
        _roots = [.. roots.Select(r => Path.TrimEndingDirectorySeparator(Path.GetFullPath(r))).Append(Path.TrimEndingDirectorySeparator(_workDirectory)).Distinct(StringComparer.Ordinal).OrderByDescending(r => r.Length)];
    }

    /// <summary>The roots files are confined to, longest first.</summary>
    public IReadOnlyList<string> Roots => _roots;

    /// <summary>Opens a regular file for reading.</summary>
    /// <exception cref="ConfinedFileException">Outside the roots, not a regular file, or the open failed.</exception>
    public FileStream OpenRead(string path)
    {
        var (root, relative) = Split(path);
        if (relative.Length == 0)
        {
            throw new ConfinedFileException($"{path}: is a directory");
        }

        using var rootHandle = OpenRoot(root);
        var handle = OpenBeneath(rootHandle, relative, ONonblock | ONoctty | OCloexec, 0, path);
        try
        {
            RequireType(handle, SIfreg, path, "not a regular file");
            return new FileStream(handle, FileAccess.Read, bufferSize: 0);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Starts an upload: a new file beside the target, renamed over it by <see cref="Upload.CommitAsync"/>.</summary>
    /// <exception cref="ConfinedFileException">Outside the roots, the directory is missing, or the create failed.</exception>
    public Upload CreateUpload(string path, UnixFileMode mode)
    {
        var (root, relative) = Split(path);
        var name = Path.GetFileName(relative);
        if (name.Length == 0 || name is "." or "..")
        {
            throw new ConfinedFileException($"{path}: names a directory, not a file");
        }

        var parent = Path.GetDirectoryName(relative) is { Length: > 0 } directory ? directory : ".";
        using var rootHandle = OpenRoot(root);
        var parentHandle = OpenBeneath(rootHandle, parent, OPath | ODirectory | OCloexec, 0, path);
        try
        {
            var temporary = $".{name}.airlock-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
            var file = OpenBeneath(parentHandle, temporary, 1 /* O_WRONLY */ | OCreat | OExcl | ONofollow | ONoctty | OCloexec, (uint)(UnixFileMode.UserRead | UnixFileMode.UserWrite), path);
            if (Native.Fchmod(file, (uint)(mode & PermissionBits)) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                file.Dispose();
                _ = Native.Unlinkat(parentHandle, temporary, 0);
                throw Failure(path, errno);
            }

            return new Upload(parentHandle, temporary, name, new FileStream(file, FileAccess.Write, bufferSize: 0), path);
        }
        catch
        {
            parentHandle.Dispose();
            throw;
        }
    }

    /// <summary>Which root a path is under, and the rest of it (empty for the root itself).</summary>
    private (string Root, string Relative) Split(string path)
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ConfinedFileException("an empty or malformed path");
        }

        var full = Path.GetFullPath(path, _workDirectory);
        foreach (var root in _roots)
        {
            if (full == root)
            {
                return (root, string.Empty);
            }

            var prefix = root == "/" ? root : root + "/";
            if (full.StartsWith(prefix, StringComparison.Ordinal))
            {
                return (root, full[prefix.Length..]);
            }
        }

        throw new ConfinedFileException($"{path}: outside the sandbox's files ({string.Join(", ", _roots.Reverse())})");
    }

    private static SafeFileHandle OpenRoot(string root)
    {
        var handle = new SafeFileHandle((IntPtr)Native.Open(root, OPath | ODirectory | OCloexec, 0), ownsHandle: true);
        if (handle.IsInvalid)
        {
            throw Failure(root, Marshal.GetLastPInvokeError());
        }

        return handle;
    }

    private static SafeFileHandle OpenBeneath(SafeFileHandle directory, string relative, int flags, uint mode, string shownPath)
    {
        var how = new OpenHow { Flags = (ulong)flags, Mode = mode, Resolve = ResolveBeneath | ResolveNoMagiclinks };
        var fd = Native.Openat2(SysOpenat2, directory, relative, ref how, (nuint)Marshal.SizeOf<OpenHow>());
        if (fd < 0)
        {
            throw Failure(shownPath, Marshal.GetLastPInvokeError());
        }

        return new SafeFileHandle((IntPtr)fd, ownsHandle: true);
    }

    private static void RequireType(SafeFileHandle handle, int type, string path, string otherwise)
    {
        var buffer = new byte[256];
        if (Native.Statx(handle, string.Empty, AtEmptyPath, StatxType, buffer) != 0)
        {
            throw Failure(path, Marshal.GetLastPInvokeError());
        }

        var fileMode = BitConverter.ToUInt16(buffer, 28);
        if ((fileMode & SIfmt) != type)
        {
            throw new ConfinedFileException($"{path}: {((fileMode & SIfmt) == SIfdir ? "is a directory" : otherwise)}");
        }
    }

    private static ConfinedFileException Failure(string path, int errno) => new(errno switch
    {
        2 => $"{path}: no such file or directory",
        18 => $"{path}: leads outside the sandbox's files (through a symlink or '..'); refused",
        40 => $"{path}: a symlink loop, or a link the sandbox may not follow; refused",
        1 or 13 => $"{path}: permission denied",
        30 => $"{path}: read-only inside the sandbox",
        20 => $"{path}: a parent is not a directory",
        21 => $"{path}: is a directory",
        6 => $"{path}: not a regular file",
        38 => "this kernel lacks openat2 (Linux 5.6 or later is needed for file transfers)",
        _ => $"{path}: {Marshal.GetPInvokeErrorMessage(errno)}",
    });

    /// <summary>An upload in progress: written to a temporary name, renamed over the target when complete.</summary>
    public sealed class Upload : IAsyncDisposable
    {
        private readonly SafeFileHandle _directory;
        private readonly string _temporary;
        private readonly string _name;
        private readonly string _shownPath;
        private bool _committed;

        internal Upload(SafeFileHandle directory, string temporary, string name, FileStream content, string shownPath)
        {
            _directory = directory;
            _temporary = temporary;
            _name = name;
            Content = content;
            _shownPath = shownPath;
        }

        /// <summary>Where the bytes go.</summary>
        public FileStream Content { get; }

        /// <summary>Flushes to disk and renames the file over the target (a symlink there is replaced, not followed).</summary>
        public async Task CommitAsync()
        {
            await Content.FlushAsync().ConfigureAwait(false);
            Content.Flush(flushToDisk: true);
            await Content.DisposeAsync().ConfigureAwait(false);
            if (Native.Renameat(_directory, _temporary, _directory, _name) != 0)
            {
                throw Failure(_shownPath, Marshal.GetLastPInvokeError());
            }

            _committed = true;
        }

        /// <summary>Drops an uncommitted upload.</summary>
        public async ValueTask DisposeAsync()
        {
            await Content.DisposeAsync().ConfigureAwait(false);
            if (!_committed)
            {
                _ = Native.Unlinkat(_directory, _temporary, 0);
            }

            _directory.Dispose();
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags, uint mode);

        [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Openat2(long number, SafeFileHandle directory, string path, ref OpenHow how, nuint size);

        [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Statx(SafeFileHandle directory, string path, int flags, uint mask, [Out] byte[] buffer);

        [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
        public static partial int Fchmod(SafeFileHandle file, uint mode);

        [LibraryImport("libc", EntryPoint = "renameat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Renameat(SafeFileHandle fromDirectory, string from, SafeFileHandle toDirectory, string to);

        [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Unlinkat(SafeFileHandle directory, string path, int flags);
    }
}
