using System.Globalization;
using System.Text;
using Airlock.Policy.Decisions;
using Airlock.Policy.Hosts;
using Airlock.Policy.Model;

namespace Airlock.Policy.Tests.Decisions;

/// <summary>
/// The compiled engine must agree with the specification read literally: a linear scan over the rules
/// using <see cref="HostPattern.Matches"/> and <see cref="PortSet.Contains"/>. Random policies over a small
/// alphabet of labels make overlaps (and so precedence) frequent.
/// </summary>
public class ReferenceEvaluationTests
{
    private static readonly string[] Labels = ["a", "b", "c", "api", "example", "com", "net"];
    private static readonly int[] Ports = [22, 80, 443, 8443];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Engine_agrees_with_a_linear_scan(int seed)
    {
        var random = new Random(seed);
        var policy = PolicyText.Load(RandomPolicy(random, rules: 40));
        var engine = EgressDecisionEngine.Compile(policy);

        for (var i = 0; i < 2_000; i++)
        {
            var host = RandomHost(random);
            var port = Ports[random.Next(Ports.Length)];
            Assert.True(HostCanonicalizer.TryCanonicalize(host, out var canonical, out _));

            var expected = Reference(policy, canonical, port);
            var actual = engine.Decide(canonical, port);

            Assert.True(expected.Verdict == actual.Verdict && expected.Rule == actual.Rule?.Index,
                $"{host}:{port}: expected {expected.Verdict} by rule {expected.Rule}, got {actual.Verdict} by rule {actual.Rule?.Index}");
        }
    }

    private static (Verdict Verdict, int? Rule) Reference(EgressPolicy policy, CanonicalHost host, int port)
    {
        EgressRule? First(RuleKind kind) =>
            policy.Egress.FirstOrDefault(r => r.Kind == kind && r.Host.Matches(host) && r.Ports.Contains(port));

        if (First(RuleKind.Deny) is { } deny)
        {
            return (Verdict.Deny, deny.Index);
        }

        if (First(RuleKind.Allow) is { } allow)
        {
            return (Verdict.Allow, allow.Index);
        }

        if (First(RuleKind.Ask) is { } ask)
        {
            return (Verdict.Pending, ask.Index);
        }

        return (policy.Default == DefaultAction.Allow ? Verdict.Allow : Verdict.Deny, null);
    }

    private static string RandomPolicy(Random random, int rules)
    {
        var yaml = new StringBuilder("version: 1\negress:\n");
        for (var i = 0; i < rules; i++)
        {
            var kind = random.Next(10) switch
            {
                < 6 => "allow",
                < 9 => "deny",
                _ => "ask",
            };
            var suffix = string.Join('.', Enumerable.Range(0, random.Next(1, 3)).Select(_ => Labels[random.Next(Labels.Length)])) + ".example.com";
            var host = random.Next(4) switch
            {
                0 => $"\"*.{suffix}\"",
                1 => $"\"**.{suffix}\"",
                _ => suffix,
            };
            yaml.Append(CultureInfo.InvariantCulture, $"  - {kind}: {host}\n");
            if (random.Next(3) == 0)
            {
                yaml.Append(CultureInfo.InvariantCulture, $"    ports: [{Ports[random.Next(Ports.Length)]}]\n");
            }
        }

        if (random.Next(2) == 0)
        {
            yaml.Append("  - ask: \"**\"\n");
        }

        return yaml.ToString();
    }

    private static string RandomHost(Random random)
    {
        var depth = random.Next(0, 4);
        var labels = Enumerable.Range(0, depth).Select(_ => Labels[random.Next(Labels.Length)]);
        return string.Join('.', labels.Append("example").Append("com"));
    }
}
