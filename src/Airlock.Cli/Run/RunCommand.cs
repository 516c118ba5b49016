using System.Collections.Immutable;
using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using Airlock.Sandboxes.Local;

namespace Airlock.Cli.Run;

/// <summary><c>airlock run</c>: a command in a local sandbox whose only way out is the session's proxy.</summary>
internal static class RunCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var session = new SandboxSessionOptions();
        var timeout = new Option<TimeSpan?>("--timeout") { Description = "Kill the command after this long, e.g. 30s, 10m (exit code 124).", CustomParser = Durations.Parse };
        var events = new Option<string?>("--events") { Description = "Write NDJSON events here (default: ~/.local/state/airlock/events/SESSION.ndjson)." };
        var quiet = new Option<bool>("--quiet") { Description = "Do not print denials as they happen." };
        var command = new Argument<string[]>("COMMAND") { Description = "The command and its arguments (after --).", Arity = ArgumentArity.OneOrMore };

        var run = new Command("run", "Run a command in a local sandbox: no network but the policy-enforcing proxy.")
        {
            timeout, events, quiet, command,
        };
        session.AddTo(run);
        run.SetAction(async (parse, cancellationToken) =>
        {
            if (!session.TryRead(parse, "run", stderr, out var read, out var failure))
            {
                return failure;
            }

            var sessionId = "run_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
            var eventsPath = parse.GetValue(events) ?? Path.Combine(
                Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } state ? state : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state"),
                "airlock",
                "events",
                sessionId + ".ndjson");
            LocalRunResult result;
            try
            {
                result = await LocalRun.RunAsync(
                    new LocalRunOptions
                    {
                        Policy = read.Policy,
                        Command = [.. parse.GetRequiredValue(command)],
                        AirlockCommand = SelfCommand(),
                        WorkDirectory = read.WorkDirectory,
                        Environment = read.Environment,
                        Secrets = name => read.Secrets.GetValueOrDefault(name),
                        Timeout = parse.GetValue(timeout),
                        EventsPath = eventsPath,
                        Resolve = read.Resolve,
                        ResolvePorts = read.ResolvePorts,
                        UpstreamRoots = read.UpstreamRoots,
                        Report = stderr,
                        ReportDenials = !parse.GetValue(quiet),
                        SessionId = sessionId,
                        Limits = read.Limits,
                    },
                    cancellationToken).ConfigureAwait(false);
            }
            catch (Airlock.Sandboxes.SandboxException e)
            {
                stderr.WriteLine($"airlock run: {e.Message}");
                return ExitCodes.SandboxFailed;
            }

            return result.ExitCode;
        });
        return run;
    }

    /// <summary>How to run this very binary again inside the sandbox (the NativeAOT binary, or dotnet and the dll).</summary>
    internal static ImmutableArray<string> SelfCommand()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("the process path is unknown");
        var name = Path.GetFileNameWithoutExtension(process);
        return name == "dotnet"
            ? [process, Path.Combine(AppContext.BaseDirectory, "airlock.dll")]
            : [process];
    }
}

/// <summary>
/// <c>airlock sandbox-init -- COMMAND</c>, run by bubblewrap inside the sandbox: starts the bridge to the proxy,
/// then the command, and exits with its exit code. Not for people, and on every sandbox's start path, so
/// <c>Program</c> dispatches to it before building the command tree.
/// </summary>
internal static class SandboxInit
{
    public const string Verb = "sandbox-init";

    public static async Task<int> RunAsync(string[] argv, TextWriter stderr)
    {
        if (argv.Length == 0)
        {
            stderr.WriteLine("airlock sandbox-init: no command");
            return ExitCodes.Usage;
        }

        await using var bridge = SandboxBridge.Start(SandboxLayout.ProxySocket);
        var start = new ProcessStartInfo(argv[0]) { UseShellExecute = false };
        foreach (var argument in argv.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var child = Process.Start(start)!;
            await child.WaitForExitAsync().ConfigureAwait(false);
            return child.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            stderr.WriteLine($"airlock: cannot run '{argv[0]}': {e.Message}");
            return 127;
        }
    }
}
