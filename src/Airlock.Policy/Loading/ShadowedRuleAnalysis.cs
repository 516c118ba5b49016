using System.Collections.Immutable;
using Airlock.Policy.Model;

namespace Airlock.Policy.Loading;

/// <summary>A rule that can never decide anything, and the rule that always decides first.</summary>
/// <param name="Rule">The dead rule.</param>
/// <param name="ShadowedBy">A rule that matches every host and port <paramref name="Rule"/> matches and is evaluated before it.</param>
internal sealed record ShadowedRule(EgressRule Rule, EgressRule ShadowedBy);

/// <summary>
/// Finds rules that can never match, following the evaluation order (DESIGN §3): every deny rule, then the
/// first allow rule whose host and port match, then the first ask rule. So an allow rule is dead when any
/// deny rule or an earlier allow rule covers its hosts and ports; an ask rule when any deny or allow rule or
/// an earlier ask rule does; a deny rule when an earlier deny rule does. Pairwise, so at most O(n²); skipped
/// above <see cref="MaxRules"/> rules so that generated policies of many thousand rules still load fast.
/// </summary>
internal static class ShadowedRuleAnalysis
{
    /// <summary>Above this many rules the analysis is skipped.</summary>
    public const int MaxRules = 2_000;

    public static ImmutableArray<ShadowedRule> Find(ImmutableArray<EgressRule> rules)
    {
        if (rules.Length > MaxRules)
        {
            return [];
        }

        var deny = rules.Where(r => r.Kind == RuleKind.Deny).ToArray();
        var allow = rules.Where(r => r.Kind == RuleKind.Allow).ToArray();
        var ask = rules.Where(r => r.Kind == RuleKind.Ask).ToArray();
        var found = ImmutableArray.CreateBuilder<ShadowedRule>();
        foreach (var rule in rules)
        {
            var shadow = rule.Kind switch
            {
                RuleKind.Deny => FirstCovering(deny, rule, before: rule.Index),
                RuleKind.Allow => FirstCovering(deny, rule, before: int.MaxValue) ?? FirstCovering(allow, rule, before: rule.Index),
                _ => FirstCovering(deny, rule, before: int.MaxValue)
                    ?? FirstCovering(allow, rule, before: int.MaxValue)
                    ?? FirstCovering(ask, rule, before: rule.Index),
            };
            if (shadow is not null)
            {
                found.Add(new ShadowedRule(rule, shadow));
            }
        }

        return found.DrainToImmutable();
    }

    /// <summary>The first of <paramref name="candidates"/> (rules of one kind, in order) positioned before
    /// <paramref name="before"/> that covers every host and port of <paramref name="rule"/>.</summary>
    private static EgressRule? FirstCovering(EgressRule[] candidates, EgressRule rule, int before)
    {
        foreach (var candidate in candidates)
        {
            if (candidate.Index >= before)
            {
                break;
            }

            if (candidate.Index != rule.Index && candidate.Ports.Covers(rule.Ports) && candidate.Host.Covers(rule.Host))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// <c>egress[2] (allow api.github.com) can never match: egress[0] (allow **.github.com) matches every host
    /// and port it does first</c>, at the dead rule. Rules are named by their index, as in events and <c>explain</c>.
    /// </summary>
    public static PolicyDiagnostic ToWarning(ShadowedRule shadowed, string file)
    {
        var (rule, by) = (shadowed.Rule, shadowed.ShadowedBy);
        var hint = (by.Kind, rule.Kind) switch
        {
            (RuleKind.Deny, not RuleKind.Deny) => "deny rules apply before allow and ask rules, wherever they are written",
            (RuleKind.Allow, RuleKind.Ask) => "allow rules apply before ask rules, wherever they are written",
            _ => $"remove it, or narrow egress[{by.Index}]",
        };
        return new PolicyDiagnostic(
            DiagnosticSeverity.Warning,
            rule.Location ?? new SourceLocation(file, 1, 1),
            $"egress[{rule.Index}] ({Describe(rule)}) can never match: egress[{by.Index}] ({Describe(by)}) matches every host and port it does first",
            hint);
    }

    private static string Describe(EgressRule rule) => $"{rule.KindName} {rule.Host.Text}";
}
