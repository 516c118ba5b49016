using System.Text.Json.Nodes;
using Airlock.Kubernetes.Exec;
using Airlock.Kubernetes.Tests.Fakes;
using Airlock.Sandboxes;
using k8s;

namespace Airlock.Kubernetes.Tests.Exec;

/// <summary>
/// Uploads and downloads through exec against the FAKE API server, whose exec runs the shell script on this
/// machine: the roots are temporary directories standing in for the pod's /workspace and /tmp.
/// </summary>
public sealed class PodFilesTests : IAsyncLifetime, IDisposable
{
    private readonly DirectoryInfo _base = Directory.CreateTempSubdirectory("airlock-podfiles-");
    private FakeKubernetesApiServer _server = null!;
    private k8s.Kubernetes _client = null!;
    private PodFiles _files = null!;
    private string _workspace = null!;
    private string _outside = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeKubernetesApiServer.StartAsync();
        _client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _server.BaseAddress.ToString() });
        _server.Seed("pods", new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = new JsonObject { ["name"] = "agent", ["namespace"] = "team" } });
        _workspace = Directory.CreateDirectory(Path.Combine(_base.FullName, "workspace")).FullName;
        _outside = Directory.CreateDirectory(Path.Combine(_base.FullName, "outside")).FullName;
        await File.WriteAllTextAsync(Path.Combine(_outside, "secret"), "canary-outside");
        _files = new PodFiles(new PodExec(_client), [_workspace], maxBytes: 4096);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose()
    {
        _client.Dispose();
        _base.Delete(recursive: true);
    }

    [Fact]
    public async Task Files_go_in_and_come_out_byte_for_byte()
    {
        var content = new byte[3000];
        new Random(3).NextBytes(content);

        await _files.UploadAsync("team", "agent", "agent", "data.bin", new MemoryStream(content), CancellationToken.None);
        using var back = new MemoryStream();
        await _files.DownloadAsync("team", "agent", "agent", Path.Combine(_workspace, "data.bin"), back, CancellationToken.None);

        Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(_workspace, "data.bin")));
        Assert.Equal(content, back.ToArray());
        Assert.Single(Directory.GetFiles(_workspace));
    }

    [Fact]
    public async Task Symlinks_leading_out_are_refused_and_an_upload_replaces_a_planted_link()
    {
        File.CreateSymbolicLink(Path.Combine(_workspace, "leak"), Path.Combine(_outside, "secret"));
        Directory.CreateSymbolicLink(Path.Combine(_workspace, "hostdir"), _outside);

        var readLink = await Assert.ThrowsAsync<SandboxException>(() => _files.DownloadAsync("team", "agent", "agent", "leak", Stream.Null, CancellationToken.None));
        var readThroughDirectory = await Assert.ThrowsAsync<SandboxException>(() => _files.DownloadAsync("team", "agent", "agent", "hostdir/secret", Stream.Null, CancellationToken.None));
        var writeThroughDirectory = await Assert.ThrowsAsync<SandboxException>(() => _files.UploadAsync("team", "agent", "agent", "hostdir/planted", new MemoryStream("x"u8.ToArray()), CancellationToken.None));
        await _files.UploadAsync("team", "agent", "agent", "leak", new MemoryStream("replaced"u8.ToArray()), CancellationToken.None);

        Assert.Contains("not a regular file", readLink.Message, StringComparison.Ordinal);
        Assert.Contains("leads outside", readThroughDirectory.Message, StringComparison.Ordinal);
        Assert.Contains("leads outside", writeThroughDirectory.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_outside, "planted")));
        Assert.Equal("canary-outside", await File.ReadAllTextAsync(Path.Combine(_outside, "secret")));
        Assert.Equal("replaced", await File.ReadAllTextAsync(Path.Combine(_workspace, "leak")));
        Assert.Null(new FileInfo(Path.Combine(_workspace, "leak")).LinkTarget);
    }

    [Fact]
    public async Task Paths_outside_the_roots_never_reach_the_pod()
    {
        foreach (var path in new[] { "/etc/passwd", "../outside/secret", Path.Combine(_outside, "secret"), string.Empty, "bad\nname" })
        {
            await Assert.ThrowsAsync<SandboxException>(() => _files.DownloadAsync("team", "agent", "agent", path, Stream.Null, CancellationToken.None));
        }

        Assert.DoesNotContain(_server.Requests, r => r.Path.EndsWith("/exec", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Transfers_over_the_cap_are_refused_in_both_directions()
    {
        await File.WriteAllBytesAsync(Path.Combine(_workspace, "big"), new byte[5000]);

        var upload = await Assert.ThrowsAsync<SandboxException>(() => _files.UploadAsync("team", "agent", "agent", "too-big", new MemoryStream(new byte[5000]), CancellationToken.None));
        var download = await Assert.ThrowsAsync<SandboxException>(() => _files.DownloadAsync("team", "agent", "agent", "big", Stream.Null, CancellationToken.None));

        Assert.Contains("4096-byte limit", upload.Message, StringComparison.Ordinal);
        Assert.Contains("4096-byte limit", download.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_workspace, "too-big")));
        Assert.True(await NoTemporaryFilesAsync(), "a refused upload left its temporary file");
    }

    [Fact]
    public async Task An_upload_cut_short_leaves_the_target_as_it_was()
    {
        await File.WriteAllTextAsync(Path.Combine(_workspace, "keep"), "original");

        var error = await Assert.ThrowsAsync<IOException>(() => _files.UploadAsync("team", "agent", "agent", "keep", new FailingStream(1000), CancellationToken.None));

        Assert.Contains("connection lost", error.Message, StringComparison.Ordinal);
        Assert.Equal("original", await File.ReadAllTextAsync(Path.Combine(_workspace, "keep")));
        Assert.True(await NoTemporaryFilesAsync(), "the cut-short upload left its temporary file");
    }

    [Fact]
    public async Task A_missing_directory_is_reported()
    {
        var error = await Assert.ThrowsAsync<SandboxException>(() => _files.UploadAsync("team", "agent", "agent", "no/such/dir/file", new MemoryStream("x"u8.ToArray()), CancellationToken.None));

        Assert.Contains("no such directory", error.Message, StringComparison.Ordinal);
    }

    private async Task<bool> NoTemporaryFilesAsync()
    {
        for (var i = 0; i < 100; i++)
        {
            if (Directory.GetFiles(_workspace, ".airlock-upload-*").Length == 0)
            {
                return true;
            }

            await Task.Delay(50);
        }

        return false;
    }

    /// <summary>A seekable stream announcing <c>length</c> bytes that breaks halfway, like a lost connection.</summary>
    private sealed class FailingStream(long length) : MemoryStream(new byte[length])
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Position >= Length / 2 ? throw new IOException("connection lost") : ReadHalfAsync(buffer, cancellationToken);

        private ValueTask<int> ReadHalfAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer[..(int)Math.Min(buffer.Length, (Length / 2) - Position)], cancellationToken);
    }
}
