using System.Globalization;
using Airlock.Sandboxes.Limits;

namespace Airlock.Sandboxes.Tests.Limits;

public class LinuxLimitHostTests
{
    private const string Hybrid = """
        25 31 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
        30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
        31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
        32 30 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory
        """;

    private const string Unified = """
        25 31 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
        33 25 0:27 / /mnt/other\040cgroup rw shared:12 - cgroup2 cgroup2 rw
        30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
        """;

    [Theory]
    [InlineData(Hybrid, "/sys/fs/cgroup/unified")]
    [InlineData(Unified, "/sys/fs/cgroup")]
    [InlineData("33 25 0:27 / /mnt/other\\040cgroup rw shared:12 - cgroup2 cgroup2 rw\n", "/mnt/other cgroup")]
    [InlineData("32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", null)]
    [InlineData("", null)]
    public void The_cgroup_v2_mount_is_found_in_mountinfo(string mountinfo, string? expected) =>
        Assert.Equal(expected, LinuxLimitHost.FindCgroup2Mount(mountinfo));

    [Theory]
    [InlineData(0, "         0          0 4294967295\n", 0)]
    [InlineData(1000, "         0          0 4294967295\n", 1000)]
    [InlineData(0, "         0     100000      65536\n", 100000)]
    [InlineData(1000, "         0     100000      65536\n", 101000)]
    [InlineData(1000, "      1000       1000          1\n", 1000)]
    [InlineData(5, "", 5)]
    public void A_uid_is_seen_as_the_host_sees_it(long uid, string uidMap, long expected) =>
        Assert.Equal(expected, LinuxLimitHost.ToHostUid(uid, uidMap));

    [Fact]
    public async Task The_probe_reads_this_machine_as_findmnt_id_and_the_PATH_see_it()
    {
        var host = LinuxLimitHost.Probe();

        var cgroup2 = (await RealProcess.RunAsync(["findmnt", "--list", "--noheadings", "--types", "cgroup2", "--output", "TARGET"])).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(cgroup2.Contains("/sys/fs/cgroup") ? "/sys/fs/cgroup" : cgroup2.FirstOrDefault(), host.CgroupMount);
        Assert.Equal(await File.ReadAllTextAsync("/proc/self/cgroup"), host.SelfCgroup);
        var uid = long.Parse((await RealProcess.RunAsync(["id", "-u"])).Stdout, CultureInfo.InvariantCulture);
        Assert.Equal(LinuxLimitHost.ToHostUid(uid, await File.ReadAllTextAsync("/proc/self/uid_map")), host.HostUid);
        Assert.Equal(RealProcess.IsOnPath("prlimit"), host.Prlimit is not null);
    }
}
