using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Airlock.Client.Tests;

/// <summary>Exec (streamed and buffered) and files through the SDK, in a real local sandbox behind a real gateway.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ExecAndFilesTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    private AirlockClient Client => gateway.Sessions;

    private Task<Sandbox> NewSandboxAsync() =>
        Client.CreateSandboxAsync(new CreateSandboxRequest { Policy = TestGateway.DenyAll, Env = new Dictionary<string, string> { ["GREETING"] = "hi" } });

    [Fact]
    public async Task A_streamed_exec_yields_stdout_and_stderr_bytes_in_order_then_one_exit()
    {
        var sandbox = await NewSandboxAsync();

        var chunks = new List<ExecChunk>();
        await foreach (var chunk in Client.ExecStreamAsync(sandbox.Id, new ExecCommandRequest { Command = ["sh", "-c", "printf 'out1 %s' \"$GREETING\"; printf err1 >&2; printf '\\377\\000'; exit 3"] }))
        {
            chunks.Add(chunk);
        }

        var stdout = chunks.Where(c => c.Kind == ExecChunkKind.Stdout).SelectMany(c => c.Data.ToArray()).ToArray();
        var stderr = chunks.Where(c => c.Kind == ExecChunkKind.Stderr).SelectMany(c => c.Data.ToArray()).ToArray();
        Assert.Equal([.. "out1 hi"u8, 0xFF, 0x00], stdout);
        Assert.Equal("err1"u8.ToArray(), stderr);
        Assert.Equal(ExecChunkKind.Exit, chunks[^1].Kind);
        Assert.Single(chunks, c => c.Kind == ExecChunkKind.Exit);
        Assert.Equal((3, (string?)null), (chunks[^1].ExitCode, chunks[^1].Error));
    }

    [Fact]
    public async Task Output_arrives_while_the_command_still_runs_and_a_timeout_ends_with_the_reason()
    {
        var sandbox = await NewSandboxAsync();

        var first = default(ExecChunk);
        var end = default(ExecChunk);
        var stillRunning = false;
        await foreach (var chunk in Client.ExecStreamAsync(sandbox.Id, new ExecCommandRequest { Command = ["sh", "-c", "echo started; touch /tmp/started; sleep 600"], Timeout = "20s" }))
        {
            if (first is null)
            {
                first = chunk;

                // The command is still in its sleep: its first line came while it ran, not at its end.
                stillRunning = (await Client.ExecAsync(sandbox.Id, new ExecCommandRequest { Command = ["sh", "-c", "pgrep -x sleep >/dev/null && echo yes"] })).Stdout.Trim() == "yes";
            }

            end = chunk;
        }

        Assert.Equal((ExecChunkKind.Stdout, "started\n"), (first!.Kind, Encoding.UTF8.GetString(first.Data.Span)));
        Assert.True(stillRunning);
        Assert.Equal(ExecChunkKind.Exit, end!.Kind);
        Assert.Null(end.ExitCode);
        Assert.Contains("timed out after 20s", end.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_buffered_exec_returns_its_output_and_exit_code_and_takes_stdin_env_and_workdir()
    {
        var sandbox = await NewSandboxAsync();

        var result = await Client.ExecAsync(sandbox.Id, new ExecCommandRequest
        {
            Command = ["sh", "-c", "cat; echo \"$A:$(pwd)\" >&2; exit 5"],
            Stdin = "from stdin\n",
            Env = new Dictionary<string, string> { ["A"] = "b" },
            Workdir = "/tmp",
        });
        var bad = await Assert.ThrowsAsync<AirlockApiException>(() => Client.ExecAsync(sandbox.Id, new ExecCommandRequest { Command = [] }));
        var missing = await Assert.ThrowsAsync<AirlockApiException>(() => Client.ExecAsync("sb-0000000000", new ExecCommandRequest { Command = ["true"] }));

        Assert.Equal(("from stdin\n", "b:/tmp\n", 5, false, (string?)null), (result.Stdout, result.Stderr, result.ExitCode, result.Truncated, result.Error));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.True(bad.Errors.ContainsKey("command"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_file_goes_in_and_comes_out_byte_for_byte_and_is_listed_with_its_mode()
    {
        var sandbox = await NewSandboxAsync();
        var content = RandomNumberGenerator.GetBytes(700_000);

        using (var upload = new MemoryStream(content))
        {
            await Client.UploadFileAsync(sandbox.Id, "blob.bin", upload, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        using var download = new MemoryStream();
        var length = await Client.DownloadFileAsync(sandbox.Id, "blob.bin", download);
        var listing = await Client.ListFilesAsync(sandbox.Id, ".");
        var checksum = await Client.ExecAsync(sandbox.Id, new ExecCommandRequest { Command = ["sha256sum", "blob.bin"] });

        Assert.Equal(content.Length, length);
        Assert.Equal(content, download.ToArray());
        var entry = Assert.Single(listing.Entries, e => e.Name == "blob.bin");
        Assert.Equal(("file", content.LongLength), (entry.Type, entry.Size));
        Assert.EndsWith("600", entry.Mode, StringComparison.Ordinal);
        Assert.StartsWith(Convert.ToHexStringLower(SHA256.HashData(content)), checksum.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_and_a_path_leading_out_are_refused_with_the_reason()
    {
        var sandbox = await NewSandboxAsync();

        using var sink = new MemoryStream();
        var missing = await Assert.ThrowsAsync<AirlockApiException>(() => Client.DownloadFileAsync(sandbox.Id, "nope.txt", sink));
        var escape = await Assert.ThrowsAsync<AirlockApiException>(() => Client.UploadFileAsync(sandbox.Id, "../../../etc/x", new MemoryStream([1])));
        var notDirectory = await Assert.ThrowsAsync<AirlockApiException>(() => Client.ListFilesAsync(sandbox.Id, "/nonexistent-dir"));

        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(0, sink.Length);
        Assert.Equal(HttpStatusCode.BadRequest, escape.StatusCode);
        Assert.False(string.IsNullOrEmpty(escape.Detail));
        Assert.True(notDirectory.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, notDirectory.Message);
    }
}
