using System.CommandLine;
using System.Globalization;
using System.Net;
using Airlock.Cli.Console;
using Airlock.Cli.Remote;
using Airlock.Policy.Decisions;
using Airlock.Policy.Loading;
using Airlock.Policy.Model;
using Airlock.Policy.Schema;

namespace Airlock.Cli.Policies;

/// <summary><c>airlock policy check | explain | schema | push | apply</c>.</summary>
internal static class PolicyCommands
{
    public static Command Create(TextWriter stdout, TextWriter stderr, Func<string, string?> environment) => new("policy", "Check, explain and describe policies; store them on a gateway and apply them to its sandboxes.")
    {
        CreateCheck(stdout, stderr),
        CreateExplain(stdout, stderr),
        CreateSchema(stdout),
        PolicyRemoteCommands.Push(stdout, stderr, environment),
        PolicyRemoteCommands.Apply(stdout, stderr, environment),
    };

    private static Command CreateCheck(TextWriter stdout, TextWriter stderr)
    {
        var files = new Argument<string[]>("FILE") { Description = "Policy files (YAML or JSON).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("check", "Validate policies: all errors with file:line:col, exit 2 when any is invalid.") { files };
        command.SetAction(parse =>
        {
            var exit = ExitCodes.Success;
            foreach (var file in parse.GetRequiredValue(files))
            {
                var result = PolicyLoader.LoadFile(file);
                WriteDiagnostics(stderr, result);
                if (result.Policy is { } policy)
                {
                    stdout.WriteLine(Summary(file, policy, result.Warnings.Count()));
                }
                else
                {
                    exit = ExitCodes.InvalidPolicy;
                }
            }

            return exit;
        });
        return command;
    }

    private static Command CreateExplain(TextWriter stdout, TextWriter stderr)
    {
        var file = new Argument<string>("FILE") { Description = "The policy file." };
        var url = new Option<string>("--url") { Description = "The destination, e.g. https://api.github.com/user or tcp://github.com:22.", Required = true };
        var method = new Option<string>("--method") { Description = "The HTTP method.", DefaultValueFactory = _ => "GET" };
        var resolve = new Option<string[]>("--resolve")
        {
            Description = "HOST=IP: an address the host resolves to, to check it against the address block list (repeatable).",
            AllowMultipleArgumentsPerToken = false,
        };
        var output = new Option<string>("--output", "-o") { Description = "Output format.", DefaultValueFactory = _ => "text" };
        output.AcceptOnlyFromAmong("text", "json");

        var command = new Command("explain", "Show the decision for one destination, the reason and the rule that decided it.")
        {
            file, url, method, resolve, output,
        };
        command.SetAction(parse =>
        {
            var result = PolicyLoader.LoadFile(parse.GetRequiredValue(file));
            WriteDiagnostics(stderr, result);
            if (result.Policy is not { } policy)
            {
                return ExitCodes.InvalidPolicy;
            }

            if (!ExplainTarget.TryParse(parse.GetRequiredValue(url), out var target, out var urlError))
            {
                stderr.WriteLine($"airlock: --url: {urlError}");
                return ExitCodes.Usage;
            }

            if (!ResolveOverrides.TryParse(parse.GetValue(resolve) ?? [], out var overrides, out _, out var resolveError))
            {
                stderr.WriteLine($"airlock: --resolve: {resolveError}");
                return ExitCodes.Usage;
            }

            var explanation = PolicyExplanation.Explain(
                EgressDecisionEngine.Compile(policy), target, parse.GetRequiredValue(method), overrides.ToDictionary(p => p.Key, p => (IReadOnlyList<IPAddress>)p.Value, StringComparer.Ordinal));
            if (parse.GetValue(output) == "json")
            {
                ExplanationJson.Write(stdout, policy, explanation);
            }
            else
            {
                ExplanationText.Write(Terminal.Over(stdout), policy, explanation);
            }

            return explanation.Final.Verdict switch
            {
                Verdict.Allow => ExitCodes.Success,
                Verdict.Pending => ExitCodes.Pending,
                _ => ExitCodes.Denied,
            };
        });
        return command;
    }

    private static Command CreateSchema(TextWriter stdout)
    {
        var command = new Command("schema", "Print the JSON Schema of the policy format, for editors.");
        command.SetAction(_ =>
        {
            stdout.WriteLine(PolicySchema.Json);
            return ExitCodes.Success;
        });
        return command;
    }

    private static void WriteDiagnostics(TextWriter stderr, PolicyLoadResult result)
    {
        foreach (var diagnostic in result.Diagnostics)
        {
            stderr.WriteLine(diagnostic.ToString());
        }
    }

    private static string Summary(string file, EgressPolicy policy, int warnings)
    {
        int Count(RuleKind kind) => policy.Egress.Count(r => r.Kind == kind);
        var mode = policy.Mode == PolicyMode.Audit ? "audit" : "enforce";
        var fallback = policy.Default == DefaultAction.Allow ? "allow" : "deny";
        var warned = warnings == 0 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $", {warnings} warning(s)");
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{file}: ok: {policy.Egress.Length} rules ({Count(RuleKind.Allow)} allow, {Count(RuleKind.Deny)} deny, {Count(RuleKind.Ask)} ask), mode {mode}, default {fallback}{warned}");
    }
}
