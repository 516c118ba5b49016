using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Threading.Channels;

namespace Airlock.Sandboxes.Agent;

/// <summary>
/// The agent inside a long-lived local sandbox (<c>airlock sandbox-agent</c>): it reads requests from the
/// supervisor on its standard input and answers on its standard output, one channel per request, so several
/// execs and file transfers run at once. It holds nothing secret: it runs with the sandbox's view and rights,
/// and only the supervisor, outside, can talk to it (its standard input and output are the supervisor's pipes,
/// and it makes itself non-dumpable so the sandbox's own processes cannot open them through <c>/proc</c>).
/// </summary>
public sealed partial class SandboxAgent
{
    /// <summary>rw-r--r--, for an upload that names no mode.</summary>
    private const UnixFileMode DefaultMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private readonly FrameWriter _writer;
    private readonly ConfinedFiles _files;
    private readonly string _workDirectory;
    private readonly IReadOnlyList<string> _commandPrefix;
    private readonly ConcurrentDictionary<uint, Channel<AgentFrame>> _channels = new();
    private readonly ConcurrentDictionary<Task, byte> _running = new();

    private SandboxAgent(Stream output, string workDirectory, IEnumerable<string> roots, IReadOnlyList<string> commandPrefix)
    {
        _commandPrefix = commandPrefix;
        _writer = new FrameWriter(output);
        _workDirectory = workDirectory;
        _files = new ConfinedFiles(workDirectory, roots);
    }

    /// <summary>Serves requests until the supervisor closes the link; every command still running is then killed.</summary>
    /// <param name="input">Frames from the supervisor.</param>
    /// <param name="output">Frames to the supervisor.</param>
    /// <param name="workDirectory">The sandbox's workdir (default working directory, base of relative paths).</param>
    /// <param name="roots">Where uploads and downloads may go besides the workdir.</param>
    /// <param name="commandPrefix">Put before every command (e.g. <c>prlimit --data=N --</c>): the per-process limits.</param>
    /// <param name="cancellationToken">Stops serving.</param>
    public static async Task RunAsync(Stream input, Stream output, string workDirectory, IEnumerable<string> roots, IReadOnlyList<string> commandPrefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (OperatingSystem.IsLinux())
        {
            // PR_SET_DUMPABLE 0: /proc/<agent>/fd (the link) is closed to the sandbox's processes, same uid or not.
            _ = Prctl(4, 0, 0, 0, 0);
        }

        var agent = new SandboxAgent(output, workDirectory, roots, commandPrefix);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            while (await AgentFrame.ReadAsync(input, stop.Token).ConfigureAwait(false) is { } frame)
            {
                agent.Dispatch(frame, stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or OperationCanceledException)
        {
            // The link broke: nobody is left to answer.
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            foreach (var channel in agent._channels.Values)
            {
                channel.Writer.TryWrite(new AgentFrame(0, FrameKind.Cancel, ReadOnlyMemory<byte>.Empty));
            }

            await Task.WhenAll(agent._running.Keys).ConfigureAwait(false);
        }
    }

    private void Dispatch(AgentFrame frame, CancellationToken cancellationToken)
    {
        if (frame.Kind != FrameKind.Open)
        {
            if (_channels.TryGetValue(frame.Channel, out var open))
            {
                open.Writer.TryWrite(frame);
            }

            return;
        }

        var inbox = Channel.CreateUnbounded<AgentFrame>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        if (!_channels.TryAdd(frame.Channel, inbox))
        {
            return;
        }

        var task = ServeAsync(frame, inbox.Reader, cancellationToken);
        _running.TryAdd(task, 0);
        _ = task.ContinueWith(t => _running.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task ServeAsync(AgentFrame open, ChannelReader<AgentFrame> inbox, CancellationToken cancellationToken)
    {
        var channel = open.Channel;
        try
        {
            var request = AgentRequest.Parse(open.Payload.Span, out var error);
            switch (request?.Op)
            {
                case null:
                    await _writer.WriteTextAsync(channel, FrameKind.Error, error ?? "no request", cancellationToken).ConfigureAwait(false);
                    break;
                case AgentRequest.Ping:
                    await _writer.WriteTextAsync(channel, FrameKind.Ok, "{}", cancellationToken).ConfigureAwait(false);
                    break;
                case AgentRequest.Exec:
                    await ExecAsync(channel, request, inbox, cancellationToken).ConfigureAwait(false);
                    break;
                case AgentRequest.Put:
                    await PutAsync(channel, request, inbox, cancellationToken).ConfigureAwait(false);
                    break;
                case AgentRequest.Get:
                    await GetAsync(channel, request, inbox, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    await _writer.WriteTextAsync(channel, FrameKind.Error, $"unknown operation '{request.Op}'", cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The link is gone; nothing can be answered.
        }
        finally
        {
            _channels.TryRemove(channel, out _);
        }
    }

    private async Task ExecAsync(uint channel, AgentRequest request, ChannelReader<AgentFrame> inbox, CancellationToken cancellationToken)
    {
        if (request.Argv is not { Count: > 0 } requested)
        {
            await _writer.WriteTextAsync(channel, FrameKind.Error, "exec needs a command", cancellationToken).ConfigureAwait(false);
            return;
        }

        var argv = _commandPrefix.Concat(requested).ToList();

        var start = new ProcessStartInfo(argv[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = request.WorkingDirectory is { Length: > 0 } cwd ? Path.GetFullPath(cwd, _workDirectory) : _workDirectory,
        };
        foreach (var argument in argv.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in request.Environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception("the process did not start");
        }
        catch (Win32Exception e)
        {
            await _writer.WriteTextAsync(channel, FrameKind.Stderr, $"airlock: cannot run '{requested[0]}': {e.Message}\n", cancellationToken).ConfigureAwait(false);
            await WriteExitAsync(channel, 127, cancellationToken).ConfigureAwait(false);
            return;
        }

        using (process)
        {
            var stdout = PumpAsync(process.StandardOutput.BaseStream, channel, FrameKind.Stdout, cancellationToken);
            var stderr = PumpAsync(process.StandardError.BaseStream, channel, FrameKind.Stderr, cancellationToken);
            using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var input = FeedAsync(process, inbox, done.Token);
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Kill(process);
                throw;
            }

            // Output written before the exit is all delivered; a background child still holding the pipes open
            // keeps the exec going, as it would in a terminal.
            await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
            await done.CancelAsync().ConfigureAwait(false);
            await input.ConfigureAwait(false);
            await WriteExitAsync(channel, process.ExitCode, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Standard input from the requester; a cancel kills the command and everything it started.</summary>
    private static async Task FeedAsync(Process process, ChannelReader<AgentFrame> inbox, CancellationToken cancellationToken)
    {
        var stdin = process.StandardInput.BaseStream;
        var open = true;
        try
        {
            await foreach (var frame in inbox.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                switch (frame.Kind)
                {
                    case FrameKind.Stdin when open:
                        try
                        {
                            await stdin.WriteAsync(frame.Payload, cancellationToken).ConfigureAwait(false);
                            await stdin.FlushAsync(cancellationToken).ConfigureAwait(false);
                        }
                        catch (IOException)
                        {
                            // The command closed its input; it may still run, so a cancel must still reach it.
                            open = false;
                        }

                        break;
                    case FrameKind.StdinEnd:
                        open = false;
                        await stdin.DisposeAsync().ConfigureAwait(false);
                        break;
                    case FrameKind.Cancel:
                        Kill(process);
                        return;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The command ended.
        }
        finally
        {
            try
            {
                await stdin.DisposeAsync().ConfigureAwait(false);
            }
            catch (IOException)
            {
                // A pipe nobody reads any more.
            }
        }
    }

    private async Task PumpAsync(Stream from, uint channel, FrameKind kind, CancellationToken cancellationToken)
    {
        var buffer = new byte[AgentFrame.ChunkSize];
        int read;
        while ((read = await from.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            await _writer.WriteAsync(new AgentFrame(channel, kind, buffer.AsMemory(0, read).ToArray()), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task PutAsync(uint channel, AgentRequest request, ChannelReader<AgentFrame> inbox, CancellationToken cancellationToken)
    {
        ConfinedFiles.Upload upload;
        try
        {
            upload = _files.CreateUpload(request.Path ?? string.Empty, request.Mode is { } mode ? (UnixFileMode)mode : DefaultMode);
        }
        catch (ConfinedFileException e)
        {
            await _writer.WriteTextAsync(channel, FrameKind.Error, e.Message, cancellationToken).ConfigureAwait(false);
            return;
        }

        await using (upload.ConfigureAwait(false))
        {
            try
            {
                await foreach (var frame in inbox.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    switch (frame.Kind)
                    {
                        case FrameKind.Data:
                            await upload.Content.WriteAsync(frame.Payload, cancellationToken).ConfigureAwait(false);
                            break;
                        case FrameKind.DataEnd:
                            await upload.CommitAsync().ConfigureAwait(false);
                            await _writer.WriteTextAsync(channel, FrameKind.Ok, "{}", cancellationToken).ConfigureAwait(false);
                            return;
                        case FrameKind.Cancel:
                            return;
                    }
                }
            }
            catch (IOException e)
            {
                await _writer.WriteTextAsync(channel, FrameKind.Error, e is ConfinedFileException ? e.Message : $"{request.Path}: {e.Message}", cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task GetAsync(uint channel, AgentRequest request, ChannelReader<AgentFrame> inbox, CancellationToken cancellationToken)
    {
        FileStream file;
        try
        {
            file = _files.OpenRead(request.Path ?? string.Empty);
        }
        catch (ConfinedFileException e)
        {
            await _writer.WriteTextAsync(channel, FrameKind.Error, e.Message, cancellationToken).ConfigureAwait(false);
            return;
        }

        await using (file.ConfigureAwait(false))
        {
            var buffer = new byte[AgentFrame.ChunkSize];
            int read;
            try
            {
                while ((read = await file.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    if (inbox.TryRead(out var frame) && frame.Kind == FrameKind.Cancel)
                    {
                        return;
                    }

                    await _writer.WriteAsync(new AgentFrame(channel, FrameKind.Data, buffer.AsMemory(0, read).ToArray()), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (IOException e) when (e is not ConfinedFileException)
            {
                await _writer.WriteTextAsync(channel, FrameKind.Error, $"{request.Path}: {e.Message}", cancellationToken).ConfigureAwait(false);
                return;
            }

            await _writer.WriteAsync(new AgentFrame(channel, FrameKind.DataEnd, ReadOnlyMemory<byte>.Empty), cancellationToken).ConfigureAwait(false);
        }
    }

    private ValueTask WriteExitAsync(uint channel, int exitCode, CancellationToken cancellationToken) =>
        _writer.WriteAsync(new AgentFrame(channel, FrameKind.Exit, JsonSerializer.SerializeToUtf8Bytes(new ExitStatus(exitCode), AgentJson.Default.ExitStatus)), cancellationToken);

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            // Already gone.
        }
    }

    [LibraryImport("libc", EntryPoint = "prctl")]
    private static partial int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);
}
