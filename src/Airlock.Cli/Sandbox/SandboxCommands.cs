using System.Collections.Immutable;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Airlock.Cli.Console;
using Airlock.Cli.Proxy;
using Airlock.Cli.Remote;
using Airlock.Cli.Run;
using Airlock.Client;
using Airlock.Proxy.Events;
using Airlock.Sandboxes;
using Airlock.Sandboxes.Limits;
using Airlock.Sandboxes.Local;
using ExecRequest = Airlock.Sandboxes.ExecRequest;
using SandboxState = Airlock.Sandboxes.SandboxState;

namespace Airlock.Cli.Sandbox;

/// <summary>
/// <c>airlock sandbox create|exec|cp|ls|get|rm|events</c>: long-lived sandboxes through a driver, or through a gateway's
/// API with <c>--server</c> or <c>AIRLOCK_SERVER</c>.
/// </summary>
internal static class SandboxCommands
{
    public static Command Create(TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        var sandbox = new Command("sandbox", "Long-lived sandboxes: create one, run commands and copy files in it, remove it (locally, or on a gateway with --server).")
        {
            CreateCommand(stdout, stderr, environment),
            ExecCommand(stdout, stderr, environment),
            CopyCommand(stdout, stderr, environment),
            ListCommand(stdout, stderr, environment),
            GetCommand(stdout, stderr, environment),
            RemoveCommand(stdout, stderr, environment),
            EventsCommand(stdout, stderr, environment),
        };
        return sandbox;
    }

    private static Command CreateCommand(TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        var driver = new DriverSelection();
        var gateway = new GatewayOptions(environment);
        var session = new SandboxSessionOptions(policyRequired: false);
        var ttl = new Option<TimeSpan?>("--ttl") { Description = "Delete the sandbox this long after creation, e.g. 30m, 8h.", CustomParser = Durations.Parse };
        var idle = new Option<string?>("--idle-timeout") { Description = "gateway: delete the sandbox after this long without activity, e.g. 30m." };
        var labels = new Option<string[]>("--label") { Description = "gateway: K=V to find the sandbox by (repeatable)." };
        var policyName = new Option<string?>("--policy-name") { Description = "gateway: a stored policy (airlock policy push) instead of --policy." };
        var policyVersion = new Option<int?>("--policy-version") { Description = "gateway: the stored policy's version (default: its latest)." };
        var output = OutputOption();
        var command = new Command("create", "Create a sandbox and print its id once it is ready.")
        {
            ttl, idle, labels, policyName, policyVersion, output,
        };
        session.AddTo(command);
        driver.AddTo(command);
        gateway.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (gateway.IsRemote(parse))
            {
                var request = RemoteCreateRequest(parse, driver, session, ttl, idle, labels, policyName, policyVersion, stderr, out var refused);
                return request is null
                    ? refused
                    : await RemoteCall.RunAsync(gateway, parse, "sandbox create", IsJson(parse, output), stdout, stderr, client => RemoteSandboxes.CreateAsync(client, request, IsJson(parse, output), stdout, stderr, cancellationToken), cancellationToken, session.PolicyPath(parse)).ConfigureAwait(false);
            }

            if (new Option[] { idle, labels, policyName, policyVersion }.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } remoteOnly)
            {
                stderr.WriteLine($"airlock sandbox create: {remoteOnly.Name} needs a gateway (--server or {AirlockClient.ServerVariable})");
                return ExitCodes.Usage;
            }

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

    private static Command ExecCommand(TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        var driver = new DriverSelection();
        var gateway = new GatewayOptions(environment);
        var timeout = new Option<string?>("--timeout") { Description = "gateway: kill the command after this long, e.g. 30s (default and at most 10m)." };
        var output = OutputOption();
        var id = new Argument<string>("SANDBOX") { Description = "The sandbox id." };
        var env = new Option<string[]>("--env") { Description = "K=V for this command (repeatable)." };
        var workdir = new Option<string?>("--workdir") { Description = "Working directory inside (default: the sandbox's workdir)." };
        var interactive = new Option<bool>("--stdin", "-i") { Description = "Pass standard input to the command." };
        var argv = new Argument<string[]>("COMMAND") { Description = "The command and its arguments (after --).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("exec", "Run a command in a sandbox; its output streams here and its exit code is airlock's.")
        {
            env, workdir, interactive, timeout, output, id, argv,
        };
        driver.AddTo(command);
        gateway.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!SandboxSessionOptions.TryParseEnvironment(parse.GetValue(env) ?? [], out var variables, out var envError))
            {
                stderr.WriteLine($"airlock sandbox exec: --env: {envError}");
                return ExitCodes.Usage;
            }

            var json = IsJson(parse, output);
            if (gateway.IsRemote(parse))
            {
                if (driver.AnyGiven(parse))
                {
                    return DriverWithGateway("sandbox exec", stderr);
                }

                var request = new ExecCommandRequest
                {
                    Command = parse.GetRequiredValue(argv),
                    Env = variables,
                    Workdir = parse.GetValue(workdir),
                    Timeout = parse.GetValue(timeout),

                    // The API takes standard input as text, whole.
                    Stdin = parse.GetValue(interactive) ? await System.Console.In.ReadToEndAsync(cancellationToken).ConfigureAwait(false) : null,
                };
                return await RemoteCall.RunAsync(
                    gateway, parse, "sandbox exec", json, stdout, stderr,
                    client => RemoteSandboxes.ExecAsync(client, parse.GetRequiredValue(id), request, json, Bytes(stdout), Bytes(stderr), stdout, stderr, cancellationToken),
                    cancellationToken).ConfigureAwait(false);
            }

            if (parse.GetResult(timeout) is { Implicit: false })
            {
                stderr.WriteLine($"airlock sandbox exec: --timeout needs a gateway (--server or {AirlockClient.ServerVariable})");
                return ExitCodes.Usage;
            }

            using var capturedOut = json ? new MemoryStream() : null;
            using var capturedErr = json ? new MemoryStream() : null;
            var streams = new ExecStreams(
                parse.GetValue(interactive) ? System.Console.OpenStandardInput() : null,
                capturedOut ?? Bytes(stdout),
                capturedErr ?? Bytes(stderr));
            try
            {
                var exit = await driver.Create(parse).ExecAsync(
                    parse.GetRequiredValue(id),
                    new ExecRequest { Command = parse.GetRequiredValue(argv), Environment = variables, WorkingDirectory = parse.GetValue(workdir) },
                    streams,
                    cancellationToken).ConfigureAwait(false);
                if (json)
                {
                    stdout.WriteLine(JsonSerializer.Serialize(
                        new RemoteExecOutput(System.Text.Encoding.UTF8.GetString(capturedOut!.ToArray()), System.Text.Encoding.UTF8.GetString(capturedErr!.ToArray()), exit, false, null),
                        RemoteJson.Default.RemoteExecOutput));
                }

                return exit;
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

    private static Command CopyCommand(TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        var driver = new DriverSelection();
        var gateway = new GatewayOptions(environment);
        var output = OutputOption();
        var source = new Argument<string>("SOURCE") { Description = "A local file, or SANDBOX:PATH." };
        var destination = new Argument<string>("DEST") { Description = "SANDBOX:PATH, or a local file ('-' for standard output)." };
        var command = new Command("cp", "Copy a file into or out of a sandbox (paths inside are confined to its workdir, /tmp and read_write paths).")
        {
            source, destination, output,
        };
        driver.AddTo(command);
        gateway.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var from = parse.GetRequiredValue(source);
            var to = parse.GetRequiredValue(destination);
            var json = IsJson(parse, output);
            if (gateway.IsRemote(parse))
            {
                if (driver.AnyGiven(parse))
                {
                    return DriverWithGateway("sandbox cp", stderr);
                }

                return await RemoteCall.RunAsync(
                    gateway, parse, "sandbox cp", json, stdout, stderr,
                    async client =>
                    {
                        try
                        {
                            return (SplitRemote(from), SplitRemote(to)) switch
                            {
                                (null, var (id, path)) => await RemoteSandboxes.UploadAsync(client, from, id, path, json, stdout, cancellationToken).ConfigureAwait(false),
                                (var (id, path), null) => await RemoteSandboxes.DownloadAsync(client, id, path, to, Bytes(stdout), json, stdout, cancellationToken).ConfigureAwait(false),
                                _ => CopyUsage(stderr),
                            };
                        }
                        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                        {
                            stderr.WriteLine($"airlock sandbox cp: {e.Message}");
                            return ExitCodes.SandboxFailed;
                        }
                    },
                    cancellationToken).ConfigureAwait(false);
            }

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
                        WriteCopied(json, stdout, from, to, file.Length);
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

                    WriteCopied(json, stdout, from, target, new FileInfo(target).Length);
                    return ExitCodes.Success;
                }

                return CopyUsage(stderr);
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

    private static Command ListCommand(TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        var driver = new DriverSelection();
        var gateway = new GatewayOptions(environment);
        var output = OutputOption();
        var all = new Option<bool>("--all", "-a") { Description = "gateway: deleted sandboxes too (the gateway keeps their records)." };
        var command = new Command("ls", "List sandboxes.") { all, output };
        driver.AddTo(command);
        gateway.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (gateway.IsRemote(parse))
            {
                return driver.AnyGiven(parse)
                    ? DriverWithGateway("sandbox ls", stderr)
                    : await RemoteCall.RunAsync(gateway, parse, "sandbox ls", IsJson(parse, output), stdout, stderr, client => RemoteSandboxes.ListAsync(client, parse.GetValue(all), IsJson(parse, output), stdout, stderr, cancellationToken), cancellationToken).ConfigureAwait(false);
            }

            if (parse.GetValue(all))
            {
                stderr.WriteLine($"airlock sandbox ls: --all needs a gateway (--server or {AirlockClient.ServerVariable}); ls already shows every local sandbox");
                return ExitCodes.Usage;
            }

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
                TextTable.Age(DateTimeOffset.UtcNow - s.CreatedAt),
                s.ExpiresAt is { } expires ? TextTable.Age(expires - DateTimeOffset.UtcNow) : "-",
                s.WorkDirectory,
                Path.GetFileName(s.PolicySource),
            });
            TextTable.Write(stdout, ["ID", "STATE", "AGE", "EXPIRES IN", "WORKDIR", "POLICY"], rows);

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command GetCommand(TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        var driver = new DriverSelection();
        var gateway = new GatewayOptions(environment);
        var output = OutputOption();
        var id = new Argument<string>("SANDBOX") { Description = "The sandbox id." };
        var command = new Command("get", "Show one sandbox.") { output, id };
        driver.AddTo(command);
        gateway.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var json = IsJson(parse, output);
            if (gateway.IsRemote(parse))
            {
                return driver.AnyGiven(parse)
                    ? DriverWithGateway("sandbox get", stderr)
                    : await RemoteCall.RunAsync(gateway, parse, "sandbox get", json, stdout, stderr, client => RemoteSandboxes.GetAsync(client, parse.GetRequiredValue(id), json, stdout, cancellationToken), cancellationToken).ConfigureAwait(false);
            }

            SandboxInfo? info;
            try
            {
                info = await driver.Create(parse).GetAsync(parse.GetRequiredValue(id), cancellationToken).ConfigureAwait(false);
            }
            catch (SandboxException e)
            {
                stderr.WriteLine($"airlock sandbox get: {e.Message}");
                return ExitCodes.SandboxFailed;
            }

            if (info is null)
            {
                stderr.WriteLine($"airlock sandbox get: no sandbox '{parse.GetRequiredValue(id)}'");
                return ExitCodes.SandboxFailed;
            }

            var description = Describe(info);
            if (json)
            {
                stdout.WriteLine(JsonSerializer.Serialize(description, CliJson.Default.SandboxDescription));
                return ExitCodes.Success;
            }

            stdout.WriteLine($"id:       {description.Id}");
            stdout.WriteLine($"state:    {description.State}");
            stdout.WriteLine($"driver:   {description.Driver}");
            stdout.WriteLine($"policy:   {description.Policy}");
            stdout.WriteLine($"workdir:  {description.WorkDirectory}");
            stdout.WriteLine($"created:  {description.CreatedAt.ToString("u", CultureInfo.InvariantCulture)}");
            stdout.WriteLine($"expires:  {description.ExpiresAt?.ToString("u", CultureInfo.InvariantCulture) ?? "-"}");
            stdout.WriteLine($"events:   {description.Events}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command RemoveCommand(TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        var driver = new DriverSelection();
        var gateway = new GatewayOptions(environment);
        var output = OutputOption();
        var ids = new Argument<string[]>("SANDBOX") { Description = "Sandbox ids.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("rm", "Stop sandboxes and remove them (their events are kept).") { output, ids };
        driver.AddTo(command);
        gateway.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var json = IsJson(parse, output);
            if (gateway.IsRemote(parse))
            {
                return driver.AnyGiven(parse)
                    ? DriverWithGateway("sandbox rm", stderr)
                    : await RemoteCall.RunAsync(gateway, parse, "sandbox rm", json, stdout, stderr, client => RemoteSandboxes.RemoveAsync(client, parse.GetRequiredValue(ids), json, stdout, stderr, cancellationToken), cancellationToken).ConfigureAwait(false);
            }

            var exit = ExitCodes.Success;
            var deleted = new List<string>();
            try
            {
                var sandboxes = driver.Create(parse);
                foreach (var id in parse.GetRequiredValue(ids))
                {
                    if (await sandboxes.DeleteAsync(id, cancellationToken).ConfigureAwait(false))
                    {
                        deleted.Add(id);
                        if (!json)
                        {
                            stdout.WriteLine(id);
                        }
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

            if (json)
            {
                stdout.WriteLine(JsonSerializer.Serialize(new RemoteRemoveOutput(deleted), RemoteJson.Default.RemoteRemoveOutput));
            }

            return exit;
        });
        return command;
    }

    private static Command EventsCommand(TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        var driver = new DriverSelection();
        var gateway = new GatewayOptions(environment);
        var output = OutputOption();
        var id = new Argument<string>("SANDBOX") { Description = "The sandbox id." };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing events as they happen, until the sandbox is removed." };
        var command = new Command("events", "Print a sandbox's egress events (local: NDJSON; gateway: one line each, NDJSON with --output json).") { follow, output, id };
        command.Aliases.Add("logs");
        driver.AddTo(command);
        gateway.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (gateway.IsRemote(parse))
            {
                var json = IsJson(parse, output);
                return driver.AnyGiven(parse)
                    ? DriverWithGateway("sandbox logs", stderr)
                    : await RemoteCall.RunAsync(gateway, parse, "sandbox logs", json, stdout, stderr, client => RemoteSandboxes.LogsAsync(client, parse.GetRequiredValue(id), parse.GetValue(follow), json, stdout, cancellationToken), cancellationToken).ConfigureAwait(false);
            }

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

    internal static Option<string> OutputOption() => new("--output", "-o")
    {
        Description = "text or json.",
        DefaultValueFactory = _ => "text",
        CustomParser = result => result.Tokens is [{ Value: "text" or "json" } token] ? token.Value : result.Tokens.Count == 0 ? "text" : Fail(result, "--output is text or json"),
    };

    private static bool IsJson(ParseResult parse, Option<string> output) => parse.GetValue(output) == "json";

    private static int DriverWithGateway(string verb, TextWriter stderr)
    {
        stderr.WriteLine($"airlock {verb}: --driver and its options are for sandboxes run from here; a gateway (--server or {AirlockClient.ServerVariable}) runs its own driver");
        return ExitCodes.Usage;
    }

    private static int CopyUsage(TextWriter stderr)
    {
        stderr.WriteLine("airlock sandbox cp: exactly one of SOURCE and DEST must be SANDBOX:PATH");
        return ExitCodes.Usage;
    }

    private static void WriteCopied(bool json, TextWriter stdout, string source, string destination, long bytes)
    {
        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(new RemoteCopyOutput(source, destination, bytes), RemoteJson.Default.RemoteCopyOutput));
        }
    }

    /// <summary>
    /// The request for a gateway's <c>sandbox create</c>, or null after printing why not: the options only a local
    /// sandbox takes are refused, the policy file is read here and sent as text.
    /// </summary>
    private static CreateSandboxRequest? RemoteCreateRequest(
        ParseResult parse,
        DriverSelection driver,
        SandboxSessionOptions session,
        Option<TimeSpan?> ttl,
        Option<string?> idle,
        Option<string[]> labels,
        Option<string?> policyName,
        Option<int?> policyVersion,
        TextWriter stderr,
        out int failure)
    {
        failure = ExitCodes.Usage;
        CreateSandboxRequest? Usage(string message)
        {
            stderr.WriteLine($"airlock sandbox create: {message}");
            return null;
        }

        if (driver.AnyGiven(parse))
        {
            DriverWithGateway("sandbox create", stderr);
            return null;
        }

        if (session.LocalOnlyGiven(parse).FirstOrDefault() is { } localOnly)
        {
            return Usage($"{localOnly} is for sandboxes run from here; a gateway's sandbox gets a fresh workdir, and its limits and proxy settings are the gateway's");
        }

        var file = session.PolicyPath(parse);
        var name = parse.GetValue(policyName);
        if ((file is null) == (name is null))
        {
            return Usage("give exactly one of --policy FILE and --policy-name NAME (a stored policy: airlock policy push)");
        }

        string? text = null;
        if (file is not null)
        {
            try
            {
                text = File.ReadAllText(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                failure = ExitCodes.InvalidPolicy;
                return Usage($"--policy: {e.Message}");
            }
        }

        if (!SandboxSessionOptions.TryParseEnvironment(session.EnvironmentPairs(parse), out var variables, out var envError))
        {
            return Usage($"--env: {envError}");
        }

        if (!SecretSources.TryRead(session.SecretSpecs(parse), out var secrets, out var secretError))
        {
            return Usage($"--secret: {secretError}");
        }

        if (!SandboxSessionOptions.TryParseEnvironment(parse.GetValue(labels) ?? [], out var labelPairs, out var labelError))
        {
            return Usage($"--label: {labelError}");
        }

        return new CreateSandboxRequest
        {
            Policy = text,
            PolicyName = name,
            PolicyVersion = parse.GetValue(policyVersion),
            Env = variables.Count == 0 ? null : variables,
            Secrets = secrets.Count == 0 ? null : secrets,

            // The gateway reads the duration as written (30m, 8h) and names the field when it is wrong.
            Ttl = parse.GetResult(ttl) is { Implicit: false, Tokens: [var token] } ? token.Value : null,
            IdleTimeout = parse.GetValue(idle),
            Labels = labelPairs.Count == 0 ? null : labelPairs,
        };
    }

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
