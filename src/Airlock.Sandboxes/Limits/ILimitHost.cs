namespace Airlock.Sandboxes.Limits;

/// <summary>
/// The facts about the machine that <see cref="LimitPlanner"/> decides from, and the few cgroup file system
/// operations whose kernel semantics matter (a new group comes with its control files; a group with processes
/// refuses controllers for its children and refuses removal). The tests substitute a fake laid out in a
/// temporary directory.
/// </summary>
internal interface ILimitHost
{
    /// <summary>Where the cgroup v2 file system is mounted; null when it is not.</summary>
    string? CgroupMount { get; }

    /// <summary>The contents of <c>/proc/self/cgroup</c>.</summary>
    string SelfCgroup { get; }

    /// <summary>The path of util-linux <c>prlimit</c>; null when it is not installed.</summary>
    string? Prlimit { get; }

    /// <summary>The uid, as the host kernel sees it, that owns the processes this process starts.</summary>
    long HostUid { get; }

    /// <summary>Creates a cgroup; throws if it exists or cannot be created.</summary>
    void CreateCgroup(string path);

    /// <summary>Removes a cgroup; throws <see cref="IOException"/> while it still has processes.</summary>
    void RemoveCgroup(string path);

    /// <summary>Writes a control file in one write, as the kernel wants; throws if the kernel refuses the value.</summary>
    void WriteControl(string path, string value);
}
