using Airlock.Sandboxes.Agent;

namespace Airlock.Sandboxes.Tests.Agent;

/// <summary>
/// The agent's file confinement, on real directories with real symlinks, FIFOs and /proc magic links. The
/// same checks run inside real sandboxes in <c>LocalSandboxTests</c>; these pin each rule down.
/// </summary>
public sealed class ConfinedFilesTests : IDisposable
{
    private const UnixFileMode Rw = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Rwxrx = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    private readonly DirectoryInfo _base = Directory.CreateTempSubdirectory("airlock-confined-");
    private readonly string _work;
    private readonly string _outside;
    private readonly ConfinedFiles _files;

    public ConfinedFilesTests()
    {
        _work = Directory.CreateDirectory(Path.Combine(_base.FullName, "work")).FullName;
        _outside = Directory.CreateDirectory(Path.Combine(_base.FullName, "outside")).FullName;
        File.WriteAllText(Path.Combine(_outside, "secret"), "canary-outside");
        _files = new ConfinedFiles(_work, []);
    }

    public void Dispose() => _base.Delete(recursive: true);

    [Fact]
    public async Task Uploads_land_under_the_workdir_with_their_mode_and_read_back()
    {
        Directory.CreateDirectory(Path.Combine(_work, "sub"));

        await UploadAsync("sub/tool.sh", "#!/bin/sh\necho hi\n", Rwxrx);

        Assert.Equal("#!/bin/sh\necho hi\n", await ReadAsync("sub/tool.sh"));
        Assert.Equal("#!/bin/sh\necho hi\n", await ReadAsync(Path.Combine(_work, "sub", "tool.sh")));
        Assert.Equal(Rwxrx, File.GetUnixFileMode(Path.Combine(_work, "sub", "tool.sh")));
        Assert.Empty(Directory.GetFiles(Path.Combine(_work, "sub"), ".*airlock-*"));
    }

    [Fact]
    public void Paths_outside_every_root_are_refused_before_any_open()
    {
        foreach (var path in new[] { "/etc/passwd", "../outside/secret", Path.Combine(_outside, "secret"), "/proc/self/environ", string.Empty })
        {
            var error = Assert.Throws<ConfinedFileException>(() => _files.OpenRead(path));
            Assert.DoesNotContain("canary", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_symlink_leading_out_is_not_followed_for_reading()
    {
        File.CreateSymbolicLink(Path.Combine(_work, "link"), Path.Combine(_outside, "secret"));
        File.CreateSymbolicLink(Path.Combine(_work, "relative"), "../outside/secret");
        Directory.CreateSymbolicLink(Path.Combine(_work, "dir"), _outside);

        foreach (var path in new[] { "link", "relative", "dir/secret" })
        {
            var error = Assert.Throws<ConfinedFileException>(() => _files.OpenRead(path));
            Assert.Contains("outside the sandbox's files", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_symlink_that_stays_inside_is_followed()
    {
        await File.WriteAllTextAsync(Path.Combine(_work, "real"), "inside");
        File.CreateSymbolicLink(Path.Combine(_work, "alias"), "real");

        Assert.Equal("inside", await ReadAsync("alias"));
    }

    [Fact]
    public async Task An_upload_replaces_a_symlink_instead_of_writing_through_it()
    {
        var target = Path.Combine(_outside, "secret");
        File.CreateSymbolicLink(Path.Combine(_work, "evil"), target);

        await UploadAsync("evil", "uploaded", Rw);

        Assert.Equal("canary-outside", await File.ReadAllTextAsync(target));
        Assert.Null(new FileInfo(Path.Combine(_work, "evil")).LinkTarget);
        Assert.Equal("uploaded", await File.ReadAllTextAsync(Path.Combine(_work, "evil")));
    }

    [Fact]
    public void An_upload_into_a_symlinked_directory_leading_out_is_refused()
    {
        Directory.CreateSymbolicLink(Path.Combine(_work, "dir"), _outside);

        Assert.Throws<ConfinedFileException>(() => _files.CreateUpload("dir/planted", Rw));
        Assert.False(File.Exists(Path.Combine(_outside, "planted")));
        Assert.Single(Directory.GetFiles(_outside));
    }

    [Fact]
    public void Magic_links_are_refused_even_inside_a_root()
    {
        var files = new ConfinedFiles(_work, ["/proc"]);

        var error = Assert.Throws<ConfinedFileException>(() => files.OpenRead("/proc/self/root/etc/passwd"));

        Assert.Contains("refused", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fifos_and_directories_are_not_files()
    {
        var fifo = Path.Combine(_work, "fifo");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo]))
        {
            mkfifo.WaitForExit();
        }

        Directory.CreateDirectory(Path.Combine(_work, "sub"));

        Assert.Contains("not a regular file", Assert.Throws<ConfinedFileException>(() => _files.OpenRead("fifo")).Message, StringComparison.Ordinal);
        Assert.Contains("is a directory", Assert.Throws<ConfinedFileException>(() => _files.OpenRead("sub")).Message, StringComparison.Ordinal);
        Assert.Contains("is a directory", Assert.Throws<ConfinedFileException>(() => _files.OpenRead(_work)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_abandoned_upload_leaves_the_target_as_it_was()
    {
        await File.WriteAllTextAsync(Path.Combine(_work, "keep"), "original");

        var upload = _files.CreateUpload("keep", Rw);
        await upload.Content.WriteAsync("partial"u8.ToArray());
        await upload.DisposeAsync();

        Assert.Equal("original", await File.ReadAllTextAsync(Path.Combine(_work, "keep")));
        Assert.Single(Directory.GetFiles(_work));
    }

    [Fact]
    public void A_missing_parent_directory_is_reported()
    {
        var error = Assert.Throws<ConfinedFileException>(() => _files.CreateUpload("no/such/dir/file", Rw));

        Assert.Contains("no such file or directory", error.Message, StringComparison.Ordinal);
    }

    private async Task UploadAsync(string path, string content, UnixFileMode mode)
    {
        var upload = _files.CreateUpload(path, mode);
        await using (upload)
        {
            await upload.Content.WriteAsync(System.Text.Encoding.UTF8.GetBytes(content));
            await upload.CommitAsync();
        }
    }

    private async Task<string> ReadAsync(string path)
    {
        await using var stream = _files.OpenRead(path);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }
}
