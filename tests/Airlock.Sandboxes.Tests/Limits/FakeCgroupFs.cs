using System.Diagnostics;
using System.Globalization;
using Airlock.Sandboxes.Limits;

namespace Airlock.Sandboxes.Tests.Limits;

/// <summary>
/// A fake cgroup v2 file system in a temporary directory, with the kernel behaviour the planner depends on: a new
/// group comes with the control files of the controllers its parent enables for it; a group with live processes
/// (other than the root) refuses to enable controllers for children and refuses removal; <c>cgroup.kill</c>
/// kills the group's processes; files cannot be created by writing. Not delegated, it refuses every change.
/// </summary>
internal sealed class FakeCgroupFs : ILimitHost, IDisposable
{
    /// <summary>This process's group, as <c>/proc/self/cgroup</c> says.</summary>
    public const string OwnGroupPath = "/agent.slice/run.scope";

    private readonly bool _delegated;
    private readonly bool _swap;
    private readonly string? _rejects;

    /// <param name="offered">The controllers the own group offers (its <c>cgroup.controllers</c>).</param>
    /// <param name="enabled">The controllers it already enables for children (its <c>cgroup.subtree_control</c>).</param>
    /// <param name="hasProcesses">Whether the own group has a live process of its own (this test process).</param>
    /// <param name="delegated">Whether this user may change the own group.</param>
    /// <param name="swap">Whether groups have <c>memory.swap.max</c> (swap accounting on).</param>
    /// <param name="rejects">A control file whose writes the kernel rejects (EINVAL).</param>
    /// <param name="mounted">Whether there is a cgroup v2 mount at all.</param>
    public FakeCgroupFs(string offered = "cpuset cpu io memory hugetlb pids", string enabled = "", bool hasProcesses = false, bool delegated = true, bool swap = true, string? rejects = null, bool mounted = true)
    {
        _delegated = delegated;
        _swap = swap;
        _rejects = rejects;
        Root = Directory.CreateTempSubdirectory("airlock-fake-cgroup-").FullName;
        OwnGroup = Root + OwnGroupPath;
        Directory.CreateDirectory(OwnGroup);
        File.WriteAllText(Path.Combine(Root, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids\n");
        File.WriteAllText(Path.Combine(OwnGroup, "cgroup.controllers"), offered + "\n");
        File.WriteAllText(Path.Combine(OwnGroup, "cgroup.subtree_control"), enabled + "\n");
        File.WriteAllText(Path.Combine(OwnGroup, "cgroup.procs"), hasProcesses ? Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n" : string.Empty);
        CgroupMount = mounted ? Root : null;
    }

    /// <summary>The temporary directory standing for <c>/sys/fs/cgroup</c>.</summary>
    public string Root { get; }

    /// <summary>The own group's directory.</summary>
    public string OwnGroup { get; }

    public string? CgroupMount { get; }

    public string SelfCgroup { get; set; } = $"4:memory:/v1-only\n0::{OwnGroupPath}\n";

    public string? Prlimit { get; init; } = "/usr/bin/prlimit";

    public long HostUid { get; init; } = 1000;

    /// <summary>A group under the own group, by name.</summary>
    public string Group(string name) => Path.Combine(OwnGroup, name);

    /// <summary>A control file's contents, without the trailing newline.</summary>
    public static string Read(string group, string file) => File.ReadAllText(Path.Combine(group, file)).TrimEnd('\n');

    public void CreateCgroup(string path)
    {
        if (!_delegated)
        {
            throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.");
        }

        if (Directory.Exists(path))
        {
            throw new IOException($"{path}: File exists");
        }

        Directory.CreateDirectory(path);
        var controllers = Read(Path.GetDirectoryName(path)!, "cgroup.subtree_control");
        File.WriteAllText(Path.Combine(path, "cgroup.controllers"), controllers + "\n");
        File.WriteAllText(Path.Combine(path, "cgroup.subtree_control"), "\n");
        File.WriteAllText(Path.Combine(path, "cgroup.procs"), string.Empty);
        File.WriteAllText(Path.Combine(path, "cgroup.kill"), string.Empty);
        foreach (var controller in Words(controllers))
        {
            switch (controller)
            {
                case "memory":
                    File.WriteAllText(Path.Combine(path, "memory.max"), "max\n");
                    if (_swap)
                    {
                        File.WriteAllText(Path.Combine(path, "memory.swap.max"), "max\n");
                    }

                    break;
                case "pids":
                    File.WriteAllText(Path.Combine(path, "pids.max"), "max\n");
                    break;
                case "cpu":
                    File.WriteAllText(Path.Combine(path, "cpu.max"), "max 100000\n");
                    break;
            }
        }
    }

    public void RemoveCgroup(string path)
    {
        if (!Directory.Exists(path))
        {
            throw new DirectoryNotFoundException(path);
        }

        if (LivePids(path).Any() || Directory.GetDirectories(path).Length > 0)
        {
            throw new IOException($"{path}: Device or resource busy");
        }

        Directory.Delete(path, recursive: true);
    }

    public void WriteControl(string path, string value)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException("No such file or directory", path);
        }

        if (!_delegated)
        {
            throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.");
        }

        var group = Path.GetDirectoryName(path)!;
        var name = Path.GetFileName(path);
        if (name == _rejects)
        {
            throw new IOException($"{path}: Invalid argument");
        }

        switch (name)
        {
            case "cgroup.subtree_control":
                var enabled = Words(Read(group, name)).ToHashSet(StringComparer.Ordinal);
                foreach (var change in Words(value))
                {
                    if (!Words(Read(group, "cgroup.controllers")).Contains(change[1..]))
                    {
                        throw new IOException($"{path}: No such file or directory");
                    }

                    if (group != Root && LivePids(group).Any())
                    {
                        throw new IOException($"{path}: Device or resource busy");
                    }

                    _ = change[0] == '+' ? enabled.Add(change[1..]) : enabled.Remove(change[1..]);
                }

                File.WriteAllText(path, string.Join(' ', enabled.Order(StringComparer.Ordinal)) + "\n");
                break;
            case "cgroup.kill":
                foreach (var pid in LivePids(group))
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill();
                }

                break;
            default:
                File.WriteAllText(path, value + "\n");
                break;
        }
    }

    /// <summary>The processes in a group that have not exited.</summary>
    public static IEnumerable<int> LivePids(string group) =>
        Words(Read(group, "cgroup.procs")).Select(p => int.Parse(p, CultureInfo.InvariantCulture)).Where(IsAlive).ToArray();

    public void Dispose() => Directory.Delete(Root, recursive: true);

    private static bool IsAlive(int pid)
    {
        try
        {
            // Field 3 of /proc/<pid>/stat is the state; Z is a zombie, which the kernel has taken out of its group.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string[] Words(string text) => text.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
}
