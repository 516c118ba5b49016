using System.CommandLine;
using System.Net;
using Airlock.Cli.Console;
using Airlock.Cli.Policies;
using Airlock.Policy.Decisions;
using Airlock.Policy.Loading;
using Spectre.Console;

namespace Airlock.Cli.Demo;

/// <summary>
/// <c>airlock demo</c>: what an agent under the embedded example policy may and may not reach, decided by the
/// same engine the proxy uses. Works offline: nothing is dialled.
/// </summary>
internal static class DemoCommand
{
    private const string EmbeddedPolicy = "Airlock.Cli.coding-agent.yaml";

    /// <summary>What the example agent tries, with the addresses its hosts resolve to.</summary>
    private static readonly (string Method, string Url, string? ResolvesTo, string Why)[] AgentSteps =
    [
        ("GET", "https://api.github.com/repos/dotnet/runtime/issues", "140.82.112.6", "reads issues"),
        ("POST", "https://api.github.com/repos/dotnet/runtime/issues", "140.82.112.6", "tries to open an issue (read-only rule)"),
        ("GET", "https://raw.githubusercontent.com/dotnet/runtime/main/README.md", "185.199.108.133", "reads a file"),
        ("GET", "https://registry.npmjs.org/left-pad", "104.16.0.35", "installs a package (TLS passthrough)"),
        ("POST", "https://api.anthropic.com/v1/messages", "160.79.104.10", "calls the model; the proxy injects the key"),
        ("GET", "tcp://github.com:22", "140.82.112.4", "git over ssh (opaque TCP)"),
        ("GET", "https://gist.github.com/", "140.82.112.3", "tries gists (deny rule)"),
        ("GET", "https://api.github.com/user", "10.0.0.7", "DNS says api.github.com is 10.0.0.7 (rebinding)"),
        ("GET", "http://169.254.169.254/latest/meta-data/", null, "probes cloud metadata"),
        ("POST", "https://evil.example/upload", "203.0.113.50", "exfiltrates to an unknown host"),
        ("GET", "https://0x7f.1/", null, "hides 127.0.0.1 in a hex spelling"),
        ("GET", "https://api.github.com%00.evil.example/", null, "smuggles a NUL into the host"),
    ];

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var policyOption = new Option<string?>("--policy") { Description = "Use this policy instead of the embedded example." };
        var command = new Command("demo", "Show, offline, what an example agent may and may not reach under an example policy.") { policyOption };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(policyOption);
            var result = path is null ? LoadEmbedded() : PolicyLoader.LoadFile(path);
            foreach (var diagnostic in result.Diagnostics)
            {
                stderr.WriteLine(diagnostic.ToString());
            }

            if (result.Policy is not { } policy)
            {
                return ExitCodes.InvalidPolicy;
            }

            Run(Terminal.Over(stdout), EgressDecisionEngine.Compile(policy));
            return ExitCodes.Success;
        });
        return command;
    }

    private static string RuleColumn(EgressDecision decision) => decision switch
    {
        { Rule: { } rule } => $"egress[{rule.Index}] {rule.Name ?? rule.Host.Text}",
        { Reason: DecisionReason.DefaultDeny or DecisionReason.DefaultAllow } => "default",
        _ => "-",
    };

    private static PolicyLoadResult LoadEmbedded()
    {
        using var stream = typeof(DemoCommand).Assembly.GetManifestResourceStream(EmbeddedPolicy)
            ?? throw new InvalidOperationException($"embedded resource {EmbeddedPolicy} is missing");
        using var reader = new StreamReader(stream);
        return PolicyLoader.Parse(reader.ReadToEnd(), "examples/policies/coding-agent.yaml (embedded)");
    }

    private static void Run(IAnsiConsole console, EgressDecisionEngine engine)
    {
        console.MarkupLineInterpolated($"[bold]Airlock demo[/]: an agent under policy [bold]{engine.Policy.Name ?? engine.Policy.Source}[/] ({engine.Policy.Source})");
        console.WriteLine();
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("decision").AddColumn("request").AddColumn("reason").AddColumn("rule").AddColumn("the agent…");
        int allowed = 0, denied = 0;
        foreach (var (method, url, resolvesTo, why) in AgentSteps)
        {
            if (!ExplainTarget.TryParse(url, out var target, out var error))
            {
                throw new InvalidOperationException($"demo step {url}: {error}");
            }

            var resolve = new Dictionary<string, IReadOnlyList<IPAddress>>(StringComparer.Ordinal);
            if (resolvesTo is not null && Airlock.Policy.Hosts.HostCanonicalizer.TryCanonicalize(target.Host, out var host, out _))
            {
                resolve[host.Value] = [IPAddress.Parse(resolvesTo)];
            }

            var explanation = PolicyExplanation.Explain(engine, target, method, resolve);
            var final = explanation.Final;
            var decision = final.Verdict switch
            {
                Verdict.Allow => "[green]allow[/]",
                Verdict.Pending => "[yellow]ask[/]",
                _ => "[red]deny[/]",
            };
            if (final.IsAllowed)
            {
                allowed++;
            }
            else
            {
                denied++;
            }

            var request = target.IsHttp ? $"{method} {url}" : url;
            var reason = final.ReasonName;
            if (final.IsAllowed && final.Rule is { Inject.IsDefaultOrEmpty: false } rule)
            {
                reason += " + inject " + string.Join(", ", rule.Inject.Select(i => i.Header));
            }

            table.AddRow(
                new Markup(decision),
                new Text(request),
                new Text(reason),
                new Text(RuleColumn(final)),
                new Text(why));
        }

        console.Write(table);
        console.MarkupLineInterpolated($"{allowed} allowed, {denied} denied. Explain one yourself: [bold]./airlock policy explain examples/policies/coding-agent.yaml --url https://api.github.com/user[/]");
    }
}
