using System.Collections.Immutable;

namespace Airlock.Sandboxes.Limits;

/// <summary>
/// How a sandbox's limits are applied on this machine: <see cref="Report"/> says what binds and what does not,
/// <see cref="Wrap"/> turns the sandbox's command into one that starts under the limits. Disposing removes the
/// cgroup the plan created, ending whatever is still inside it.
/// </summary>
public sealed class LimitPlan : IAsyncDisposable
{
    /// <summary>
    /// Joins the cgroup whose <c>cgroup.procs</c> is <c>$0</c>, then becomes the command: the process is in the group
    /// before the command's first instruction runs, and all it forks is born there. The arguments travel as
    /// positional parameters, never through the shell's parser. If the join fails, nothing runs.
    /// </summary>
    internal const string JoinScript = "echo $$ > \"$0\" && exec \"$@\"";

    private const int RemoveAttempts = 50;
    private static readonly TimeSpan RemoveRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly ILimitHost _host;
    private readonly ImmutableArray<string> _prlimit;

    internal LimitPlan(ILimitHost host, ImmutableArray<AppliedLimit> report, string? cgroup, ImmutableArray<string> prlimit)
    {
        _host = host;
        Report = report;
        Cgroup = cgroup;
        _prlimit = prlimit;
    }

    /// <summary>Each requested limit: how it is applied, or why it is not. Empty when nothing was requested.</summary>
    public IReadOnlyList<AppliedLimit> Report { get; }

    /// <summary>The cgroup directory the started processes join; null when cgroup v2 is not used.</summary>
    internal string? Cgroup { get; }

    /// <summary>
    /// The command to start instead of <paramref name="argv"/>: it applies the limits to itself and then becomes
    /// <paramref name="argv"/>, so the limits bind the command and everything it starts from its first instruction.
    /// Every command wrapped by one plan shares its cgroup.
    /// </summary>
    public ImmutableArray<string> Wrap(ImmutableArray<string> argv)
    {
        if (argv.IsDefaultOrEmpty || argv[0].Length == 0 || argv[0].StartsWith('-'))
        {
            throw new ArgumentException("the command must start with a program name", nameof(argv));
        }

        if (Cgroup is null && _prlimit.IsEmpty)
        {
            return argv;
        }

        var wrapped = ImmutableArray.CreateBuilder<string>();
        if (Cgroup is not null)
        {
            wrapped.AddRange("/bin/sh", "-c", JoinScript, Path.Combine(Cgroup, "cgroup.procs"));
        }

        wrapped.AddRange(_prlimit);
        wrapped.AddRange(argv);
        return wrapped.ToImmutable();
    }

    /// <summary>
    /// The part of <see cref="Wrap"/> that binds a whole sandbox: joining the cgroup, when there is one. A sandbox
    /// started this way counts its supervisor-side helpers (the agent, the bridge) in the group's totals too.
    /// </summary>
    public ImmutableArray<string> WrapSandbox(ImmutableArray<string> argv) =>
        Cgroup is null ? argv : [.. Wrap(argv)[..4], .. argv];

    /// <summary>
    /// The per-process part of <see cref="Wrap"/> (<c>prlimit … --</c>), to put before each command started inside a
    /// sandbox rather than before the sandbox itself, so that the sandbox's own helpers (the agent, the bridge,
    /// runtimes that reserve much address space) are not held to a per-process budget meant for the command.
    /// Empty when nothing is applied that way. The program path is the host's, which the sandbox sees read-only.
    /// </summary>
    public ImmutableArray<string> CommandPrefix => _prlimit;

    /// <summary>
    /// Removes the plan's cgroup. Processes still inside are killed first (<c>cgroup.kill</c>) and awaited for a
    /// few seconds; a group that still does not go is left behind rather than failing the caller's cleanup.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Cgroup is null)
        {
            return;
        }

        for (var attempt = 0; ; attempt++)
        {
            try
            {
                _host.RemoveCgroup(Cgroup);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }
            catch (IOException) when (attempt < RemoveAttempts)
            {
                // Busy: it still has processes, or exiting ones the kernel has not yet let go.
                if (attempt == 0)
                {
                    Kill();
                }

                await Task.Delay(RemoveRetryDelay).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return;
            }
        }
    }

    private void Kill()
    {
        var kill = Path.Combine(Cgroup!, "cgroup.kill");
        try
        {
            if (File.Exists(kill))
            {
                _host.WriteControl(kill, "1");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Kernels before 5.14 have no cgroup.kill; the processes may still end on their own.
        }
    }
}
