using Airlock.Policy.Decisions;
using Airlock.Policy.Model;
using Spectre.Console;

namespace Airlock.Cli.Policies;

/// <summary>Renders a <see cref="PolicyExplanation"/> for people.</summary>
internal static class ExplanationText
{
    public static void Write(IAnsiConsole console, EgressPolicy policy, PolicyExplanation explanation)
    {
        var final = explanation.Final;
        var target = explanation.Target;
        var (word, colour) = final.Verdict switch
        {
            Verdict.Allow => ("allow", "green"),
            Verdict.Pending => ("ask", "yellow"),
            _ => ("deny", "red"),
        };
        var host = explanation.Host?.UriHost ?? target.Host;
        var request = target.IsHttp
            ? $"{explanation.Method} {target.Scheme}://{host}:{target.Port}{target.PathAndQuery}"
            : $"{target.Scheme}://{host}:{target.Port}";
        console.MarkupLineInterpolated($"[bold {colour}]{word}[/] {request}");
        if (final.WouldDeny)
        {
            console.MarkupLine("  [yellow]audit mode: recorded as would_deny and let through[/]");
        }

        console.MarkupLineInterpolated($"  reason:  {final.ReasonName}: {DecisionReasons.Hint(final.Reason)}");
        console.MarkupLineInterpolated($"  rule:    {RuleText(final.Rule)}");
        if (explanation.Host is { } canonical && !string.Equals(canonical.Value, target.Host, StringComparison.Ordinal))
        {
            console.MarkupLineInterpolated($"  host:    {target.Host} is canonically {canonical.Value}");
        }

        if (final.Rule is { Inject.IsDefaultOrEmpty: false } rule && final.IsAllowed)
        {
            foreach (var injection in rule.Inject)
            {
                console.MarkupLineInterpolated($"  inject:  {injection.Header}: {injection.Value.Text} (filled in by the proxy)");
            }
        }

        if (final.Rule is { } tlsRule && final.IsAllowed)
        {
            var tls = tlsRule.Protocol == RuleProtocol.Tcp ? "opaque tcp" : tlsRule.Tls == TlsMode.Passthrough ? "passthrough" : "inspect";
            console.MarkupLineInterpolated($"  tls:     {tls}");
        }

        foreach (var check in explanation.Addresses)
        {
            var verdict = check.Verdict.Allowed ? "may be dialled" : "blocked";
            console.MarkupLineInterpolated($"  address: {check.Address} {verdict}: {check.Verdict.Detail}");
        }

        if (!explanation.AddressesChecked && final.Verdict != Verdict.Deny)
        {
            console.MarkupLine("  address: not checked; the proxy classifies every resolved address at connect time (pass --resolve HOST=IP to check one)");
        }

        console.MarkupLineInterpolated($"  policy:  {policy.Source}");
    }

    internal static string RuleText(EgressRule? rule) => rule is null
        ? "none (the policy's default)"
        : $"egress[{rule.Index}] {rule.KindName} {rule.Host.Text}{(rule.Name is null ? string.Empty : $" \"{rule.Name}\"")}{(rule.Location is null ? string.Empty : $" at {rule.Location}")}";
}
