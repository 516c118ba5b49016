using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Airlock.Policy.Loading;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;
using Airlock.Sandboxes.Agent;
using Airlock.Sandboxes.Limits;
using Microsoft.Extensions.Logging;

namespace Airlock.Sandboxes.Local;

/// <summary>
/// The host-side process of one long-lived local sandbox (<c>airlock sandbox-supervise DIR</c>), started detached
/// by <see cref="LocalSandboxDriver.CreateAsync"/>: it holds the session CA and the secrets in memory, runs the
/// session's proxy, runs bubblewrap with the in-sandbox agent on a pipe, and serves requests on
/// <c>control.sock</c> in the sandbox's state directory (0700, never mounted inside), relaying execs and file
/// transfers to the agent, each on a channel of its own. The sandbox dies with it (<c>--die-with-parent</c>).
/// </summary>
public sealed partial class LocalSandboxSupervisor : IDisposable
{
    /// <summary>The hidden verb that runs a supervisor.</summary>
    public const string Verb = "sandbox-supervise";

    /// <summary>The hidden verb of the in-sandbox agent.</summary>
    public const string SandboxAgentVerb = "sandbox-agent";

    /// <summary>The line a supervisor prints when its sandbox answers.</summary>
    public const string ReadyLine = "ready";

    internal const string ControlSocketName = "control.sock";

    internal const string ControlSpoolName = "control-spool.ndjson";

    private static readonly TimeSpan AgentStartTimeout = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<uint, Route> _routes = new();
    private readonly CancellationTokenSource _shutdown = new();
    private readonly TextWriter _log;
    private FrameWriter _link = null!;
    private SandboxRecord _record = null!;
    private uint _nextChannel = 1;

    private LocalSandboxSupervisor(TextWriter log) => _log = log;

    /// <summary>
    /// Runs the supervisor until the sandbox is deleted (0), its TTL ends (0), or its processes die (1; the state
    /// directory is kept so listings show it). Errors before the sandbox answers go to <paramref name="errors"/>.
    /// </summary>
    /// <param name="stateDirectory">The sandbox's state directory, created 0700 by the driver.</param>
    /// <param name="specInput">The <see cref="SupervisorSpec"/> in JSON.</param>
    /// <param name="announce">Gets <see cref="ReadyLine"/> once the sandbox answers; never written to afterwards.</param>
    /// <param name="errors">Start-up errors; never written to after <paramref name="announce"/>.</param>
    public static async Task<int> RunAsync(string stateDirectory, Stream specInput, TextWriter announce, TextWriter errors)
    {
        ArgumentNullException.ThrowIfNull(announce);
        ArgumentNullException.ThrowIfNull(errors);

        // Out of the creating command's session and process group: its Ctrl-C or hang-up is not ours.
        _ = Setsid();
        SupervisorSpec spec;
        try
        {
            spec = await JsonSerializer.DeserializeAsync(specInput, SandboxJson.Default.SupervisorSpec).ConfigureAwait(false)
                ?? throw new JsonException("empty spec");
        }
        catch (JsonException e)
        {
            await errors.WriteLineAsync($"unreadable sandbox spec: {e.Message}").ConfigureAwait(false);
            return 2;
        }

        var logFile = new StreamWriter(Path.Combine(stateDirectory, "supervisor.log"), append: true) { AutoFlush = true };
        await using (logFile.ConfigureAwait(false))
        {
            using var supervisor = new LocalSandboxSupervisor(TextWriter.Synchronized(logFile));
            try
            {
                return await supervisor.SuperviseAsync(stateDirectory, spec, announce, errors).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception or SandboxException or System.Security.Cryptography.CryptographicException or SocketException)
            {
                // Before the sandbox answered this reaches the creating command; after, only the log.
                await logFile.WriteLineAsync($"{DateTimeOffset.UtcNow:O} failed: {e}").ConfigureAwait(false);
                try
                {
                    await errors.WriteLineAsync(e.Message).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    // Nobody is listening any more.
                }

                return 1;
            }
        }
    }

    private async Task<int> SuperviseAsync(string stateDirectory, SupervisorSpec spec, TextWriter announce, TextWriter errors)
    {
        var loaded = PolicyLoader.Parse(spec.PolicyText, spec.PolicySource);
        if (loaded.Policy is not { } policy)
        {
            foreach (var diagnostic in loaded.Diagnostics)
            {
                await errors.WriteLineAsync(diagnostic.ToString()).ConfigureAwait(false);
            }

            return 2;
        }

        X509Certificate2Collection roots = [];
        if (spec.UpstreamRootsPem is { Length: > 0 } pem)
        {
            roots.ImportFromPem(pem);
        }

        ControlEndpoint? control = null;
        if (spec.Control is { } controlText && !ControlEndpoint.TryParse(controlText, out control, out var controlError))
        {
            await errors.WriteLineAsync(controlError).ConfigureAwait(false);
            return 2;
        }

        var created = DateTimeOffset.UtcNow;
        TimeSpan? ttl = spec.TimeToLiveSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null;
        Directory.CreateDirectory(Path.GetDirectoryName(spec.EventsPath)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var events = NdjsonEventSink.Open(spec.EventsPath);
        await using (events.ConfigureAwait(false))
        {
            using var proxyLog = new LoggerFactory([new SupervisorLogProvider(_log)]);
            var session = await LocalSession.StartAsync(
                new LocalSessionOptions
                {
                    SessionId = spec.Id,
                    Policy = policy,
                    SessionDirectory = stateDirectory,
                    Lifetime = (ttl ?? TimeSpan.FromDays(30)) + TimeSpan.FromHours(1),
                    Events = events,
                    Secrets = name => spec.Secrets.GetValueOrDefault(name),
                    Resolve = spec.Resolve.ToDictionary(p => p.Key, p => p.Value.Select(IPAddress.Parse).ToArray()),
                    ResolvePorts = spec.ResolvePorts,
                    UpstreamRoots = roots,
                    Control = control,

                    // Beside the record, not in public/: the sandbox never sees what it sent.
                    ControlSpoolPath = Path.Combine(stateDirectory, ControlSpoolName),
                    LoggerFactory = proxyLog,
                },
                CancellationToken.None).ConfigureAwait(false);
            await using (session.ConfigureAwait(false))
            {
                var limits = LimitPlanner.Plan(spec.Limits);
                await using var releaseLimits = limits.ConfigureAwait(false);
                var workDirectory = Path.GetFullPath(spec.WorkDirectory);
                var writable = policy.Filesystem.ReadWrite
                    .Select(p => BubblewrapCommand.Resolve(p, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), workDirectory))
                    .Where(p => Directory.Exists(p))
                    .SelectMany(p => new[] { "--root", p });
                var arguments = session.BubblewrapArguments(
                    policy,
                    workDirectory,
                    spec.Environment.ToImmutableDictionary(StringComparer.Ordinal),
                    [.. spec.AirlockCommand],
                    [SandboxAgentVerb, "--workdir", workDirectory, "--root", "/tmp", .. writable, .. limits.CommandPrefix.SelectMany(p => new[] { "--wrap", p })]);
                using var sandbox = StartSandbox(limits.WrapSandbox(["bwrap", .. arguments]));
                _link = new FrameWriter(sandbox.StandardInput.BaseStream);
                var linkReader = ReadLinkAsync(sandbox.StandardOutput.BaseStream);
                var logCopy = CopyLogAsync(sandbox.StandardError);
                using var listener = Listen(Path.Combine(stateDirectory, ControlSocketName));
                try
                {
                    if (!await PingAgentAsync(linkReader).ConfigureAwait(false))
                    {
                        await errors.WriteLineAsync("the sandbox's agent did not answer").ConfigureAwait(false);
                        return 1;
                    }

                    _record = new SandboxRecord
                    {
                        Id = spec.Id,
                        State = SandboxRecord.Running,
                        CreatedAt = created,
                        ExpiresAt = created + ttl,
                        WorkDirectory = workDirectory,
                        PolicySource = spec.PolicySource,
                        EventsPath = Path.GetFullPath(spec.EventsPath),
                        SupervisorPid = Environment.ProcessId,
                        Limits = limits.Report,
                    };
                    _record.Write(stateDirectory);
                    await announce.WriteLineAsync(ReadyLine).ConfigureAwait(false);
                    await announce.FlushAsync().ConfigureAwait(false);
                    _log.WriteLine($"{DateTimeOffset.UtcNow:O} sandbox {spec.Id} running (bwrap pid {sandbox.Id})");

                    using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
                    using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
                    using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context => context.Cancel = true);
                    if (ttl is { } lifetime)
                    {
                        _shutdown.CancelAfter(lifetime);
                    }

                    var accepting = AcceptAsync(listener);
                    var ended = await Task.WhenAny(linkReader, Task.Delay(Timeout.Infinite, _shutdown.Token).ContinueWith(_ => { }, TaskScheduler.Default)).ConfigureAwait(false);
                    listener.Dispose();
                    var deleted = ended != linkReader;
                    _log.WriteLine($"{DateTimeOffset.UtcNow:O} sandbox {spec.Id} {(deleted ? "deleted" : "exited")}");
                    Kill(sandbox);
                    await sandbox.WaitForExitAsync().ConfigureAwait(false);
                    await Task.WhenAll(accepting, linkReader, logCopy).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    if (!deleted)
                    {
                        (_record with { State = SandboxRecord.Exited }).Write(stateDirectory);
                        File.Delete(Path.Combine(stateDirectory, ControlSocketName));
                        return 1;
                    }
                }
                finally
                {
                    Kill(sandbox);
                }
            }
        }

        // Deleted or expired: nothing of the sandbox stays but its events (written elsewhere).
        Directory.Delete(stateDirectory, recursive: true);
        return 0;

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            _shutdown.Cancel();
        }
    }

    private static Process StartSandbox(ImmutableArray<string> argv)
    {
        var start = new ProcessStartInfo(argv[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in argv.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new SandboxException("bwrap did not start");
    }

    private static Socket Listen(string path)
    {
        if (Encoding.UTF8.GetByteCount(path) > 100)
        {
            throw new SandboxException($"the control socket path is too long for a unix socket: {path} (set AIRLOCK_STATE_DIR to a shorter directory)");
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        socket.Listen(64);
        return socket;
    }

    private async Task<bool> PingAgentAsync(Task linkReader)
    {
        var route = new Route(null);
        var channel = NextChannel();
        _routes[channel] = route;
        await _link.WriteAsync(new AgentFrame(channel, FrameKind.Open, new AgentRequest { Op = AgentRequest.Ping }.ToJson())).ConfigureAwait(false);
        var answered = await Task.WhenAny(route.Done.Task, linkReader, Task.Delay(AgentStartTimeout)).ConfigureAwait(false);
        return answered == route.Done.Task && route.Done.Task.Result == FrameKind.Ok;
    }

    private uint NextChannel() => Interlocked.Increment(ref _nextChannel);

    /// <summary>Frames from the agent, each to the connection whose channel it names.</summary>
    private async Task ReadLinkAsync(Stream link)
    {
        try
        {
            while (await AgentFrame.ReadAsync(link, CancellationToken.None).ConfigureAwait(false) is { } frame)
            {
                if (!_routes.TryGetValue(frame.Channel, out var route))
                {
                    continue;
                }

                var last = frame.Kind is FrameKind.Exit or FrameKind.Error or FrameKind.Ok;
                if (route.Client is { } client)
                {
                    try
                    {
                        await client.WriteAsync(frame with { Channel = 0 }).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
                    {
                        // The requester went away: stop what it started.
                        await CancelAsync(frame.Channel).ConfigureAwait(false);
                        last = true;
                    }
                }

                if (last && _routes.TryRemove(frame.Channel, out _))
                {
                    route.Done.TrySetResult(frame.Kind);
                }
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            _log.WriteLine($"{DateTimeOffset.UtcNow:O} agent link: {e.Message}");
        }

        foreach (var (channel, route) in _routes)
        {
            _routes.TryRemove(channel, out _);
            route.Done.TrySetResult(FrameKind.Error);
        }
    }

    private async Task CancelAsync(uint channel)
    {
        try
        {
            await _link.WriteAsync(new AgentFrame(channel, FrameKind.Cancel, ReadOnlyMemory<byte>.Empty)).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The agent is gone too.
        }
    }

    private async Task AcceptAsync(Socket listener)
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                var connection = await listener.AcceptAsync(_shutdown.Token).ConfigureAwait(false);
                connections.Add(ServeAsync(connection));
                connections.RemoveAll(t => t.IsCompleted);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Shutting down.
        }

        await Task.WhenAll(connections).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>One requester: its first frame opens a request, answered here (status, shutdown) or by the agent.</summary>
    private async Task ServeAsync(Socket connection)
    {
        using (connection)
        {
            var stream = new NetworkStream(connection, ownsSocket: false);
            await using (stream.ConfigureAwait(false))
            {
                var client = new FrameWriter(stream);
                try
                {
                    if (await AgentFrame.ReadAsync(stream, _shutdown.Token).ConfigureAwait(false) is not { Kind: FrameKind.Open } open)
                    {
                        return;
                    }

                    var request = AgentRequest.Parse(open.Payload.Span, out var error);
                    switch (request?.Op)
                    {
                        case null:
                            await client.WriteTextAsync(0, FrameKind.Error, error ?? "no request").ConfigureAwait(false);
                            return;
                        case AgentRequest.Status:
                            await client.WriteAsync(new AgentFrame(0, FrameKind.Ok, JsonSerializer.SerializeToUtf8Bytes(_record, SandboxJson.Default.SandboxRecord))).ConfigureAwait(false);
                            return;
                        case AgentRequest.Shutdown:
                            await client.WriteTextAsync(0, FrameKind.Ok, "{}").ConfigureAwait(false);
                            await _shutdown.CancelAsync().ConfigureAwait(false);
                            return;
                    }

                    var channel = NextChannel();
                    var route = new Route(client);
                    _routes[channel] = route;
                    await _link.WriteAsync(open with { Channel = channel }).ConfigureAwait(false);
                    var forwarding = ForwardAsync(stream, channel, route.Done.Task);
                    await route.Done.Task.ConfigureAwait(false);
                    connection.Shutdown(SocketShutdown.Both);
                    await forwarding.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
                catch (Exception e) when (e is IOException or SocketException or InvalidDataException or OperationCanceledException or ObjectDisposedException)
                {
                    // The requester or the agent went away mid-request.
                }
            }
        }
    }

    /// <summary>The requester's input frames to the agent, until the request ends or the requester leaves.</summary>
    private async Task ForwardAsync(Stream stream, uint channel, Task done)
    {
        try
        {
            while (!done.IsCompleted && await AgentFrame.ReadAsync(stream, CancellationToken.None).ConfigureAwait(false) is { } frame)
            {
                if (frame.Kind is FrameKind.Stdin or FrameKind.StdinEnd or FrameKind.Data or FrameKind.DataEnd or FrameKind.Cancel)
                {
                    await _link.WriteAsync(frame with { Channel = channel }).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or InvalidDataException or ObjectDisposedException)
        {
            // The requester is gone.
        }

        if (!done.IsCompleted)
        {
            await CancelAsync(channel).ConfigureAwait(false);
        }
    }

    private async Task CopyLogAsync(StreamReader stderr)
    {
        while (await stderr.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            _log.WriteLine($"{DateTimeOffset.UtcNow:O} sandbox: {line}");
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    /// <inheritdoc />
    public void Dispose() => _shutdown.Dispose();

    [LibraryImport("libc", EntryPoint = "setsid")]
    private static partial int Setsid();

    /// <summary>Where a channel's answers go (null: the supervisor's own ping), and how it ended.</summary>
    private sealed class Route(FrameWriter? client)
    {
        public FrameWriter? Client { get; } = client;

        public TaskCompletionSource<FrameKind> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
