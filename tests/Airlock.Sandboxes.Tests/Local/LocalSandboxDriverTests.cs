using System.Collections.Immutable;
using System.Text;
using Airlock.Sandboxes.Local;

namespace Airlock.Sandboxes.Tests.Local;

/// <summary>The local driver through its API, as the gateway will use it: real supervisor, sandbox and agent.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LocalSandboxDriverTests : IAsyncLifetime
{
    private DirectoryInfo _directory = null!;
    private LocalSandboxDriver _driver = null!;

    public Task InitializeAsync()
    {
        _directory = Directory.CreateDirectory(Path.Combine("/var/tmp", "al-drv-" + Guid.NewGuid().ToString("N")[..8]));
        _driver = new LocalSandboxDriver(new LocalDriverOptions
        {
            StateDirectory = Path.Combine(_directory.FullName, "state"),
            AirlockCommand = ["dotnet", Path.Combine(AppContext.BaseDirectory, "airlock.dll")],
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var sandbox in await _driver.ListAsync(CancellationToken.None))
        {
            await _driver.DeleteAsync(sandbox.Id, CancellationToken.None);
        }

        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Exec_streams_input_and_output_and_events_follow_until_the_sandbox_is_deleted()
    {
        var info = await _driver.CreateAsync(Spec(), CancellationToken.None);
        using var follow = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var events = CollectAsync(_driver.EventsAsync(info.Id, follow: true, follow.Token));
        using var stdout = new MemoryStream();
        using var stderr = new MemoryStream();
        using var stdin = new MemoryStream(Encoding.UTF8.GetBytes("line one\nline two\n"));

        var exit = await _driver.ExecAsync(
            info.Id,
            new ExecRequest { Command = ["sh", "-c", "wc -l; curl -s --max-time 10 http://followed.example/ >&2; exit 7"] },
            new ExecStreams(stdin, stdout, stderr),
            CancellationToken.None);
        await Task.Delay(500);
        var deleted = await _driver.DeleteAsync(info.Id, CancellationToken.None);
        var seen = await events;

        Assert.Equal(SandboxState.Running, info.State);
        Assert.Equal("local", info.Driver);
        Assert.Equal(7, exit);
        Assert.Equal("2", Encoding.UTF8.GetString(stdout.ToArray()).Trim());
        Assert.Contains("default_deny", Encoding.UTF8.GetString(stderr.ToArray()), StringComparison.Ordinal);
        Assert.True(deleted);
        Assert.Contains(seen, e => e.Host == "followed.example" && e.Decision == "deny");
        Assert.False(follow.IsCancellationRequested, "following did not end when the sandbox was deleted");
        Assert.Null(await _driver.GetAsync(info.Id, CancellationToken.None));
        Assert.False(await _driver.DeleteAsync(info.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Uploads_and_downloads_go_through_the_agent_and_refusals_are_sandbox_exceptions()
    {
        var info = await _driver.CreateAsync(Spec(), CancellationToken.None);
        var content = Encoding.UTF8.GetBytes("#!/bin/sh\necho from an uploaded script\n");

        await _driver.UploadAsync(info.Id, "/tmp/run.sh", new MemoryStream(content), UnixFileMode.UserRead | UnixFileMode.UserExecute, CancellationToken.None);
        using var output = new MemoryStream();
        var exit = await _driver.ExecAsync(info.Id, new ExecRequest { Command = ["/tmp/run.sh"] }, new ExecStreams(null, output, Stream.Null), CancellationToken.None);
        using var back = new MemoryStream();
        await _driver.DownloadAsync(info.Id, "/tmp/run.sh", back, CancellationToken.None);
        var outside = await Assert.ThrowsAsync<SandboxException>(() => _driver.UploadAsync(info.Id, "/etc/planted", new MemoryStream(content), UnixFileMode.UserRead, CancellationToken.None));
        var missing = await Assert.ThrowsAsync<SandboxException>(() => _driver.DownloadAsync(info.Id, "nope", Stream.Null, CancellationToken.None));
        var unknown = await Assert.ThrowsAsync<SandboxException>(() => _driver.DownloadAsync("sb-0123456789", "x", Stream.Null, CancellationToken.None));

        Assert.Equal((0, "from an uploaded script\n"), (exit, Encoding.UTF8.GetString(output.ToArray())));
        Assert.Equal(content, back.ToArray());
        Assert.Contains("outside the sandbox's files", outside.Message, StringComparison.Ordinal);
        Assert.Contains("no such file", missing.Message, StringComparison.Ordinal);
        Assert.Contains("no sandbox", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_command_that_cannot_start_is_127_and_the_sandbox_stays_usable()
    {
        var info = await _driver.CreateAsync(Spec(), CancellationToken.None);
        using var stderr = new MemoryStream();

        var missing = await _driver.ExecAsync(info.Id, new ExecRequest { Command = ["/no/such/program"] }, new ExecStreams(null, Stream.Null, stderr), CancellationToken.None);
        var after = await _driver.ExecAsync(info.Id, new ExecRequest { Command = ["true"] }, new ExecStreams(null, Stream.Null, Stream.Null), CancellationToken.None);

        Assert.Equal(127, missing);
        Assert.Contains("cannot run '/no/such/program'", Encoding.UTF8.GetString(stderr.ToArray()), StringComparison.Ordinal);
        Assert.Equal(0, after);
    }

    [Fact]
    public async Task Cancelling_an_exec_kills_the_command()
    {
        var info = await _driver.CreateAsync(Spec(), CancellationToken.None);
        var marker = "airlock-cancel-" + Guid.NewGuid().ToString("N")[..8];
        using var cancel = new CancellationTokenSource();

        var running = _driver.ExecAsync(info.Id, new ExecRequest { Command = ["sh", "-c", $"sleep 300; echo {marker}"] }, new ExecStreams(null, Stream.Null, Stream.Null), cancel.Token);
        var seen = await WaitForCountAsync(info.Id, marker, 1);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        var gone = await WaitForCountAsync(info.Id, marker, 0);

        Assert.True(seen, "the command never showed up inside");
        Assert.True(gone, "the cancelled command is still running");
    }

    /// <summary>Polls, inside the sandbox, until exactly <paramref name="count"/> processes carry the marker.</summary>
    private async Task<bool> WaitForCountAsync(string id, string marker, int count)
    {
        for (var i = 0; i < 100; i++)
        {
            using var output = new MemoryStream();
            await _driver.ExecAsync(id, new ExecRequest { Command = ["sh", "-c", $"ps -eo args | grep -c '^sh -c sleep 300; echo {marker}' || true"] }, new ExecStreams(null, output, Stream.Null), CancellationToken.None);
            if (Encoding.UTF8.GetString(output.ToArray()).Trim() == count.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    private SandboxSpec Spec()
    {
        var workdir = Directory.CreateDirectory(Path.Combine(_directory.FullName, "work-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        return new SandboxSpec
        {
            PolicyText = "version: 1\negress:\n  - allow: example.com\n",
            PolicySource = "inline.yaml",
            WorkDirectory = workdir,
            Environment = ImmutableDictionary<string, string>.Empty,
        };
    }

    private static async Task<List<Airlock.Proxy.Events.EgressEvent>> CollectAsync(IAsyncEnumerable<Airlock.Proxy.Events.EgressEvent> events)
    {
        var list = new List<Airlock.Proxy.Events.EgressEvent>();
        try
        {
            await foreach (var e in events)
            {
                list.Add(e);
            }
        }
        catch (OperationCanceledException)
        {
            // Reported by the caller's assertion.
        }

        return list;
    }
}
