using System.Collections.Immutable;
using Airlock.Sandboxes.Limits;

namespace Airlock.Sandboxes.Tests.Limits;

/// <summary>The planner's decisions against a fake cgroup v2 file system laid out in a temporary directory.</summary>
public sealed class LimitPlannerTests : IDisposable
{
    private static readonly ResourceLimits All = new() { MemoryBytes = 512L << 20, Pids = 64, Cpus = 0.5 };
    private static readonly ImmutableArray<string> Command = ["bwrap", "--unshare-all", "--", "sh", "-c", "echo hi"];

    private readonly List<FakeCgroupFs> _fakes = [];

    public void Dispose()
    {
        foreach (var fake in _fakes)
        {
            fake.Dispose();
        }
    }

    [Fact]
    public async Task A_delegated_group_gets_every_limit_written_exactly()
    {
        var fake = Fake(enabled: "memory pids cpu");

        await using var plan = LimitPlanner.Plan(All, fake, "t1");

        var group = fake.Group("airlock-t1");
        Assert.Equal("536870912", FakeCgroupFs.Read(group, "memory.max"));
        Assert.Equal("0", FakeCgroupFs.Read(group, "memory.swap.max"));
        Assert.Equal("64", FakeCgroupFs.Read(group, "pids.max"));
        Assert.Equal("50000 100000", FakeCgroupFs.Read(group, "cpu.max"));
        Assert.Equal(
            [
                new AppliedLimit("memory", "512M", "cgroup2", $"memory.max=536870912 memory.swap.max=0 in {group}"),
                new AppliedLimit("pids", "64", "cgroup2", $"pids.max=64 in {group}"),
                new AppliedLimit("cpus", "0.5", "cgroup2", $"cpu.max=\"50000 100000\" in {group}"),
            ],
            plan.Report);
    }

    [Fact]
    public async Task The_command_joins_the_group_through_a_shell_that_takes_it_as_positional_arguments()
    {
        var fake = Fake(enabled: "memory pids cpu");

        await using var plan = LimitPlanner.Plan(All, fake, "t1");

        Assert.Equal<string>(["/bin/sh", "-c", "echo $$ > \"$0\" && exec \"$@\"", fake.Group("airlock-t1") + "/cgroup.procs", .. Command], plan.Wrap(Command));
    }

    [Fact]
    public async Task The_started_process_is_in_the_group_before_it_becomes_the_command_and_its_arguments_arrive_untouched()
    {
        var fake = Fake(enabled: "pids");
        await using var plan = LimitPlanner.Plan(new ResourceLimits { Pids = 64 }, fake, "t1");
        string[] arguments = ["a b", "$(touch /tmp/airlock-pwned)", "it's \"quoted\"", "*"];

        var run = await RealProcess.RunAsync(plan.Wrap(["/bin/sh", "-c", "echo $$; printf '%s|' \"$@\"", "sh", .. arguments]));

        var lines = run.Stdout.Split('\n');
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(FakeCgroupFs.Read(fake.Group("airlock-t1"), "cgroup.procs"), lines[0]);
        Assert.Equal(string.Join('|', arguments) + "|", lines[1]);
        Assert.False(File.Exists("/tmp/airlock-pwned"));
    }

    [Fact]
    public async Task Controllers_offered_but_not_enabled_are_enabled_for_the_sandbox()
    {
        var fake = Fake(enabled: "io");

        await using var plan = LimitPlanner.Plan(All, fake, "t1");

        Assert.Equal("cpu io memory pids", FakeCgroupFs.Read(fake.OwnGroup, "cgroup.subtree_control"));
        Assert.All(plan.Report, limit => Assert.Equal("cgroup2", limit.Mechanism));
    }

    [Fact]
    public async Task A_group_with_processes_of_its_own_cannot_give_controllers_so_prlimit_stands_in()
    {
        var fake = Fake(hasProcesses: true);

        await using var plan = LimitPlanner.Plan(All, fake, "t1");

        Assert.False(Directory.Exists(fake.Group("airlock-t1")));
        Assert.Equal(["prlimit", "prlimit", "none"], plan.Report.Select(l => l.Mechanism));
        var why = $"cgroup v2 cannot enable memory pids cpu for the children of {fake.OwnGroup}, which has processes of its own; a cgroup with processes cannot give controllers to children ({fake.OwnGroup}/cgroup.subtree_control: Device or resource busy)";
        Assert.Equal($"RLIMIT_DATA=536870912 per process: each process's heap and private writable memory, not the sandbox as a whole; not cgroup v2: {why}", plan.Report[0].Detail);
        Assert.Equal($"RLIMIT_NPROC=64: counts every process and thread of host uid 1000, the sandbox's and any others; not cgroup v2: {why}", plan.Report[1].Detail);
        Assert.Equal($"{why}; prlimit has no CPU-rate limit", plan.Report[2].Detail);
        Assert.Equal<string>(["/usr/bin/prlimit", "--data=536870912", "--nproc=64", "--", .. Command], plan.Wrap(Command));
    }

    [Fact]
    public async Task An_undelegated_group_leaves_memory_and_pids_to_prlimit_and_cpus_unapplied()
    {
        var fake = Fake(enabled: "memory pids cpu", delegated: false);

        await using var plan = LimitPlanner.Plan(All, fake, "t1");

        Assert.False(Directory.Exists(fake.Group("airlock-t1")));
        Assert.Equal(["prlimit", "prlimit", "none"], plan.Report.Select(l => l.Mechanism));
        Assert.StartsWith($"cgroup v2 is not delegated here: cannot create {fake.Group("airlock-t1")} (", plan.Report[2].Detail, StringComparison.Ordinal);
        Assert.EndsWith("; prlimit has no CPU-rate limit", plan.Report[2].Detail, StringComparison.Ordinal);
        Assert.False(plan.Report[2].IsApplied);
    }

    [Fact]
    public async Task Enabling_controllers_without_write_access_is_reported_as_not_delegated()
    {
        var fake = Fake(enabled: string.Empty, delegated: false);

        await using var plan = LimitPlanner.Plan(new ResourceLimits { Cpus = 2 }, fake, "t1");

        Assert.StartsWith($"cgroup v2 is not delegated here: cannot enable cpu for the children of {fake.OwnGroup} (", Assert.Single(plan.Report).Detail, StringComparison.Ordinal);
        Assert.Equal("none", plan.Report[0].Mechanism);
        Assert.Equal<string>(Command, plan.Wrap(Command));
    }

    [Fact]
    public async Task Each_limit_uses_cgroup_v2_when_its_controller_is_offered_and_falls_back_alone_otherwise()
    {
        var fake = Fake(offered: "memory io", enabled: "memory");

        await using var plan = LimitPlanner.Plan(All, fake, "t1");

        var group = fake.Group("airlock-t1");
        Assert.Equal(["cgroup2", "prlimit", "none"], plan.Report.Select(l => l.Mechanism));
        Assert.Equal($"cgroup v2 group {fake.OwnGroup} does not offer the cpu controller (it offers: memory io); prlimit has no CPU-rate limit", plan.Report[2].Detail);
        Assert.Equal<string>(["/bin/sh", "-c", LimitPlan.JoinScript, group + "/cgroup.procs", "/usr/bin/prlimit", "--nproc=64", "--", .. Command], plan.Wrap(Command));
        Assert.False(File.Exists(Path.Combine(group, "pids.max")));
    }

    [Fact]
    public async Task Without_swap_accounting_only_memory_max_is_written()
    {
        var fake = Fake(enabled: "memory", swap: false);

        await using var plan = LimitPlanner.Plan(new ResourceLimits { MemoryBytes = 64L << 20 }, fake, "t1");

        Assert.Equal($"memory.max=67108864 in {fake.Group("airlock-t1")}", Assert.Single(plan.Report).Detail);
        Assert.False(File.Exists(Path.Combine(fake.Group("airlock-t1"), "memory.swap.max")));
    }

    [Fact]
    public async Task A_value_the_kernel_rejects_removes_the_half_made_group_and_falls_back()
    {
        var fake = Fake(enabled: "memory pids cpu", rejects: "cpu.max");

        await using var plan = LimitPlanner.Plan(All, fake, "t1");

        var group = fake.Group("airlock-t1");
        Assert.False(Directory.Exists(group));
        Assert.Equal(["prlimit", "prlimit", "none"], plan.Report.Select(l => l.Mechanism));
        Assert.Equal($"cgroup v2 refused cpu.max=\"50000 100000\" in {group} ({group}/cpu.max: Invalid argument); prlimit has no CPU-rate limit", plan.Report[2].Detail);
        Assert.Equal("/usr/bin/prlimit", plan.Wrap(Command)[0]);
    }

    [Fact]
    public async Task On_a_hybrid_layout_the_unified_hierarchy_offers_none_of_the_controllers()
    {
        var fake = Fake(offered: "hugetlb");

        await using var plan = LimitPlanner.Plan(All, fake, "t1");

        Assert.Equal($"RLIMIT_DATA=536870912 per process: each process's heap and private writable memory, not the sandbox as a whole; not cgroup v2: cgroup v2 group {fake.OwnGroup} does not offer the memory controller (it offers: hugetlb)", plan.Report[0].Detail);
        Assert.Equal("cgroup v2 group " + fake.OwnGroup + " does not offer the cpu controller (it offers: hugetlb); prlimit has no CPU-rate limit", plan.Report[2].Detail);
        Assert.Empty(Directory.GetDirectories(fake.OwnGroup));
    }

    [Fact]
    public async Task Processes_of_host_root_are_not_bound_by_RLIMIT_NPROC_so_pids_is_not_applied()
    {
        var fake = Fake(hasProcesses: true, hostUid: 0);

        await using var plan = LimitPlanner.Plan(new ResourceLimits { Pids = 64 }, fake, "t1");

        var pids = Assert.Single(plan.Report);
        Assert.Equal("none", pids.Mechanism);
        Assert.EndsWith("; RLIMIT_NPROC does not bind processes of host root, and the sandbox's run as host uid 0", pids.Detail, StringComparison.Ordinal);
        Assert.Equal<string>(Command, plan.Wrap(Command));
    }

    [Fact]
    public async Task Without_cgroup_v2_or_prlimit_nothing_is_applied_and_every_limit_says_why()
    {
        var fake = Fake(mounted: false, prlimit: null);

        await using var plan = LimitPlanner.Plan(All, fake, "t1");

        Assert.Equal(
            [
                "no cgroup v2 file system is mounted; prlimit (util-linux) is not installed",
                "no cgroup v2 file system is mounted; prlimit (util-linux) is not installed",
                "no cgroup v2 file system is mounted; prlimit has no CPU-rate limit",
            ],
            plan.Report.Select(l => l.Detail));
        Assert.All(plan.Report, l => Assert.False(l.IsApplied));
        Assert.Equal<string>(Command, plan.Wrap(Command));
    }

    [Fact]
    public async Task A_process_outside_cgroup_v2_is_reported()
    {
        var fake = Fake(selfCgroup: "4:memory:/x\n1:cpu:/\n");

        await using var plan = LimitPlanner.Plan(new ResourceLimits { Cpus = 1 }, fake, "t1");

        Assert.Equal("this process is in no cgroup v2 group (/proc/self/cgroup has no 0:: line); prlimit has no CPU-rate limit", Assert.Single(plan.Report).Detail);
    }

    [Fact]
    public async Task No_limits_need_nothing()
    {
        var fake = Fake(enabled: "memory pids cpu");

        await using var plan = LimitPlanner.Plan(ResourceLimits.None, fake, "t1");

        Assert.Empty(plan.Report);
        Assert.Equal<string>(Command, plan.Wrap(Command));
        Assert.Empty(Directory.GetDirectories(fake.OwnGroup));
    }

    [Fact]
    public async Task Disposing_removes_the_group_once_its_processes_are_gone()
    {
        var fake = Fake(enabled: "pids");
        var plan = LimitPlanner.Plan(new ResourceLimits { Pids = 8 }, fake, "t1");
        var run = await RealProcess.RunAsync(plan.Wrap(["true"]));
        Assert.Equal(0, run.ExitCode);
        Assert.NotEmpty(FakeCgroupFs.Read(fake.Group("airlock-t1"), "cgroup.procs"));

        await plan.DisposeAsync();

        Assert.False(Directory.Exists(fake.Group("airlock-t1")));
    }

    [Fact]
    public async Task Disposing_kills_what_is_left_in_the_group_and_removes_it()
    {
        var fake = Fake(enabled: "pids");
        var plan = LimitPlanner.Plan(new ResourceLimits { Pids = 8 }, fake, "t1");
        using var straggler = RealProcess.Start(plan.Wrap(["sleep", "300"]));
        try
        {
            await WaitUntilAsync(() => FakeCgroupFs.LivePids(fake.Group("airlock-t1")).Contains(straggler.Id));

            await plan.DisposeAsync();

            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await straggler.WaitForExitAsync(exited.Token);
            Assert.False(Directory.Exists(fake.Group("airlock-t1")));
        }
        finally
        {
            straggler.Kill();
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("-x")]
    public async Task A_command_must_start_with_a_program(string program)
    {
        await using var plan = LimitPlanner.Plan(new ResourceLimits { Pids = 8 }, Fake(enabled: "pids"), "t1");

        Assert.Throws<ArgumentException>(() => plan.Wrap([program, "arg"]));
        Assert.Throws<ArgumentException>(() => plan.Wrap([]));
    }

    [Fact]
    public void Limits_that_bypassed_the_syntax_are_a_bug()
    {
        var fake = Fake();

        Assert.Throws<ArgumentOutOfRangeException>(() => LimitPlanner.Plan(new ResourceLimits { MemoryBytes = -1 }, fake, "t1"));
        Assert.Throws<ArgumentOutOfRangeException>(() => LimitPlanner.Plan(new ResourceLimits { Pids = 0 }, fake, "t1"));
        Assert.Throws<ArgumentOutOfRangeException>(() => LimitPlanner.Plan(new ResourceLimits { Cpus = double.NaN }, fake, "t1"));
        Assert.Empty(Directory.GetDirectories(fake.OwnGroup));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(20, timeout.Token);
        }
    }

    private FakeCgroupFs Fake(
        string offered = "cpuset cpu io memory hugetlb pids",
        string enabled = "",
        bool hasProcesses = false,
        bool delegated = true,
        bool swap = true,
        string? rejects = null,
        bool mounted = true,
        string? prlimit = "/usr/bin/prlimit",
        long hostUid = 1000,
        string? selfCgroup = null)
    {
        var fake = new FakeCgroupFs(offered, enabled, hasProcesses, delegated, swap, rejects, mounted)
        {
            Prlimit = prlimit,
            HostUid = hostUid,
        };
        if (selfCgroup is not null)
        {
            fake.SelfCgroup = selfCgroup;
        }

        _fakes.Add(fake);
        return fake;
    }
}
