using Airlock.Policy.Loading;

namespace Airlock.Policy.Tests.Loading;

/// <summary>Rules that can never match are warnings, following the evaluation order (deny, allow, ask).</summary>
public class ShadowedRuleTests
{
    public static TheoryData<string[], string[]> Cases() => new()
    {
        // an earlier allow that covers host and ports
        { ["{allow: \"**.github.com\"}", "{allow: api.github.com}"], ["1 by 0"] },
        { ["{allow: api.github.com}", "{allow: api.github.com, ports: [443]}"], ["1 by 0"] },
        { ["{allow: \"*.example.com\"}", "{allow: \"*.example.com\", name: again}"], ["1 by 0"] },
        // ports not covered: both can match
        { ["{allow: \"**.github.com\", ports: [443]}", "{allow: api.github.com, ports: [8443]}"], [] },
        { ["{allow: api.github.com, ports: [443]}", "{allow: api.github.com}"], [] },
        // a later allow cannot shadow an earlier one
        { ["{allow: api.github.com}", "{allow: \"**.github.com\"}"], [] },
        // hosts not covered
        { ["{allow: \"*.example.com\"}", "{allow: a.b.example.com}"], [] },
        { ["{allow: \"**.example.com\"}", "{allow: example.com}"], [] },
        // deny rules apply first, wherever they are
        { ["{allow: api.example.com}", "{deny: \"*.example.com\"}"], ["0 by 1"] },
        { ["{allow: api.example.com, ports: [8443]}", "{deny: api.example.com, ports: [443]}"], [] },
        { ["{deny: \"**.example.com\"}", "{deny: a.example.com}"], ["1 by 0"] },
        { ["{deny: a.example.com}", "{deny: \"**.example.com\"}"], [] },
        // ask rules come last
        { ["{ask: \"**\"}", "{deny: \"**\"}"], ["0 by 1"] },
        { ["{ask: api.example.com}", "{allow: api.example.com, ports: [\"1-65535\"]}"], ["0 by 1"] },
        { ["{ask: api.example.com}", "{allow: api.example.com}"], [] },
        { ["{ask: \"**.example.com\"}", "{ask: a.example.com}"], ["1 by 0"] },
        { ["{ask: a.example.com}", "{ask: \"**.example.com\"}"], [] },
        // several at once
        { ["{deny: \"**\"}", "{allow: a.example.com}", "{ask: b.example.com}", "{deny: c.example.com}"], ["1 by 0", "2 by 0", "3 by 0"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rules_that_can_never_match_are_warnings(string[] rules, string[] expected)
    {
        var result = PolicyTexts.Yaml("version: 1\ndefault: allow\negress:\n" + string.Concat(rules.Select(r => $"  - {r}\n")));

        Assert.True(result.Succeeded, PolicyTexts.Dump(result));
        Assert.All(result.Diagnostics, d => Assert.Equal(DiagnosticSeverity.Warning, d.Severity));
        var found = result.Warnings.Select(w => w.Message).ToList();
        Assert.Equal(expected.Length, found.Count);
        foreach (var (pair, message) in expected.Zip(found))
        {
            var numbers = pair.Split(" by ");
            Assert.StartsWith($"egress[{numbers[0]}] (", message, StringComparison.Ordinal);
            Assert.Contains($"can never match: egress[{numbers[1]}] (", message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_warning_names_both_rules_and_points_at_the_dead_one()
    {
        var result = PolicyTexts.Yaml(PolicyTexts.WithRules(
            "  - allow: \"**.github.com\"",
            "  - allow: github.com",
            "  - allow: api.github.com"));

        var warning = Assert.Single(result.Warnings);
        Assert.Equal(
            "p.yaml:5:5: warning: egress[2] (allow api.github.com) can never match: egress[0] (allow **.github.com) matches every host and port it does first; remove it, or narrow egress[0]",
            warning.ToString());
    }

    [Fact]
    public void A_deny_shadowing_an_allow_explains_the_order()
    {
        var result = PolicyTexts.Yaml(PolicyTexts.WithRules("  - allow: api.example.com", "  - deny: \"*.example.com\""));

        var warning = Assert.Single(result.Warnings);
        Assert.Equal("p.yaml:3:5", warning.Location.ToString());
        Assert.Equal("deny rules apply before allow and ask rules, wherever they are written", warning.Suggestion);
    }

    [Fact]
    public void The_design_example_has_no_dead_rules()
    {
        Assert.Empty(PolicyTexts.Yaml(PolicyTexts.DesignExample).Diagnostics);
    }

    [Fact]
    public void Policies_over_the_limit_are_not_analysed()
    {
        var duplicates = Enumerable.Repeat("  - allow: api.example.com", ShadowedRuleAnalysis.MaxRules + 1).ToArray();
        var atLimit = Enumerable.Repeat("  - allow: api.example.com", ShadowedRuleAnalysis.MaxRules).ToArray();

        Assert.Empty(PolicyTexts.Yaml(PolicyTexts.WithRules(duplicates)).Warnings);
        Assert.Equal(ShadowedRuleAnalysis.MaxRules - 1, PolicyTexts.Yaml(PolicyTexts.WithRules(atLimit)).Warnings.Count());
    }
}
