using System.Collections.Immutable;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Airlock.Policy.Loading;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;
using Airlock.Sandboxes.Agent;

namespace Airlock.Sandboxes.Local;

/// <summary>Where the local driver keeps its sandboxes and how it starts the airlock binary.</summary>
public sealed record LocalDriverOptions
{
    /// <summary>The state root: sandboxes under <c>sandboxes/</c>, events under <c>events/</c>.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>How to start the airlock binary (its last element is the binary; <c>dotnet</c> and the dll before it for a JIT build).</summary>
    public required ImmutableArray<string> AirlockCommand { get; init; }

    /// <summary>
    /// The control plane every sandbox's proxy dials (events, asks, policy updates), if any; the session is the
    /// sandbox id. Events still go to <c>events/ID.ndjson</c> too, and wait in the sandbox's state directory while
    /// the plane is away.
    /// </summary>
    public ControlEndpoint? Control { get; init; }

    /// <summary>
    /// The default state root: <c>$AIRLOCK_STATE_DIR</c>, else <c>$XDG_STATE_HOME/airlock</c>, else
    /// <c>~/.local/state/airlock</c>.
    /// </summary>
    public static string DefaultStateDirectory() =>
        Environment.GetEnvironmentVariable("AIRLOCK_STATE_DIR") is { Length: > 0 } explicitRoot ? explicitRoot
        : Path.Combine(
            Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } state ? state : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state"),
            "airlock");
}

/// <summary>
/// The local driver: each sandbox is a bubblewrap sandbox kept alive by a detached supervisor process (see
/// <see cref="LocalSandboxSupervisor"/>), with no daemon. Its state directory (0700) holds the record, the
/// supervisor's log, the proxy's socket and public files, and the control socket this driver talks to.
/// </summary>
public sealed class LocalSandboxDriver(LocalDriverOptions options) : ISandboxDriver
{
    /// <summary>The name given to <c>--driver</c>.</summary>
    public const string DriverName = "local";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);

    /// <inheritdoc />
    public string Name => DriverName;

    private string SandboxesDirectory => Path.Combine(options.StateDirectory, "sandboxes");

    /// <inheritdoc />
    public async Task<SandboxInfo> CreateAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var loaded = PolicyLoader.Parse(spec.PolicyText, spec.PolicySource);
        if (loaded.Policy is null)
        {
            throw new SandboxException(string.Join('\n', loaded.Diagnostics.Select(d => d.ToString())));
        }

        if (!Directory.Exists(spec.WorkDirectory))
        {
            throw new SandboxException($"the workdir '{spec.WorkDirectory}' is not a directory");
        }

        var id = spec.Id ?? SandboxIds.New();
        if (!SandboxIds.IsWellFormed(id))
        {
            throw new SandboxException($"'{id}' is not a sandbox id (sb- and lower-case hex digits)");
        }

        var directory = Path.Combine(SandboxesDirectory, id);
        if (Encoding.UTF8.GetByteCount(Path.Combine(directory, "public", "proxy.sock")) > LocalRun.MaxSocketPathBytes)
        {
            throw new SandboxException($"the state directory '{options.StateDirectory}' is too long for the sandbox's unix sockets; set AIRLOCK_STATE_DIR to a shorter path");
        }

        Directory.CreateDirectory(options.StateDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(SandboxesDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var supervisorSpec = new SupervisorSpec
        {
            Id = id,
            PolicyText = spec.PolicyText,
            PolicySource = spec.PolicySource,
            WorkDirectory = Path.GetFullPath(spec.WorkDirectory),
            Environment = spec.Environment,
            Secrets = spec.Secrets,
            Limits = spec.Limits,
            TimeToLiveSeconds = spec.TimeToLive?.TotalSeconds,
            Resolve = spec.Resolve.ToDictionary(p => p.Key, p => p.Value.Select(a => a.ToString()).ToArray()),
            ResolvePorts = spec.ResolvePorts,
            UpstreamRootsPem = spec.UpstreamRootsPem,
            EventsPath = Path.Combine(options.StateDirectory, "events", id + ".ndjson"),
            AirlockCommand = options.AirlockCommand,
            Control = options.Control?.ToString(),
        };

        try
        {
            await StartSupervisorAsync(directory, supervisorSpec, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SandboxException or IOException or OperationCanceledException)
        {
            // The state directory goes, with the supervisor's log: what it said is kept in the error.
            var log = LogTail(directory);
            await StopAsync(directory, SandboxRecord.Read(directory)).ConfigureAwait(false);
            if (e is SandboxException && log.Length > 0)
            {
                throw new SandboxException($"{e.Message}\nthe supervisor's log:\n{log}", e);
            }

            throw;
        }

        return await GetAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new SandboxException($"sandbox {id} stopped right after it started; see {Path.Combine(directory, "supervisor.log")}");
    }

    private async Task StartSupervisorAsync(string directory, SupervisorSpec spec, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(options.AirlockCommand[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        foreach (var argument in options.AirlockCommand.Skip(1).Append(LocalSandboxSupervisor.Verb).Append(directory))
        {
            start.ArgumentList.Add(argument);
        }

        using var supervisor = Process.Start(start) ?? throw new SandboxException("the sandbox supervisor did not start");
        var errors = supervisor.StandardError.ReadToEndAsync(CancellationToken.None);
        await JsonSerializer.SerializeAsync(supervisor.StandardInput.BaseStream, spec, SandboxJson.Default.SupervisorSpec, cancellationToken).ConfigureAwait(false);
        supervisor.StandardInput.Close();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(StartTimeout);
        string? line;
        try
        {
            line = await supervisor.StandardOutput.ReadLineAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            supervisor.Kill(entireProcessTree: true);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new SandboxException($"the sandbox did not start within {StartTimeout.TotalSeconds:0} s");
        }

        if (line != LocalSandboxSupervisor.ReadyLine)
        {
            supervisor.Kill(entireProcessTree: true);
            await supervisor.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            var message = errors.IsCompleted ? (await errors.ConfigureAwait(false)).Trim() : string.Empty;
            throw new SandboxException(message.Length > 0 ? message : "the sandbox did not start");
        }
    }

    private static string LogTail(string directory)
    {
        try
        {
            return string.Join('\n', File.ReadLines(Path.Combine(directory, "supervisor.log")).TakeLast(20));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }

    /// <inheritdoc />
    public async Task<int> ExecAsync(string id, ExecRequest request, ExecStreams streams, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(streams);
        if (request.Command.Count == 0)
        {
            throw new SandboxException("exec needs a command");
        }

        using var connection = await ConnectAsync(id, cancellationToken).ConfigureAwait(false);
        await connection.SendAsync(FrameKind.Open, new AgentRequest
        {
            Op = AgentRequest.Exec,
            Argv = request.Command,
            Environment = request.Environment.Count > 0 ? request.Environment : null,
            WorkingDirectory = request.WorkingDirectory,
        }.ToJson(), cancellationToken).ConfigureAwait(false);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var feeding = FeedStdinAsync(connection, streams.Stdin, stop.Token);
        try
        {
            while (await connection.ReceiveAsync(cancellationToken).ConfigureAwait(false) is { } frame)
            {
                switch (frame.Kind)
                {
                    case FrameKind.Stdout:
                        await streams.Stdout.WriteAsync(frame.Payload, cancellationToken).ConfigureAwait(false);
                        await streams.Stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case FrameKind.Stderr:
                        await streams.Stderr.WriteAsync(frame.Payload, cancellationToken).ConfigureAwait(false);
                        await streams.Stderr.FlushAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case FrameKind.Exit:
                        return JsonSerializer.Deserialize(frame.Payload.Span, AgentJson.Default.ExitStatus)?.ExitCode ?? 1;
                    case FrameKind.Error:
                        throw new SandboxException(Encoding.UTF8.GetString(frame.Payload.Span));
                }
            }

            throw new SandboxException($"sandbox {id} stopped during the command");
        }
        finally
        {
            // A read of a terminal or pipe may not heed cancellation: an unfinished input is left behind, not awaited.
            await stop.CancelAsync().ConfigureAwait(false);
            if (streams.Stdin is null || feeding.IsCompleted)
            {
                await feeding.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private static async Task FeedStdinAsync(Connection connection, Stream? stdin, CancellationToken cancellationToken)
    {
        if (stdin is not null)
        {
            var buffer = new byte[AgentFrame.ChunkSize];
            int read;
            while ((read = await stdin.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await connection.SendAsync(FrameKind.Stdin, buffer.AsMemory(0, read).ToArray(), cancellationToken).ConfigureAwait(false);
            }
        }

        await connection.SendAsync(FrameKind.StdinEnd, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task UploadAsync(string id, string path, Stream content, UnixFileMode mode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        using var connection = await ConnectAsync(id, cancellationToken).ConfigureAwait(false);
        await connection.SendAsync(FrameKind.Open, new AgentRequest { Op = AgentRequest.Put, Path = path, Mode = (int)mode }.ToJson(), cancellationToken).ConfigureAwait(false);

        // The agent may refuse at once (outside the sandbox's files): watch for its answer while sending.
        var answer = connection.ReceiveAsync(cancellationToken).AsTask();
        var buffer = new byte[AgentFrame.ChunkSize];
        int read;
        try
        {
            while (!answer.IsCompleted && (read = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await connection.SendAsync(FrameKind.Data, buffer.AsMemory(0, read).ToArray(), cancellationToken).ConfigureAwait(false);
            }

            if (!answer.IsCompleted)
            {
                await connection.SendAsync(FrameKind.DataEnd, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // A refusal closes the connection while the content is still on its way: the answer says why.
        }

        switch (await answer.ConfigureAwait(false))
        {
            case { Kind: FrameKind.Ok }:
                return;
            case { Kind: FrameKind.Error } error:
                throw new SandboxException(Encoding.UTF8.GetString(error.Payload.Span));
            default:
                throw new SandboxException($"sandbox {id} stopped during the upload");
        }
    }

    /// <inheritdoc />
    public async Task DownloadAsync(string id, string path, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var connection = await ConnectAsync(id, cancellationToken).ConfigureAwait(false);
        await connection.SendAsync(FrameKind.Open, new AgentRequest { Op = AgentRequest.Get, Path = path }.ToJson(), cancellationToken).ConfigureAwait(false);
        while (await connection.ReceiveAsync(cancellationToken).ConfigureAwait(false) is { } frame)
        {
            switch (frame.Kind)
            {
                case FrameKind.Data:
                    await destination.WriteAsync(frame.Payload, cancellationToken).ConfigureAwait(false);
                    break;
                case FrameKind.DataEnd:
                    await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
                    return;
                case FrameKind.Error:
                    throw new SandboxException(Encoding.UTF8.GetString(frame.Payload.Span));
            }
        }

        throw new SandboxException($"sandbox {id} stopped during the download");
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SandboxInfo>> ListAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(SandboxesDirectory))
        {
            return [];
        }

        var sandboxes = new List<SandboxInfo>();
        foreach (var directory in Directory.EnumerateDirectories(SandboxesDirectory).Order(StringComparer.Ordinal))
        {
            if (await GetAsync(Path.GetFileName(directory), cancellationToken).ConfigureAwait(false) is { } info)
            {
                sandboxes.Add(info);
            }
        }

        return [.. sandboxes.OrderBy(s => s.CreatedAt)];
    }

    /// <inheritdoc />
    public async Task<SandboxInfo?> GetAsync(string id, CancellationToken cancellationToken)
    {
        if (!IsWellFormed(id) || SandboxRecord.Read(Path.Combine(SandboxesDirectory, id)) is not { } record)
        {
            return null;
        }

        return record.ToInfo(alive: await AnswersAsync(id, cancellationToken).ConfigureAwait(false));
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(SandboxesDirectory, id);
        if (!IsWellFormed(id) || !Directory.Exists(directory))
        {
            return false;
        }

        await StopAsync(directory, SandboxRecord.Read(directory)).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EgressEvent> EventsAsync(string id, bool follow, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var directory = Path.Combine(SandboxesDirectory, id);
        var record = IsWellFormed(id) ? SandboxRecord.Read(directory) : null;
        var path = record?.EventsPath ?? Path.Combine(options.StateDirectory, "events", id + ".ndjson");
        if (record is null && !File.Exists(path))
        {
            throw new SandboxException($"no sandbox '{id}'");
        }

        var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete });
        await using (stream.ConfigureAwait(false))
        {
            var pending = new List<byte>();
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    if (!follow || !Directory.Exists(directory))
                    {
                        yield break;
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                pending.AddRange(buffer.AsSpan(0, read));
                int newline;
                while ((newline = pending.IndexOf((byte)'\n')) >= 0)
                {
                    var line = pending.GetRange(0, newline).ToArray();
                    pending.RemoveRange(0, newline + 1);
                    if (Parse(line) is { } egressEvent)
                    {
                        yield return egressEvent;
                    }
                }
            }
        }
    }

    private static EgressEvent? Parse(byte[] line)
    {
        try
        {
            return line.Length == 0 ? null : EventJson.Parse(line);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Asks the supervisor to delete the sandbox; if it does not answer, ends it and removes what is left.</summary>
    private static async Task StopAsync(string directory, SandboxRecord? record)
    {
        try
        {
            using var connection = await Connection.OpenAsync(Path.Combine(directory, LocalSandboxSupervisor.ControlSocketName), CancellationToken.None).ConfigureAwait(false);
            await connection.SendAsync(FrameKind.Open, new AgentRequest { Op = AgentRequest.Shutdown }.ToJson(), CancellationToken.None).ConfigureAwait(false);
            await connection.ReceiveAsync(CancellationToken.None).AsTask().WaitAsync(StopTimeout).ConfigureAwait(false);
            var deadline = DateTime.UtcNow + StopTimeout;
            while (Directory.Exists(directory) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or TimeoutException or InvalidDataException)
        {
            // Not answering: handled below.
        }

        if (record is { SupervisorPid: > 0 } && IsSupervisorOf(record.SupervisorPid, directory))
        {
            try
            {
                using var process = Process.GetProcessById(record.SupervisorPid);
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(StopTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Gone already.
            }
        }

        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Whether a pid is still this sandbox's supervisor (not a recycled pid).</summary>
    private static bool IsSupervisorOf(int pid, string directory)
    {
        try
        {
            var arguments = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            return arguments.Contains(LocalSandboxSupervisor.Verb) && arguments.Contains(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private async Task<bool> AnswersAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            using var connection = await Connection.OpenAsync(Path.Combine(SandboxesDirectory, id, LocalSandboxSupervisor.ControlSocketName), cancellationToken).ConfigureAwait(false);
            await connection.SendAsync(FrameKind.Open, new AgentRequest { Op = AgentRequest.Status }.ToJson(), cancellationToken).ConfigureAwait(false);
            return await connection.ReceiveAsync(cancellationToken).ConfigureAwait(false) is { Kind: FrameKind.Ok };
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException)
        {
            return false;
        }
    }

    private async Task<Connection> ConnectAsync(string id, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(SandboxesDirectory, id);
        if (!IsWellFormed(id) || SandboxRecord.Read(directory) is not { } record)
        {
            throw new SandboxException($"no sandbox '{id}'");
        }

        try
        {
            return await Connection.OpenAsync(Path.Combine(directory, LocalSandboxSupervisor.ControlSocketName), cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            throw new SandboxException($"sandbox {id} is not running ({record.State}); 'airlock sandbox rm {id}' removes it");
        }
    }

    /// <summary>Sandbox ids are ours: <c>sb-</c> and hex; anything else never reaches the file system.</summary>
    private static bool IsWellFormed(string id) => SandboxIds.IsWellFormed(id);

    /// <summary>One request to a supervisor over its control socket.</summary>
    private sealed class Connection : IDisposable
    {
        private readonly Socket _socket;
        private readonly NetworkStream _stream;
        private readonly FrameWriter _writer;

        private Connection(Socket socket)
        {
            _socket = socket;
            _stream = new NetworkStream(socket, ownsSocket: true);
            _writer = new FrameWriter(_stream);
        }

        public static async Task<Connection> OpenAsync(string path, CancellationToken cancellationToken)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
                return new Connection(socket);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        public ValueTask SendAsync(FrameKind kind, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
            _writer.WriteAsync(new AgentFrame(0, kind, payload), cancellationToken);

        /// <summary>The next frame, or null when the supervisor closed the connection or broke it mid-frame.</summary>
        public async ValueTask<AgentFrame?> ReceiveAsync(CancellationToken cancellationToken)
        {
            try
            {
                return await AgentFrame.ReadAsync(_stream, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or InvalidDataException)
            {
                return null;
            }
        }

        public void Dispose()
        {
            _stream.Dispose();
            _socket.Dispose();
        }
    }
}
