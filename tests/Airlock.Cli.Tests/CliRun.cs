namespace Airlock.Cli.Tests;

/// <summary>Runs the real command tree in-process and captures what it prints.</summary>
internal sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public static async Task<CliRun> Of(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await AirlockCommand.RunAsync(args, stdout, stderr);
        return new CliRun(exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs with the given environment variables (and none of the process's) until the command ends or is cancelled.</summary>
    public static async Task<CliRun> With(IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await AirlockCommand.RunAsync(args, stdout, stderr, name => environment.GetValueOrDefault(name), cancellationToken);
        return new CliRun(exit, stdout.ToString(), stderr.ToString());
    }
}

/// <summary>Paths in the repository, found from the test binary's location.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string Example(string name) => Path.Combine(Root, "examples", "policies", name);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Airlock.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root (Airlock.slnx) not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A temporary policy file, deleted on dispose.</summary>
internal sealed class TempPolicy : IDisposable
{
    public TempPolicy(string text, string extension = ".yaml")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"airlock-test-{Guid.NewGuid():N}{extension}");
        File.WriteAllText(Path, text);
    }

    public string Path { get; }

    public void Dispose() => File.Delete(Path);
}
