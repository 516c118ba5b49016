using System.Globalization;
using Airlock.Sandboxes.Limits;

namespace Airlock.Sandboxes.Tests.Limits;

/// <summary>The probe and the planner on this real machine, checked against what real tools say about it.</summary>
public class ThisMachineTests
{
    [SkippableFact]
    public async Task On_this_machine_memory_and_pids_go_to_cgroup_v2_only_on_a_unified_layout_and_otherwise_to_prlimit()
    {
        Skip.IfNot(RealProcess.IsOnPath("prlimit"), "prlimit (util-linux) is not installed");
        var layout = (await RealProcess.RunAsync(["stat", "--file-system", "--format=%T", "/sys/fs/cgroup"])).Stdout.Trim();

        await using var plan = LimitPlanner.Plan(new ResourceLimits { MemoryBytes = 512L << 20, Pids = 64, Cpus = 0.5 });

        Assert.Equal([("memory", "512M"), ("pids", "64"), ("cpus", "0.5")], plan.Report.Select(l => (l.Name, l.Requested)));
        if (layout != "cgroup2fs")
        {
            // A hybrid or v1-only layout: the v1 hierarchies own memory, pids and cpu, so cgroup v2 cannot have them.
            var (memory, pids, cpus) = (plan.Report[0], plan.Report[1], plan.Report[2]);
            Assert.Equal("prlimit", memory.Mechanism);
            Assert.StartsWith("RLIMIT_DATA=536870912 per process", memory.Detail, StringComparison.Ordinal);
            Assert.Contains("; not cgroup v2: ", memory.Detail, StringComparison.Ordinal);
            Assert.Equal(RealProcess.CurrentUid() == 0 ? "none" : "prlimit", pids.Mechanism);
            Assert.Equal("none", cpus.Mechanism);
            Assert.EndsWith("; prlimit has no CPU-rate limit", cpus.Detail, StringComparison.Ordinal);
            Assert.Null(plan.Cgroup);
            var wrapped = plan.Wrap(["true"]);
            Assert.Equal("prlimit", Path.GetFileName(wrapped[0]));
            Assert.Equal("--data=536870912", wrapped[1]);
        }
        else
        {
            foreach (var limit in plan.Report.Where(l => l.Mechanism == "cgroup2"))
            {
                Assert.EndsWith(" in " + plan.Cgroup, limit.Detail, StringComparison.Ordinal);
            }

            Assert.All(plan.Report.Where(l => l.Mechanism != "cgroup2"), l => Assert.Contains("cgroup v2", l.Detail, StringComparison.Ordinal));
        }
    }

    [SkippableFact]
    public async Task A_wrapped_command_is_in_a_real_cgroup_v2_group_from_the_start_and_disposing_kills_and_removes_it()
    {
        var host = LinuxLimitHost.Probe();
        var own = host.SelfCgroup.Split('\n').FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal))?["0::".Length..];
        Skip.If(host.CgroupMount is null || own is null, "no cgroup v2 here");
        var name = "airlock-test-" + Guid.NewGuid().ToString("N")[..8];
        var directory = Path.Join(host.CgroupMount, own, name);
        try
        {
            host.CreateCgroup(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SkipException($"cannot create a cgroup v2 group here: {e.Message}");
        }

        var plan = new LimitPlan(host, [], directory, []);
        try
        {
            var run = await RealProcess.RunAsync(plan.Wrap(["sh", "-c", "cat /proc/self/cgroup; cat /proc/$$/cgroup"]));
            var expected = "0::" + Path.Join(own, name);
            Assert.Equal(2, run.Stdout.Split('\n').Count(l => l == expected));

            using var straggler = RealProcess.Start(plan.Wrap(["sleep", "300"]));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (!(await File.ReadAllTextAsync(Path.Combine(directory, "cgroup.procs"), timeout.Token)).Contains(straggler.Id.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal))
            {
                await Task.Delay(20, timeout.Token);
            }

            await plan.DisposeAsync();

            await straggler.WaitForExitAsync(timeout.Token);
            Assert.False(Directory.Exists(directory));
        }
        finally
        {
            await plan.DisposeAsync();
        }
    }
}
