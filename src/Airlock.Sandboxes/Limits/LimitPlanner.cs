using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;

namespace Airlock.Sandboxes.Limits;

/// <summary>
/// Decides how a sandbox's limits are applied on this machine. Each limit goes to cgroup v2 when this process's
/// group is delegated and offers the controller (all of the sandbox's processes together, race-free); otherwise
/// to util-linux <c>prlimit</c> where a resource limit can stand in; otherwise nowhere, with the reason.
/// </summary>
public static class LimitPlanner
{
    /// <summary>The <c>cpu.max</c> period, in microseconds.</summary>
    internal const long CpuPeriod = 100_000;

    /// <summary>
    /// Plans <paramref name="limits"/> for processes this process starts; creates the sandbox's cgroup when one
    /// is used. Never throws for what the machine lacks: an unusable mechanism is reported, not raised.
    /// </summary>
    public static LimitPlan Plan(ResourceLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        return Plan(limits, LinuxLimitHost.Probe(), Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
    }

    internal static LimitPlan Plan(ResourceLimits limits, ILimitHost host, string id)
    {
        var requests = Requests(limits);
        if (requests.IsEmpty)
        {
            return new LimitPlan(host, [], null, []);
        }

        var group = CgroupV2Group.Create(host, "airlock-" + id, requests);
        var report = ImmutableArray.CreateBuilder<AppliedLimit>();
        var prlimit = ImmutableArray.CreateBuilder<string>();
        foreach (var request in requests)
        {
            if (group.Applied.TryGetValue(request.Controller, out var applied))
            {
                report.Add(new AppliedLimit(request.Name, request.Requested, LimitMechanism.Cgroup2, applied));
                continue;
            }

            var (mechanism, detail, option) = Fallback(request, limits, host, group.Reasons[request.Controller]);
            report.Add(new AppliedLimit(request.Name, request.Requested, mechanism, detail));
            if (option is not null)
            {
                prlimit.Add(option);
            }
        }

        var prefix = prlimit.Count == 0 ? [] : ImmutableArray.Create(host.Prlimit!).AddRange(prlimit).Add("--");
        return new LimitPlan(host, report.ToImmutable(), group.Directory, prefix);
    }

    private static ImmutableArray<LimitRequest> Requests(ResourceLimits limits)
    {
        var requests = ImmutableArray.CreateBuilder<LimitRequest>();
        if (limits.MemoryBytes is { } bytes)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes, nameof(limits));
            var value = bytes.ToString(CultureInfo.InvariantCulture);
            requests.Add(new LimitRequest("memory", ResourceLimitSyntax.FormatMemory(bytes), "memory", [new("memory.max", value), new("memory.swap.max", "0", OnlyIfPresent: true)]));
        }

        if (limits.Pids is { } pids)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pids, nameof(limits));
            requests.Add(new LimitRequest("pids", pids.ToString(CultureInfo.InvariantCulture), "pids", [new("pids.max", pids.ToString(CultureInfo.InvariantCulture))]));
        }

        if (limits.Cpus is { } cpus)
        {
            if (!(cpus >= ResourceLimitSyntax.MinimumCpus && cpus <= ResourceLimitSyntax.MaximumCpus))
            {
                throw new ArgumentOutOfRangeException(nameof(limits), cpus, "cpus must be between ResourceLimitSyntax.MinimumCpus and MaximumCpus");
            }

            var quota = (long)Math.Round(cpus * CpuPeriod);
            requests.Add(new LimitRequest("cpus", ResourceLimitSyntax.FormatCpus(cpus), "cpu", [new("cpu.max", string.Create(CultureInfo.InvariantCulture, $"{quota} {CpuPeriod}"))]));
        }

        return requests.ToImmutable();
    }

    /// <summary>What stands in for cgroup v2, which cannot be had for <paramref name="why"/>.</summary>
    private static (string Mechanism, string Detail, string? Option) Fallback(LimitRequest request, ResourceLimits limits, ILimitHost host, string why)
    {
        if (request.Name == "cpus")
        {
            return (LimitMechanism.None, $"{why}; prlimit has no CPU-rate limit", null);
        }

        if (host.Prlimit is null)
        {
            return (LimitMechanism.None, $"{why}; prlimit (util-linux) is not installed", null);
        }

        if (request.Name == "memory")
        {
            // Not RLIMIT_AS: runtimes such as .NET and Node reserve far more address space than they use.
            var bytes = limits.MemoryBytes!.Value;
            return (
                LimitMechanism.Prlimit,
                string.Create(CultureInfo.InvariantCulture, $"RLIMIT_DATA={bytes} per process: each process's heap and private writable memory, not the sandbox as a whole; not cgroup v2: {why}"),
                string.Create(CultureInfo.InvariantCulture, $"--data={bytes}"));
        }

        var pids = limits.Pids!.Value;
        if (host.HostUid == 0)
        {
            // The kernel exempts processes of host root from RLIMIT_NPROC, and bwrap maps the sandbox's user to the caller's.
            return (LimitMechanism.None, $"{why}; RLIMIT_NPROC does not bind processes of host root, and the sandbox's run as host uid 0", null);
        }

        return (
            LimitMechanism.Prlimit,
            string.Create(CultureInfo.InvariantCulture, $"RLIMIT_NPROC={pids}: counts every process and thread of host uid {host.HostUid}, the sandbox's and any others; not cgroup v2: {why}"),
            string.Create(CultureInfo.InvariantCulture, $"--nproc={pids}"));
    }
}
