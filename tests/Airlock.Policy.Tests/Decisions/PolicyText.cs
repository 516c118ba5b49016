using Airlock.Policy.Decisions;
using Airlock.Policy.Loading;
using Airlock.Policy.Model;

namespace Airlock.Policy.Tests.Decisions;

/// <summary>Builds engines from policy text through the real loader.</summary>
internal static class PolicyText
{
    public static EgressPolicy Load(string yaml)
    {
        var result = PolicyLoader.Parse(yaml, "test.yaml");
        Assert.True(result.Policy is not null, string.Join('\n', result.Diagnostics));
        return result.Policy!;
    }

    public static EgressDecisionEngine Engine(string yaml) => EgressDecisionEngine.Compile(Load(yaml));

    /// <summary>A policy whose egress list is the given rule lines (each a YAML flow mapping).</summary>
    public static EgressDecisionEngine Rules(params string[] rules) =>
        Engine("version: 1\negress:\n" + string.Concat(rules.Select(r => $"  - {r}\n")));
}
