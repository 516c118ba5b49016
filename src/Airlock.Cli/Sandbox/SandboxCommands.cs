using System.Collections.Immutable;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Airlock.Cli.Run;
using Airlock.Proxy.Events;
using Airlock.Sandboxes;
using Airlock.Sandboxes.Limits;
using Airlock.Sandboxes.Local;

namespace Airlock.Cli.Sandbox;

/// <summary><c>airlock sandbox create|exec|cp|ls|rm|events</c>: long-lived sandboxes through a driver.</summary>
internal static class SandboxCommands
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var sandbox = new Command("sandbox", "Long-lived sandboxes: create one, run commands and copy files in it, remove it.")
        {
            CreateCommand(stdout, stderr),
            ExecCommand(stdout, stderr),
            CopyCommand(stdout, stderr),
            ListCommand(stdout, stderr),
            RemoveCommand(stdout, stderr),
            EventsCommand(stdout, stderr),
        };
        return sandbox;
    }

    private static Command CreateCommand(TextWriter stdout, TextWriter stderr)
    {
        var driver = new DriverSelection();
        var session = new SandboxSessionOptions();
        var ttl = new Option<TimeSpan?>("--ttl") { Description = "Delete the sandbox this long after creation, e.g. 30m, 8h.", CustomParser = Durations.Parse };
        var output = OutputOption();
        var command = new Command("create", "Create a sandbox and print its id.")
        {
            ttl, output,
        };
        session.AddTo(command);
        driver.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!session.TryRead(parse, "sandbox create", stderr, out var read, out var failure))
            {
                return failure;
            }

            SandboxInfo info;
            try
            {
                info = await driver.Create(parse).CreateAsync(
                    new SandboxSpec
                    {
                        PolicyText = read.PolicyText,
                        PolicySource = read.PolicyPath,
                        WorkDirectory = read.WorkDirectory,
                        Environment = read.Environment,
                        Secrets = read.Secrets,
                        Limits = read.Limits,
                        TimeToLive = parse.GetValue(ttl),
                        Resolve = read.Resolve,
                        ResolvePorts = read.ResolvePorts,
                        UpstreamRootsPem = read.UpstreamRootsPem,
                    },
                    cancellationToken).ConfigureAwait(false);
            }
            catch (SandboxException e)
            {
                stderr.WriteLine($"airlock sandbox create: {e.Message}");
                return ExitCodes.SandboxFailed;
            }

            if (parse.GetValue(output) == "json")
            {
                stdout.WriteLine(JsonSerializer.Serialize(Describe(info), CliJson.Default.SandboxDescription));
                return ExitCodes.Success;
            }

            stdout.WriteLine(info.Id);
            ReportLimits(info.Limits, stderr);

            stderr.WriteLine($"airlock: sandbox {info.Id} running in {info.WorkDirectory}{(info.ExpiresAt is { } expires ? $", until {expires:u}" : string.Empty)}; events: {info.EventsPath}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command ExecCommand(TextWriter stdout, TextWriter stderr)
    {
        var driver = new DriverSelection();
        var id = new Argument<string>("SANDBOX") { Description = "The sandbox id." };
        var env = new Option<string[]>("--env") { Description = "K=V for this command (repeatable)." };
        var workdir = new Option<string?>("--workdir") { Description = "Working directory inside (default: the sandbox's workdir)." };
        var interactive = new Option<bool>("--stdin", "-i") { Description = "Pass standard input to the command." };
        var argv = new Argument<string[]>("COMMAND") { Description = "The command and its arguments (after --).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("exec", "Run a command in a sandbox; its output streams here and its exit code is airlock's.")
        {
            env, workdir, interactive, id, argv,
        };
        driver.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!SandboxSessionOptions.TryParseEnvironment(parse.GetValue(env) ?? [], out var environment, out var envError))
            {
                stderr.WriteLine($"airlock sandbox exec: --env: {envError}");
                return ExitCodes.Usage;
            }

            var streams = new ExecStreams(
                parse.GetValue(interactive) ? System.Console.OpenStandardInput() : null,
                Bytes(stdout),
                Bytes(stderr));
            try
            {
                return await driver.Create(parse).ExecAsync(
                    parse.GetRequiredValue(id),
                    new ExecRequest { Command = parse.GetRequiredValue(argv), Environment = environment, WorkingDirectory = parse.GetValue(workdir) },
                    streams,
                    cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SandboxException or IOException)
            {
                // IOException: our own output went away (a closed pipe); leaving ends the command inside too.
                stderr.WriteLine($"airlock sandbox exec: {e.Message}");
                return ExitCodes.SandboxFailed;
            }
            catch (OperationCanceledException)
            {
                return LocalRun.InterruptedExitCode;
            }
            finally
            {
                try
                {
                    await streams.Stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                    await streams.Stderr.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    // Nobody reads them any more.
                }
            }
        });
        return command;
    }

    private static Command CopyCommand(TextWriter stdout, TextWriter stderr)
    {
        var driver = new DriverSelection();
        var source = new Argument<string>("SOURCE") { Description = "A local file, or SANDBOX:PATH." };
        var destination = new Argument<string>("DEST") { Description = "SANDBOX:PATH, or a local file ('-' for standard output)." };
        var command = new Command("cp", "Copy a file into or out of a sandbox (paths inside are confined to its workdir, /tmp and read_write paths).")
        {
            source, destination,
        };
        driver.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var from = parse.GetRequiredValue(source);
            var to = parse.GetRequiredValue(destination);
            try
            {
                var sandboxes = driver.Create(parse);
                if (SplitRemote(to) is var (id, path) && SplitRemote(from) is null)
                {
                    var file = File.OpenRead(from);
                    await using (file.ConfigureAwait(false))
                    {
                        var mode = File.GetUnixFileMode(from);
                        await sandboxes.UploadAsync(id, path, file, mode, cancellationToken).ConfigureAwait(false);
                    }

                    return ExitCodes.Success;
                }

                if (SplitRemote(from) is var (fromId, fromPath) && SplitRemote(to) is null)
                {
                    if (to == "-")
                    {
                        var output = Bytes(stdout);
                        await sandboxes.DownloadAsync(fromId, fromPath, output, cancellationToken).ConfigureAwait(false);
                        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                        return ExitCodes.Success;
                    }

                    // Into a temporary file beside the target, renamed over it only when complete.
                    var target = Directory.Exists(to) ? Path.Combine(to, Path.GetFileName(fromPath)) : to;
                    var partial = target + ".airlock-partial";
                    try
                    {
                        var file = new FileStream(partial, FileMode.CreateNew, FileAccess.Write);
                        await using (file.ConfigureAwait(false))
                        {
                            await sandboxes.DownloadAsync(fromId, fromPath, file, cancellationToken).ConfigureAwait(false);
                        }

                        File.Move(partial, target, overwrite: true);
                    }
                    finally
                    {
                        File.Delete(partial);
                    }

                    return ExitCodes.Success;
                }

                stderr.WriteLine("airlock sandbox cp: exactly one of SOURCE and DEST must be SANDBOX:PATH");
                return ExitCodes.Usage;
            }
            catch (SandboxException e)
            {
                stderr.WriteLine($"airlock sandbox cp: {e.Message}");
                return ExitCodes.SandboxFailed;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"airlock sandbox cp: {e.Message}");
                return ExitCodes.SandboxFailed;
            }
        });
        return command;
    }

    private static Command ListCommand(TextWriter stdout, TextWriter stderr)
    {
        var driver = new DriverSelection();
        var output = OutputOption();
        var command = new Command("ls", "List sandboxes.") { output };
        driver.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            IReadOnlyList<SandboxInfo> sandboxes;
            try
            {
                sandboxes = await driver.Create(parse).ListAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (SandboxException e)
            {
                stderr.WriteLine($"airlock sandbox ls: {e.Message}");
                return ExitCodes.SandboxFailed;
            }

            if (parse.GetValue(output) == "json")
            {
                stdout.WriteLine(JsonSerializer.Serialize([.. sandboxes.Select(Describe)], CliJson.Default.SandboxDescriptionArray));
                return ExitCodes.Success;
            }

            if (sandboxes.Count == 0)
            {
                stderr.WriteLine("airlock: no sandboxes");
                return ExitCodes.Success;
            }

            var rows = sandboxes.Select(s => new[]
            {
                s.Id,
                s.State == SandboxState.Running ? "running" : "exited",
                Age(DateTimeOffset.UtcNow - s.CreatedAt),
                s.ExpiresAt is { } expires ? Age(expires - DateTimeOffset.UtcNow) : "-",
                s.WorkDirectory,
                Path.GetFileName(s.PolicySource),
            }).Prepend(["ID", "STATE", "AGE", "EXPIRES IN", "WORKDIR", "POLICY"]).ToList();
            var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
            foreach (var row in rows)
            {
                stdout.WriteLine(string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command RemoveCommand(TextWriter stdout, TextWriter stderr)
    {
        var driver = new DriverSelection();
        var ids = new Argument<string[]>("SANDBOX") { Description = "Sandbox ids.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("rm", "Stop sandboxes and remove them (their events are kept).") { ids };
        driver.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var exit = ExitCodes.Success;
            try
            {
                var sandboxes = driver.Create(parse);
                foreach (var id in parse.GetRequiredValue(ids))
                {
                    if (await sandboxes.DeleteAsync(id, cancellationToken).ConfigureAwait(false))
                    {
                        stdout.WriteLine(id);
                    }
                    else
                    {
                        stderr.WriteLine($"airlock sandbox rm: no sandbox '{id}'");
                        exit = ExitCodes.SandboxFailed;
                    }
                }
            }
            catch (SandboxException e)
            {
                stderr.WriteLine($"airlock sandbox rm: {e.Message}");
                return ExitCodes.SandboxFailed;
            }

            return exit;
        });
        return command;
    }

    private static Command EventsCommand(TextWriter stdout, TextWriter stderr)
    {
        var driver = new DriverSelection();
        var id = new Argument<string>("SANDBOX") { Description = "The sandbox id." };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing events as they happen, until the sandbox is removed." };
        var command = new Command("events", "Print a sandbox's egress events as NDJSON.") { follow, id };
        driver.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                await foreach (var egressEvent in driver.Create(parse).EventsAsync(parse.GetRequiredValue(id), parse.GetValue(follow), cancellationToken).ConfigureAwait(false))
                {
                    stdout.WriteLine(EventJson.ToJson(egressEvent));
                    await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
                }

                return ExitCodes.Success;
            }
            catch (SandboxException e)
            {
                stderr.WriteLine($"airlock sandbox events: {e.Message}");
                return ExitCodes.SandboxFailed;
            }
            catch (OperationCanceledException)
            {
                return ExitCodes.Success;
            }
        });
        return command;
    }

    private static string Fail(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return string.Empty;
    }

    private static Option<string> OutputOption() => new("--output", "-o")
    {
        Description = "text or json.",
        DefaultValueFactory = _ => "text",
        CustomParser = result => result.Tokens is [{ Value: "text" or "json" } token] ? token.Value : result.Tokens.Count == 0 ? "text" : Fail(result, "--output is text or json"),
    };

    private static (string Id, string Path)? SplitRemote(string value)
    {
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        return colon > 3 && value.StartsWith("sb-", StringComparison.Ordinal) ? (value[..colon], value[(colon + 1)..]) : null;
    }

    /// <summary>One line per requested limit: how it is applied, or that it is not and why.</summary>
    private static void ReportLimits(IEnumerable<AppliedLimit> limits, TextWriter stderr)
    {
        foreach (var limit in limits)
        {
            stderr.WriteLine("airlock: " + limit.Describe());
        }
    }

    private static SandboxDescription Describe(SandboxInfo info) => new(
        info.Id,
        info.Driver,
        info.State == SandboxState.Running ? "running" : "exited",
        info.CreatedAt,
        info.ExpiresAt,
        info.WorkDirectory,
        info.PolicySource,
        info.EventsPath,
        [.. info.Limits.Select(l => new LimitDescription(l.Name, l.Requested, l.Mechanism, l.Detail))]);

    private static string Age(TimeSpan span) => span switch
    {
        { TotalSeconds: < 0 } => "0s",
        { TotalMinutes: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalSeconds}s"),
        { TotalHours: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes}m"),
        { TotalDays: < 2 } => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}h"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalDays}d"),
    };

    /// <summary>The command's raw bytes: the process's own stream for the console, an adapter for a test's writer.</summary>
    private static Stream Bytes(TextWriter writer) =>
        ReferenceEquals(writer, System.Console.Out) ? System.Console.OpenStandardOutput()
        : ReferenceEquals(writer, System.Console.Error) ? System.Console.OpenStandardError()
        : new Airlock.Cli.Console.TextWriterStream(writer);
}

/// <summary>A sandbox as <c>--output json</c> prints it.</summary>
internal sealed record SandboxDescription(
    [property: System.Text.Json.Serialization.JsonPropertyName("id")] string Id,
    [property: System.Text.Json.Serialization.JsonPropertyName("driver")] string Driver,
    [property: System.Text.Json.Serialization.JsonPropertyName("state")] string State,
    [property: System.Text.Json.Serialization.JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: System.Text.Json.Serialization.JsonPropertyName("expires_at")] DateTimeOffset? ExpiresAt,
    [property: System.Text.Json.Serialization.JsonPropertyName("workdir")] string WorkDirectory,
    [property: System.Text.Json.Serialization.JsonPropertyName("policy")] string Policy,
    [property: System.Text.Json.Serialization.JsonPropertyName("events")] string Events,
    [property: System.Text.Json.Serialization.JsonPropertyName("limits")] ImmutableArray<LimitDescription> Limits);

/// <summary>One limit as <c>--output json</c> prints it.</summary>
internal sealed record LimitDescription(
    [property: System.Text.Json.Serialization.JsonPropertyName("name")] string Name,
    [property: System.Text.Json.Serialization.JsonPropertyName("requested")] string Requested,
    [property: System.Text.Json.Serialization.JsonPropertyName("mechanism")] string Mechanism,
    [property: System.Text.Json.Serialization.JsonPropertyName("detail")] string Detail);

[System.Text.Json.Serialization.JsonSerializable(typeof(SandboxDescription))]
[System.Text.Json.Serialization.JsonSerializable(typeof(SandboxDescription[]))]
internal sealed partial class CliJson : System.Text.Json.Serialization.JsonSerializerContext;
