using System.Collections.Immutable;

namespace Airlock.Sandboxes.Limits;

/// <summary>One requested limit, and what cgroup v2 would need for it.</summary>
/// <param name="Name">memory, pids or cpus.</param>
/// <param name="Requested">As the user would write it.</param>
/// <param name="Controller">The cgroup v2 controller that enforces it.</param>
/// <param name="Writes">The control files to write in the sandbox's group.</param>
internal sealed record LimitRequest(string Name, string Requested, string Controller, ImmutableArray<ControlWrite> Writes);

/// <summary>A value for a cgroup control file.</summary>
/// <param name="File">The file's name, e.g. <c>memory.max</c>.</param>
/// <param name="Value">What to write.</param>
/// <param name="OnlyIfPresent">Skip it when the kernel has no such file (<c>memory.swap.max</c> without swap accounting).</param>
internal readonly record struct ControlWrite(string File, string Value, bool OnlyIfPresent = false)
{
    /// <summary>As shown in a report: <c>memory.max=536870912</c>, <c>cpu.max="50000 100000"</c>.</summary>
    public override string ToString() => Value.Contains(' ', StringComparison.Ordinal) ? $"{File}=\"{Value}\"" : $"{File}={Value}";
}
