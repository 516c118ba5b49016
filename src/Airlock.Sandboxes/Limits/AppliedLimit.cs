namespace Airlock.Sandboxes.Limits;

/// <summary>How one requested limit is applied on this machine, or why it is not.</summary>
/// <param name="Name">Which limit: <c>memory</c>, <c>pids</c> or <c>cpus</c>.</param>
/// <param name="Requested">The limit as asked for, e.g. <c>512M</c>.</param>
/// <param name="Mechanism">One of <see cref="LimitMechanism"/>'s values.</param>
/// <param name="Detail">
/// What exactly was set (e.g. <c>memory.max=536870912</c>, <c>RLIMIT_DATA=536870912 per process</c>) or why
/// nothing was.
/// </param>
public sealed record AppliedLimit(string Name, string Requested, string Mechanism, string Detail)
{
    /// <summary>Whether the limit binds the sandbox at all.</summary>
    public bool IsApplied => Mechanism != LimitMechanism.None;

    /// <summary>One line for a person: <c>memory 512M: applied with prlimit (RLIMIT_DATA=… per process)</c>.</summary>
    public string Describe() => IsApplied
        ? $"{Name} {Requested}: applied with {Mechanism} ({Detail})"
        : $"{Name} {Requested}: NOT applied ({Detail})";
}

/// <summary>The ways a limit can be applied.</summary>
public static class LimitMechanism
{
    /// <summary>A cgroup v2 group of the sandbox's own, covering all of its processes together.</summary>
    public const string Cgroup2 = "cgroup2";

    /// <summary>A resource limit (setrlimit) set by util-linux <c>prlimit</c> and inherited by every process.</summary>
    public const string Prlimit = "prlimit";

    /// <summary>Not applied; the detail says why.</summary>
    public const string None = "none";
}
