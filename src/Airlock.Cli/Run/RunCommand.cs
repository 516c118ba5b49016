using System.Collections.Immutable;
using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Airlock.Cli.Proxy;
using Airlock.Policy.Loading;
using Airlock.Sandboxes.Local;

namespace Airlock.Cli.Run;

/// <summary><c>airlock run</c>: a command in a local sandbox whose only way out is the session's proxy.</summary>
internal static class RunCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var policy = new Option<string>("--policy") { Description = "The policy file.", Required = true };
        var workdir = new Option<string?>("--workdir") { Description = "Working directory, read-write inside (default: the current directory)." };
        var env = new Option<string[]>("--env") { Description = "K=V for the command (repeatable; the host environment is not passed through)." };
        var secret = new Option<string[]>("--secret") { Description = "NAME=@file or NAME=env:VAR: a secret for 'inject', given to the proxy only (repeatable)." };
        var timeout = new Option<TimeSpan?>("--timeout") { Description = "Kill the command after this long, e.g. 30s, 10m (exit code 124).", CustomParser = Durations.Parse };
        var events = new Option<string?>("--events") { Description = "Write NDJSON events here (default: ~/.local/state/airlock/events/SESSION.ndjson)." };
        var quiet = new Option<bool>("--quiet") { Description = "Do not print denials as they happen." };
        var resolve = new Option<string[]>("--resolve") { Description = "HOST=IP[:PORT] for the proxy (repeatable; the address checks still apply)." };
        var upstreamCa = new Option<string?>("--upstream-ca") { Description = "Extra PEM roots the proxy trusts upstream." };
        var memory = new Option<string?>("--memory") { Description = "Memory limit, e.g. 512M, 2G (reported if it cannot be applied)." };
        var pids = new Option<string?>("--pids") { Description = "Process limit (reported if it cannot be applied)." };
        var cpus = new Option<string?>("--cpus") { Description = "CPU limit in cores, e.g. 0.5 (reported if it cannot be applied)." };
        var command = new Argument<string[]>("COMMAND") { Description = "The command and its arguments (after --).", Arity = ArgumentArity.OneOrMore };

        var run = new Command("run", "Run a command in a local sandbox: no network but the policy-enforcing proxy.")
        {
            policy, workdir, env, secret, timeout, events, quiet, resolve, upstreamCa, memory, pids, cpus, command,
        };
        run.SetAction(async (parse, cancellationToken) =>
        {
            void Usage(string message) => stderr.WriteLine($"airlock run: {message}");

            var loaded = PolicyLoader.LoadFile(parse.GetRequiredValue(policy));
            foreach (var diagnostic in loaded.Diagnostics)
            {
                stderr.WriteLine(diagnostic.ToString());
            }

            if (loaded.Policy is null)
            {
                return ExitCodes.InvalidPolicy;
            }

            var environment = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
            foreach (var pair in parse.GetValue(env) ?? [])
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    Usage($"--env: '{pair}' is not K=V");
                    return ExitCodes.Usage;
                }

                environment[pair[..equals]] = pair[(equals + 1)..];
            }

            if (!SecretSources.TryRead(parse.GetValue(secret) ?? [], out var secrets, out var secretError))
            {
                Usage($"--secret: {secretError}");
                return ExitCodes.Usage;
            }

            if (!ResolveOverrides.TryParse(parse.GetValue(resolve) ?? [], out var overrides, out var resolvePorts, out var resolveError))
            {
                Usage($"--resolve: {resolveError}");
                return ExitCodes.Usage;
            }

            if (!Sandbox.SandboxCommands.TryParseLimits(parse.GetValue(memory), parse.GetValue(pids), parse.GetValue(cpus), out var limits, out var limitError))
            {
                Usage(limitError);
                return ExitCodes.Usage;
            }

            X509Certificate2Collection roots = [];
            if (parse.GetValue(upstreamCa) is { } bundle)
            {
                try
                {
                    roots.ImportFromPemFile(bundle);
                }
                catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException)
                {
                    Usage($"--upstream-ca: {e.Message}");
                    return ExitCodes.Usage;
                }
            }

            var workDirectory = Path.GetFullPath(parse.GetValue(workdir) ?? Directory.GetCurrentDirectory());
            if (!Directory.Exists(workDirectory))
            {
                Usage($"--workdir: '{workDirectory}' is not a directory");
                return ExitCodes.Usage;
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
                        Policy = loaded.Policy,
                        Command = [.. parse.GetRequiredValue(command)],
                        AirlockCommand = SelfCommand(),
                        WorkDirectory = workDirectory,
                        Environment = environment.ToImmutable(),
                        Secrets = name => secrets.GetValueOrDefault(name),
                        Timeout = parse.GetValue(timeout),
                        EventsPath = eventsPath,
                        Resolve = overrides,
                        ResolvePorts = resolvePorts,
                        UpstreamRoots = roots,
                        Report = stderr,
                        ReportDenials = !parse.GetValue(quiet),
                        SessionId = sessionId,
                        Limits = limits,
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
