using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Airlock.Cli.Sandbox;
using Airlock.Client;

namespace Airlock.Cli.Remote;

/// <summary><c>airlock policy push|apply</c>: store a policy version on a gateway, and hot-reload a running sandbox's policy.</summary>
internal static class PolicyRemoteCommands
{
    public static Command Push(TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        var gateway = new GatewayOptions(environment);
        var output = SandboxCommands.OutputOption();
        var name = new Argument<string>("NAME") { Description = "The policy's name (lower-case letters, digits and '-')." };
        var file = new Argument<string>("FILE") { Description = "The policy file (YAML or JSON)." };
        var command = new Command("push", "Store a policy file as the next version of a named policy on a gateway (admin token).") { output, name, file };
        gateway.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var json = parse.GetValue(output) == "json";
            var path = parse.GetRequiredValue(file);
            if (!TryReadPolicy(path, "policy push", stderr, out var text))
            {
                return ExitCodes.InvalidPolicy;
            }

            return await RemoteCall.RunAsync(gateway, parse, "policy push", json, stdout, stderr, async client =>
            {
                var stored = await client.PutPolicyAsync(parse.GetRequiredValue(name), text, cancellationToken).ConfigureAwait(false);
                var warnings = stored.Problems.Select(p => string.Create(CultureInfo.InvariantCulture, $"{path}:{p.Line}:{p.Column}: {p.Severity}: {p.Message}")).ToList();
                foreach (var warning in warnings)
                {
                    stderr.WriteLine(warning);
                }

                stdout.WriteLine(json
                    ? JsonSerializer.Serialize(new PolicyVersionOutput(stored.Name, stored.Version, stored.CreatedAt, warnings), RemoteJson.Default.PolicyVersionOutput)
                    : string.Create(CultureInfo.InvariantCulture, $"{stored.Name} version {stored.Version}"));
                return ExitCodes.Success;
            }, cancellationToken, path).ConfigureAwait(false);
        });
        return command;
    }

    public static Command Apply(TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        var gateway = new GatewayOptions(environment);
        var output = SandboxCommands.OutputOption();
        var id = new Argument<string>("SANDBOX") { Description = "The sandbox id." };
        var file = new Argument<string?>("FILE") { Description = "The new policy file (or --name).", Arity = ArgumentArity.ZeroOrOne };
        var name = new Option<string?>("--name") { Description = "A stored policy (airlock policy push) instead of a file." };
        var version = new Option<int?>("--version") { Description = "The stored policy's version (default: its latest)." };
        var command = new Command("apply", "Hot-reload a running sandbox's policy on a gateway; returns once its proxy enforces it.") { name, version, output, id, file };
        gateway.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var json = parse.GetValue(output) == "json";
            var path = parse.GetValue(file);
            var stored = parse.GetValue(name);
            if ((path is null) == (stored is null))
            {
                stderr.WriteLine("airlock policy apply: give exactly one of FILE and --name NAME");
                return ExitCodes.Usage;
            }

            var request = new ApplyPolicyRequest { PolicyName = stored, PolicyVersion = parse.GetValue(version) };
            if (path is not null)
            {
                if (!TryReadPolicy(path, "policy apply", stderr, out var text))
                {
                    return ExitCodes.InvalidPolicy;
                }

                request = request with { Policy = text };
            }

            return await RemoteCall.RunAsync(gateway, parse, "policy apply", json, stdout, stderr, async client =>
            {
                var sandbox = await client.ApplySandboxPolicyAsync(parse.GetRequiredValue(id), request, cancellationToken).ConfigureAwait(false);
                stdout.WriteLine(json
                    ? JsonSerializer.Serialize(RemoteSandboxOutput.From(sandbox), RemoteJson.Default.RemoteSandboxOutput)
                    : string.Create(CultureInfo.InvariantCulture, $"{sandbox.Id}: policy {sandbox.PolicyName} version {sandbox.ActivePolicyVersion} active"));
                return ExitCodes.Success;
            }, cancellationToken, path).ConfigureAwait(false);
        });
        return command;
    }

    private static bool TryReadPolicy(string path, string verb, TextWriter stderr, out string text)
    {
        try
        {
            text = File.ReadAllText(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"airlock {verb}: {e.Message}");
            text = string.Empty;
            return false;
        }
    }
}
