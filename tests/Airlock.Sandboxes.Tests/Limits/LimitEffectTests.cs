using System.Globalization;
using Airlock.Sandboxes.Limits;

namespace Airlock.Sandboxes.Tests.Limits;

/// <summary>
/// Real processes in real bubblewrap sandboxes, started through a plan for this machine: what the report says is
/// applied binds, and what it says is not applied does not. As the current user and, when that is root, once more
/// as an unprivileged user through <c>setpriv</c> (the plan then made for that user).
/// </summary>
public class LimitEffectTests
{
    private const string Python = "/usr/bin/python3";

    /// <summary>Allocates the megabytes in its argument: prints <c>allocated N</c>, or exits 3 on MemoryError.</summary>
    private const string Allocate = """
        import sys
        try:
            block = bytearray(int(sys.argv[1]) << 20)
        except MemoryError:
            sys.exit(3)
        print("allocated", len(block) >> 20)
        """;

    public static TheoryData<string> Users() => RealProcess.CurrentUid() == 0 ? ["current", "unprivileged"] : ["current"];

    [SkippableTheory]
    [MemberData(nameof(Users))]
    public async Task Under_a_pids_limit_a_sandbox_cannot_fork_beyond_it_and_without_one_it_can(string user)
    {
        SkipWithoutTools();
        var uid = user == "current" ? RealProcess.CurrentUid() : RealProcess.UnprivilegedUid;
        // RLIMIT_NPROC counts the uid's tasks outside the sandbox too (never root's): leave room so the sandbox starts.
        var cap = 10 + (uid == 0 ? 0 : RealProcess.TasksOf(uid));
        var attempts = cap + 20;
        var script = string.Create(CultureInfo.InvariantCulture, $"echo shell-started; i=0; pids=; while [ $i -lt {attempts} ]; do sleep 300 & pids=\"$pids $!\"; i=$((i+1)); echo started $i; done; kill $pids");
        await using var plan = Plan(user, new ResourceLimits { Pids = cap });
        var pids = Assert.Single(plan.Report);

        var limited = await RunAsync(user, plan.Wrap([.. RealProcess.Sandboxed("sh", "-c", script)]));
        var unlimited = await RunAsync(user, [.. RealProcess.Sandboxed("sh", "-c", script)]);

        Assert.True(limited.Stdout.Contains("shell-started", StringComparison.Ordinal), limited.Stdout + limited.Stderr);
        Assert.Equal(attempts, Started(unlimited.Stdout));
        if (uid == 0)
        {
            // Host root is exempt from RLIMIT_NPROC: only cgroup v2 could hold it, and the report must say which.
            Assert.NotEqual("prlimit", pids.Mechanism);
        }
        else
        {
            Assert.True(pids.IsApplied, pids.Detail);
        }

        if (pids.IsApplied)
        {
            Assert.InRange(Started(limited.Stdout), 0, cap - 1);
        }
        else
        {
            Assert.Equal(attempts, Started(limited.Stdout));
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Users))]
    public async Task Under_a_memory_limit_a_large_allocation_fails_and_a_small_one_succeeds(string user)
    {
        SkipWithoutTools();
        Skip.IfNot(File.Exists(Python), "python3 is not installed");
        await using var plan = Plan(user, new ResourceLimits { MemoryBytes = 64L << 20 });
        var memory = Assert.Single(plan.Report);
        Assert.True(memory.IsApplied, memory.Detail);

        var small = await RunAsync(user, plan.Wrap([.. RealProcess.Sandboxed(Python, "-c", Allocate, "16")]));
        var large = await RunAsync(user, plan.Wrap([.. RealProcess.Sandboxed(Python, "-c", Allocate, "256")]));
        var unlimited = await RunAsync(user, [.. RealProcess.Sandboxed(Python, "-c", Allocate, "256")]);

        Assert.True(small.Stdout.Trim() == "allocated 16", small.Stdout + small.Stderr);
        Assert.NotEqual(0, large.ExitCode);
        Assert.DoesNotContain("allocated", large.Stdout, StringComparison.Ordinal);
        Assert.True(unlimited.Stdout.Trim() == "allocated 256", unlimited.Stdout + unlimited.Stderr);
    }

    private static LimitPlan Plan(string user, ResourceLimits limits) =>
        user == "current"
            ? LimitPlanner.Plan(limits)
            : LimitPlanner.Plan(limits, LinuxLimitHost.Probe() with { HostUid = RealProcess.UnprivilegedUid }, Guid.NewGuid().ToString("N")[..12]);

    private static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string user, IEnumerable<string> argv) =>
        RealProcess.RunAsync(user == "current" ? argv : RealProcess.AsUnprivileged(argv));

    private static int Started(string stdout) => stdout.Split('\n').Count(l => l.StartsWith("started ", StringComparison.Ordinal));

    private static void SkipWithoutTools()
    {
        Skip.IfNot(RealProcess.IsOnPath("bwrap"), "bubblewrap is not installed");
        Skip.IfNot(RealProcess.IsOnPath("prlimit"), "prlimit (util-linux) is not installed");
    }
}
