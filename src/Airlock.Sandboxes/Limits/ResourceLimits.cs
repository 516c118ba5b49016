namespace Airlock.Sandboxes.Limits;

/// <summary>
/// What one sandbox may use. A null limit is no limit. <see cref="LimitPlanner"/> decides how each is applied on
/// the machine at hand and says so; <see cref="ResourceLimitSyntax"/> reads them from command-line text.
/// </summary>
public sealed record ResourceLimits
{
    /// <summary>No limits at all.</summary>
    public static ResourceLimits None { get; } = new();

    /// <summary>
    /// Memory in bytes: for the whole sandbox under cgroup v2, for each process's data (heap and private
    /// writable mappings) under prlimit.
    /// </summary>
    public long? MemoryBytes { get; init; }

    /// <summary>How many processes and threads may exist at once.</summary>
    public int? Pids { get; init; }

    /// <summary>CPU time as a number of CPUs (0.5 is half of one CPU's time).</summary>
    public double? Cpus { get; init; }
}
