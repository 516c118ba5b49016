using System.Collections.Immutable;

namespace Airlock.Sandboxes.Limits;

/// <summary>
/// The sandbox's own cgroup v2 group, a child of this process's group, with the limits written into it; or, for
/// each controller it cannot have, the reason. Creating one never throws for what a machine may lack or refuse.
/// </summary>
internal sealed class CgroupV2Group
{
    private CgroupV2Group(string? directory, ImmutableDictionary<string, string> applied, ImmutableDictionary<string, string> reasons)
    {
        Directory = directory;
        Applied = applied;
        Reasons = reasons;
    }

    /// <summary>The group's directory; null when none was created.</summary>
    public string? Directory { get; }

    /// <summary>By controller: what was written, e.g. <c>memory.max=536870912 in /sys/fs/cgroup/…/airlock-x</c>.</summary>
    public ImmutableDictionary<string, string> Applied { get; }

    /// <summary>By controller: why cgroup v2 does not enforce it.</summary>
    public ImmutableDictionary<string, string> Reasons { get; }

    /// <summary>Creates the group <paramref name="name"/> under this process's group, for as many requests as it can.</summary>
    public static CgroupV2Group Create(ILimitHost host, string name, IReadOnlyList<LimitRequest> requests)
    {
        var controllers = requests.Select(r => r.Controller).Distinct(StringComparer.Ordinal).ToArray();
        if (FindOwnGroup(host, out var reason) is not { } parent)
        {
            return Unusable(controllers, reason);
        }

        var offered = ReadWords(Path.Combine(parent, "cgroup.controllers"));
        var reasons = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var controller in controllers.Where(c => !offered.Contains(c)))
        {
            reasons[controller] = $"cgroup v2 group {parent} does not offer the {controller} controller (it offers: {(offered.IsEmpty ? "none" : string.Join(' ', offered))})";
        }

        var usable = requests.Where(r => !reasons.ContainsKey(r.Controller)).ToArray();
        if (usable.Length == 0)
        {
            return new CgroupV2Group(null, ImmutableDictionary<string, string>.Empty, reasons.ToImmutable());
        }

        var usableControllers = usable.Select(r => r.Controller).Distinct(StringComparer.Ordinal).ToArray();
        var enabled = ReadWords(Path.Combine(parent, "cgroup.subtree_control"));
        var missing = usableControllers.Where(c => !enabled.Contains(c)).ToArray();
        if (missing.Length > 0)
        {
            try
            {
                host.WriteControl(Path.Combine(parent, "cgroup.subtree_control"), string.Join(' ', missing.Select(c => "+" + c)));
            }
            catch (UnauthorizedAccessException e)
            {
                return Refused(reasons, usableControllers, $"cgroup v2 is not delegated here: cannot enable {string.Join(' ', missing)} for the children of {parent} ({e.Message})");
            }
            catch (IOException e)
            {
                return Refused(reasons, usableControllers, $"cgroup v2 cannot enable {string.Join(' ', missing)} for the children of {parent}, which has processes of its own; a cgroup with processes cannot give controllers to children ({e.Message})");
            }
        }

        var directory = Path.Combine(parent, name);
        try
        {
            host.CreateCgroup(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Refused(reasons, usableControllers, $"cgroup v2 is not delegated here: cannot create {directory} ({e.Message})");
        }

        var applied = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var request in usable)
        {
            var written = new List<string>();
            foreach (var write in request.Writes)
            {
                var file = Path.Combine(directory, write.File);
                if (write.OnlyIfPresent && !File.Exists(file))
                {
                    continue;
                }

                try
                {
                    host.WriteControl(file, write.Value);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Remove(host, directory);
                    return Refused(reasons, usableControllers, $"cgroup v2 refused {write} in {directory} ({e.Message})");
                }

                written.Add(write.ToString());
            }

            applied[request.Controller] = $"{string.Join(' ', written)} in {directory}";
        }

        return new CgroupV2Group(directory, applied.ToImmutable(), reasons.ToImmutable());
    }

    /// <summary>This process's cgroup v2 directory, from its <c>0::/path</c> line.</summary>
    private static string? FindOwnGroup(ILimitHost host, out string reason)
    {
        if (host.CgroupMount is not { } mount)
        {
            reason = "no cgroup v2 file system is mounted";
            return null;
        }

        var line = host.SelfCgroup.Split('\n').FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal));
        if (line is null)
        {
            reason = "this process is in no cgroup v2 group (/proc/self/cgroup has no 0:: line)";
            return null;
        }

        var path = line["0::".Length..].Trim();
        var directory = Path.Join(mount, path.TrimStart('/')).TrimEnd('/');
        if (!path.StartsWith('/') || !System.IO.Directory.Exists(directory))
        {
            reason = $"this process's cgroup v2 group {path} is not under {mount}";
            return null;
        }

        reason = string.Empty;
        return directory;
    }

    /// <summary>A control file's words in the kernel's order; none when it cannot be read.</summary>
    private static ImmutableArray<string> ReadWords(string path)
    {
        try
        {
            return [.. File.ReadAllText(path).Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static void Remove(ILimitHost host, string directory)
    {
        try
        {
            host.RemoveCgroup(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing joined it yet, so this only fails if the group is already gone.
        }
    }

    private static CgroupV2Group Unusable(IEnumerable<string> controllers, string reason) =>
        new(null, ImmutableDictionary<string, string>.Empty, controllers.ToImmutableDictionary(c => c, _ => reason, StringComparer.Ordinal));

    private static CgroupV2Group Refused(ImmutableDictionary<string, string>.Builder reasons, IEnumerable<string> controllers, string reason)
    {
        foreach (var controller in controllers)
        {
            reasons[controller] = reason;
        }

        return new CgroupV2Group(null, ImmutableDictionary<string, string>.Empty, reasons.ToImmutable());
    }
}
