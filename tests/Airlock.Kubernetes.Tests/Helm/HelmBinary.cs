using System.Diagnostics;

namespace Airlock.Kubernetes.Tests.Helm;

/// <summary>What one helm command did.</summary>
/// <param name="ExitCode">Its exit code.</param>
/// <param name="Stdout">Its standard output.</param>
/// <param name="Stderr">Its standard error.</param>
internal sealed record HelmResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Both streams, for assertion messages.</summary>
    public string Output => Stdout + Stderr;
}

/// <summary>
/// The real helm binary: <c>AIRLOCK_HELM</c>, or <c>tools/helm/helm</c> under the repository root, where
/// <c>scripts/install-helm.sh</c> puts it. Missing helm fails the tests (it never skips them).
/// </summary>
internal static class HelmBinary
{
    private static readonly Lazy<string> RootDirectory = new(FindRepositoryRoot);

    /// <summary>The directory holding <c>Airlock.slnx</c>.</summary>
    public static string RepositoryRoot => RootDirectory.Value;

    /// <summary>The chart under test.</summary>
    public static string ChartDirectory => Path.Combine(RepositoryRoot, "deploy", "helm", "airlock");

    /// <summary>The helm executable.</summary>
    /// <exception cref="InvalidOperationException">There is none: says how to install it.</exception>
    public static string ExecutablePath
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable("AIRLOCK_HELM");
            var path = string.IsNullOrEmpty(configured) ? Path.Combine(RepositoryRoot, "tools", "helm", "helm") : configured;
            return File.Exists(path)
                ? path
                : throw new InvalidOperationException($"helm was not found at {path}: run scripts/install-helm.sh (or set AIRLOCK_HELM to a helm binary)");
        }
    }

    /// <summary>Runs helm with <paramref name="arguments"/> (no shell) and waits for it, at most 2 minutes.</summary>
    public static async Task<HelmResult> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(ExecutablePath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepositoryRoot,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // No user's helm configuration or cache leaks in, and nothing is written to the home directory.
        var home = Path.Combine(Path.GetTempPath(), "airlock-helm-home");
        start.Environment["HELM_CONFIG_HOME"] = Path.Combine(home, "config");
        start.Environment["HELM_CACHE_HOME"] = Path.Combine(home, "cache");
        start.Environment["HELM_DATA_HOME"] = Path.Combine(home, "data");
        start.Environment["KUBECONFIG"] = "/dev/null";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("helm did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"helm {string.Join(' ', arguments)} did not finish in 2 minutes");
        }

        return new HelmResult(process.ExitCode, await stdout, await stderr);
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Airlock.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no Airlock.slnx above {AppContext.BaseDirectory}");
    }
}
