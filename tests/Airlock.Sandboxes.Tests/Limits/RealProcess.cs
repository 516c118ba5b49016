using System.Diagnostics;
using System.Globalization;

namespace Airlock.Sandboxes.Tests.Limits;

/// <summary>Runs real commands for the limit tests, bounded in time, and reads facts about real users.</summary>
internal static class RealProcess
{
    /// <summary>
    /// An unprivileged uid of the limit tests' own. Not nobody: RLIMIT_NPROC counts every process and thread of a
    /// uid on the host, and other tests run as nobody at the same time.
    /// </summary>
    public const long UnprivilegedUid = 65533;

    /// <summary>A bubblewrap sandbox like the local driver's: every namespace unshared, uid 1000 inside.</summary>
    public static string[] Sandboxed(params string[] command) =>
        ["bwrap", "--unshare-all", "--unshare-user", "--uid", "1000", "--gid", "1000", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--", .. command];

    /// <summary>The command run as <see cref="UnprivilegedUid"/> (this process must be root).</summary>
    public static string[] AsUnprivileged(IEnumerable<string> argv) =>
        ["setpriv", string.Create(CultureInfo.InvariantCulture, $"--reuid={UnprivilegedUid}"), "--regid=65534", "--clear-groups", .. argv];

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IEnumerable<string> argv)
    {
        using var process = Start(argv);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            throw new TimeoutException($"{string.Join(' ', argv)} did not finish in 60 s");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    public static Process Start(IEnumerable<string> argv)
    {
        var list = argv.ToList();
        var start = new ProcessStartInfo(list[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in list.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new InvalidOperationException($"{list[0]} did not start");
    }

    public static bool IsOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries).Any(d => File.Exists(Path.Combine(d, name)));

    public static long CurrentUid() => Uid(File.ReadAllText("/proc/self/status"));

    /// <summary>How many processes and threads <paramref name="uid"/> has right now (what RLIMIT_NPROC counts).</summary>
    public static int TasksOf(long uid)
    {
        var tasks = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc").Where(d => Path.GetFileName(d).All(char.IsAsciiDigit)))
        {
            try
            {
                var status = File.ReadAllText(Path.Combine(directory, "status"));
                if (Uid(status) == uid)
                {
                    tasks += int.Parse(Field(status, "Threads:"), CultureInfo.InvariantCulture);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Exited while we looked.
            }
        }

        return tasks;
    }

    private static long Uid(string status) => long.Parse(Field(status, "Uid:").Split('\t')[0], CultureInfo.InvariantCulture);

    private static string Field(string status, string name) =>
        status.Split('\n').First(l => l.StartsWith(name, StringComparison.Ordinal))[name.Length..].Trim();
}
