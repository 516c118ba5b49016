using System.Globalization;
using System.Text;

namespace Airlock.Sandboxes.Limits;

/// <summary>This machine, as read from <c>/proc</c> and <c>PATH</c>.</summary>
internal sealed record LinuxLimitHost : ILimitHost
{
    /// <inheritdoc/>
    public string? CgroupMount { get; init; }

    /// <inheritdoc/>
    public string SelfCgroup { get; init; } = string.Empty;

    /// <inheritdoc/>
    public string? Prlimit { get; init; }

    /// <inheritdoc/>
    public long HostUid { get; init; }

    /// <summary>Reads this machine; never throws for what a machine may lack.</summary>
    public static LinuxLimitHost Probe() => new()
    {
        CgroupMount = FindCgroup2Mount(ReadOrEmpty("/proc/self/mountinfo")),
        SelfCgroup = ReadOrEmpty("/proc/self/cgroup"),
        Prlimit = FindOnPath("prlimit"),
        HostUid = ToHostUid(RealUid(ReadOrEmpty("/proc/self/status")), ReadOrEmpty("/proc/self/uid_map")),
    };

    /// <inheritdoc/>
    public void CreateCgroup(string path)
    {
        // mkdir on cgroupfs fills the directory with its control files; an existing one is someone else's.
        if (Directory.Exists(path))
        {
            throw new IOException($"{path} already exists");
        }

        Directory.CreateDirectory(path);
    }

    /// <inheritdoc/>
    public void RemoveCgroup(string path) => Directory.Delete(path, recursive: false);

    /// <inheritdoc/>
    public void WriteControl(string path, string value)
    {
        // Unbuffered, so the value reaches the kernel in a single write(2), which is how cgroupfs parses it.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        stream.Write(Encoding.ASCII.GetBytes(value));
    }

    /// <summary>
    /// The cgroup2 mount from <c>/proc/self/mountinfo</c>: <c>/sys/fs/cgroup</c> on a unified layout, otherwise
    /// the first one (<c>/sys/fs/cgroup/unified</c> on a hybrid layout), or null.
    /// </summary>
    internal static string? FindCgroup2Mount(string mountinfo)
    {
        string? first = null;
        foreach (var line in mountinfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var separator = line.IndexOf(" - ", StringComparison.Ordinal);
            if (separator < 0)
            {
                continue;
            }

            var fields = line[..separator].Split(' ');
            var type = line[(separator + 3)..].Split(' ')[0];
            if (type != "cgroup2" || fields.Length < 5)
            {
                continue;
            }

            var mountPoint = Unescape(fields[4]);
            if (mountPoint == "/sys/fs/cgroup")
            {
                return mountPoint;
            }

            first ??= mountPoint;
        }

        return first;
    }

    /// <summary>The real uid from <c>/proc/self/status</c>.</summary>
    internal static long RealUid(string status)
    {
        foreach (var line in status.Split('\n'))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal)
                && long.TryParse(line["Uid:".Length..].Split('\t', StringSplitOptions.RemoveEmptyEntries)[0], NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
            {
                return uid;
            }
        }

        return -1;
    }

    /// <summary>A uid of this user namespace as the namespace's parent sees it (<c>/proc/self/uid_map</c>).</summary>
    internal static long ToHostUid(long uid, string uidMap)
    {
        foreach (var line in uidMap.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 3
                && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var inside)
                && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var outside)
                && long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var count)
                && uid >= inside && uid < inside + count)
            {
                return outside + (uid - inside);
            }
        }

        return uid;
    }

    private static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/bin", "/bin", "/usr/sbin", "/sbin"])
            .Where(Path.IsPathRooted)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }

    /// <summary>mountinfo writes space, tab, newline and backslash as octal escapes.</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var text = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && !field.AsSpan(i + 1, 3).ContainsAnyExceptInRange('0', '7'))
            {
                text.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }

        return text.ToString();
    }
}
