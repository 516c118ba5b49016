using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Airlock.Policy.Model;
using Airlock.Proxy.Events;

namespace Airlock.Sandboxes.Local;

/// <summary>What <c>airlock run</c> runs, and under what.</summary>
public sealed record LocalRunOptions
{
    /// <summary>The validated policy.</summary>
    public required EgressPolicy Policy { get; init; }

    /// <summary>The command and its arguments.</summary>
    public required ImmutableArray<string> Command { get; init; }

    /// <summary>How to start the <c>airlock</c> binary itself inside the sandbox (its init and bridge).</summary>
    public required ImmutableArray<string> AirlockCommand { get; init; }

    /// <summary>The working directory (read-write inside).</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>Extra environment for the command (the host environment is not passed through).</summary>
    public ImmutableDictionary<string, string> Environment { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>Secrets for <c>inject</c>: the proxy gets them, the sandbox never does.</summary>
    public Func<string, string?> Secrets { get; init; } = _ => null;

    /// <summary>Kill the command after this long (exit code 124).</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Where the events go.</summary>
    public required string EventsPath { get; init; }

    /// <summary>The proxy's <c>--resolve</c> overrides.</summary>
    public IReadOnlyDictionary<string, IPAddress[]> Resolve { get; init; } = new Dictionary<string, IPAddress[]>();

    /// <summary>The proxy's port overrides for <see cref="Resolve"/> names.</summary>
    public IReadOnlyDictionary<string, int> ResolvePorts { get; init; } = new Dictionary<string, int>();

    /// <summary>The proxy's extra upstream roots.</summary>
    public X509Certificate2Collection UpstreamRoots { get; init; } = [];

    /// <summary>Where denials and the summary are printed (null: nowhere).</summary>
    public TextWriter? Report { get; init; }

    /// <summary>Print each denial as it happens.</summary>
    public bool ReportDenials { get; init; } = true;

    /// <summary>Memory, process and CPU limits; each is reported (applied or not) on <see cref="Report"/>.</summary>
    public Limits.ResourceLimits Limits { get; init; } = Sandboxes.Limits.ResourceLimits.None;

    /// <summary>The session id (default: a random one).</summary>
    public string? SessionId { get; init; }
}

/// <summary>How a run ended.</summary>
/// <param name="ExitCode">The command's exit code; 124 on timeout, 130 when interrupted.</param>
/// <param name="Allowed">Allowed decisions.</param>
/// <param name="Denied">Denied decisions.</param>
/// <param name="BytesIn">Bytes from the sandbox to the proxy.</param>
/// <param name="BytesOut">Bytes from the proxy to the sandbox.</param>
/// <param name="EventsPath">Where the events are.</param>
public sealed record LocalRunResult(int ExitCode, long Allowed, long Denied, long BytesIn, long BytesOut, string EventsPath);

/// <summary>
/// <c>airlock run</c>: one command in a local bubblewrap sandbox whose only way out is an in-process proxy on a
/// unix socket. Everything the run creates (session directory, socket, processes) is gone when it returns.
/// </summary>
public static class LocalRun
{
    /// <summary>The exit code of a command killed by <see cref="LocalRunOptions.Timeout"/>.</summary>
    public const int TimeoutExitCode = 124;

    /// <summary>The exit code when the run was interrupted (Ctrl-C, SIGTERM).</summary>
    public const int InterruptedExitCode = 130;

    /// <summary>Runs the command and returns when it and the sandbox are gone.</summary>
    public static async Task<LocalRunResult> RunAsync(LocalRunOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sessionId = options.SessionId ?? "run_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
        var sessionDirectory = CreateSessionDirectory();
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.EventsPath))!);
            var file = NdjsonEventSink.Open(options.EventsPath);
            var tally = new RunTally(options.ReportDenials ? options.Report : null);
            int exitCode;
            await using (file.ConfigureAwait(false))
            {
                // The proxy starts while the sandbox does: the in-sandbox bridge waits for the proxy's socket.
                var session = LocalSession.Begin(
                    new LocalSessionOptions
                    {
                        SessionId = sessionId,
                        Policy = options.Policy,
                        SessionDirectory = sessionDirectory.FullName,
                        Lifetime = (options.Timeout ?? TimeSpan.FromHours(24)) + TimeSpan.FromHours(1),
                        Events = new FanOutEventSink(file, tally),
                        Resolve = options.Resolve,
                        ResolvePorts = options.ResolvePorts,
                        UpstreamRoots = options.UpstreamRoots,
                        Secrets = options.Secrets,
                    });
                await using (session.ConfigureAwait(false))
                {
                    var limits = Sandboxes.Limits.LimitPlanner.Plan(options.Limits);
                    await using (limits.ConfigureAwait(false))
                    {
                        foreach (var limit in limits.Report)
                        {
                            options.Report?.WriteLine("airlock: " + limit.Describe());
                        }

                        var arguments = session.BubblewrapArguments(options.Policy, options.WorkDirectory, options.Environment, options.AirlockCommand, ["sandbox-init", "--", .. limits.CommandPrefix, .. options.Command]);
                        exitCode = await RunBubblewrapAsync(limits.WrapSandbox(["bwrap", .. arguments]), options.Timeout, session.ProxyStarted, cancellationToken).ConfigureAwait(false);
                    }

                    // A proxy that could not start fails the run, even if the command did not notice.
                    try
                    {
                        await session.ProxyStarted.ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException or System.Net.Sockets.SocketException or InvalidOperationException)
                    {
                        throw new SandboxException($"the session's proxy could not start: {e.Message}", e);
                    }
                }
            }

            var result = new LocalRunResult(exitCode, tally.Allowed, tally.Denied, tally.BytesIn, tally.BytesOut, Path.GetFullPath(options.EventsPath));
            options.Report?.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"airlock: {result.Allowed} allowed, {result.Denied} denied, {result.BytesIn} bytes out of the sandbox, {result.BytesOut} bytes in; events: {result.EventsPath}"));
            return result;
        }
        finally
        {
            sessionDirectory.Delete(recursive: true);
        }
    }

    /// <summary>
    /// A 0700 directory of the run's own. Under <c>$TMPDIR</c> unless that is so long that the proxy's socket path
    /// would not fit a unix socket address (108 bytes), then under <c>/tmp</c>.
    /// </summary>
    private static DirectoryInfo CreateSessionDirectory()
    {
        var name = "airlock-session-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));
        var root = Path.GetTempPath();
        if (System.Text.Encoding.UTF8.GetByteCount(Path.Combine(root, name, "public", "proxy.sock")) > MaxSocketPathBytes)
        {
            root = "/tmp";
        }

        return Directory.CreateDirectory(Path.Combine(root, name), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>The longest unix socket path the kernel takes (108 bytes with the terminating NUL).</summary>
    internal const int MaxSocketPathBytes = 107;

    private static async Task<int> RunBubblewrapAsync(ImmutableArray<string> arguments, TimeSpan? timeout, Task proxyStarted, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(arguments[0]) { UseShellExecute = false };
        foreach (var argument in arguments.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new SandboxException("bwrap did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SandboxException($"cannot start {arguments[0]}: {e.Message} (bubblewrap is the 'bubblewrap' package; ./airlock installs it)", e);
        }

        using var started = process;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } limit)
        {
            deadline.CancelAfter(limit);
        }

        try
        {
            var exited = process.WaitForExitAsync(deadline.Token);
            if (await Task.WhenAny(exited, proxyStarted).ConfigureAwait(false) != exited && proxyStarted.IsFaulted)
            {
                // Without its proxy the sandbox has no way out at all: end it, and let the caller report why.
                await deadline.CancelAsync().ConfigureAwait(false);
            }

            await exited.ConfigureAwait(false);
            return process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            // bwrap's pid namespace ends with it: killing the tree leaves nothing behind.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            return cancellationToken.IsCancellationRequested ? InterruptedExitCode : TimeoutExitCode;
        }
    }

    /// <summary>Counts decisions and bytes for the summary, and prints each denial as it happens.</summary>
    private sealed class RunTally(TextWriter? denials) : IEventSink
    {
        private long _allowed;
        private long _denied;
        private long _bytesIn;
        private long _bytesOut;

        public long Allowed => Interlocked.Read(ref _allowed);

        public long Denied => Interlocked.Read(ref _denied);

        public long BytesIn => Interlocked.Read(ref _bytesIn);

        public long BytesOut => Interlocked.Read(ref _bytesOut);

        public void Publish(EgressEvent egressEvent)
        {
            switch (egressEvent)
            {
                case { Type: EgressEventType.Close }:
                    Interlocked.Add(ref _bytesIn, egressEvent.BytesIn ?? 0);
                    Interlocked.Add(ref _bytesOut, egressEvent.BytesOut ?? 0);
                    break;
                case { Type: EgressEventType.Connection or EgressEventType.Request, Decision: "allow" }:
                    Interlocked.Increment(ref _allowed);
                    break;
                case { Type: EgressEventType.Connection or EgressEventType.Request, Decision: "deny" }:
                    Interlocked.Increment(ref _denied);
                    denials?.WriteLine(DenialLine(egressEvent));
                    break;
            }
        }

        private static string DenialLine(EgressEvent e)
        {
            var target = e.Method == "CONNECT" || e.Path is null
                ? $"CONNECT {e.Host}:{e.Port}"
                : $"{e.Method} {e.Scheme}://{e.Host}{(e.Port is 80 or 443 ? string.Empty : ":" + e.Port?.ToString(CultureInfo.InvariantCulture))}{e.Path}";
            return $"airlock: denied {target} ({e.Reason}{(e.WouldDeny ? ", audit: let through" : string.Empty)})";
        }
    }
}
