using System.Globalization;
using System.Text;
using Airlock.Policy.Decisions;
using Airlock.Policy.Hosts;
using Airlock.Policy.Loading;
using BenchmarkDotNet.Attributes;

namespace Airlock.Benchmarks;

/// <summary>
/// The egress decision for one connection, with policies of 10 to 10,000 rules (half exact hosts, half
/// wildcards). Target (DESIGN §8): at most 1 µs, no allocation, flat across sizes.
/// </summary>
[MemoryDiagnoser]
public class DecisionBenchmarks
{
    private EgressDecisionEngine _engine = null!;
    private CanonicalHost _exactHit = null!;
    private CanonicalHost _wildcardHit = null!;
    private CanonicalHost _deepWildcardHit = null!;
    private CanonicalHost _miss = null!;

    [Params(10, 1_000, 10_000)]
    public int Rules { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var result = PolicyLoader.Parse(GeneratePolicy(Rules), "bench.yaml");
        if (result.Policy is null)
        {
            throw new InvalidOperationException(string.Join('\n', result.Diagnostics));
        }

        _engine = EgressDecisionEngine.Compile(result.Policy);
        // The last rule of each shape, so a linear scan would be at its slowest.
        var exact = Rules / 2 - 1;
        var wildcards = Rules - Rules / 2;
        var tenant = (wildcards - 1) / 2 * 2;
        var zone = (wildcards - 2) / 2 * 2 + 1;
        _exactHit = Canonical($"api{exact}.service{exact}.example.com");
        _wildcardHit = Canonical($"x.tenant{tenant}.example.net");
        _deepWildcardHit = Canonical($"a.b.c.zone{zone}.example.org");
        _miss = Canonical("nothing.matches.example.io");
        Check(_engine.Decide(_exactHit, 443), Verdict.Allow);
        Check(_engine.Decide(_wildcardHit, 443), Verdict.Allow);
        Check(_engine.Decide(_deepWildcardHit, 443), Verdict.Allow);
        Check(_engine.Decide(_miss, 443), Verdict.Deny);
    }

    [Benchmark(Baseline = true)]
    public EgressDecision ExactHost() => _engine.Decide(_exactHit, 443);

    [Benchmark]
    public EgressDecision OneLabelWildcard() => _engine.Decide(_wildcardHit, 443);

    [Benchmark]
    public EgressDecision AnyDepthWildcard() => _engine.Decide(_deepWildcardHit, 443);

    [Benchmark]
    public EgressDecision NoMatch() => _engine.Decide(_miss, 443);

    /// <summary>Generates <paramref name="rules"/> rules: half exact, a quarter <c>*.</c>, a quarter <c>**.</c>.</summary>
    internal static string GeneratePolicy(int rules)
    {
        var yaml = new StringBuilder("version: 1\negress:\n");
        for (var i = 0; i < rules / 2; i++)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"  - allow: api{i}.service{i}.example.com\n");
        }

        for (var i = 0; i < rules - rules / 2; i++)
        {
            if (i % 2 == 0)
            {
                yaml.Append(CultureInfo.InvariantCulture, $"  - allow: \"*.tenant{i}.example.net\"\n");
            }
            else
            {
                yaml.Append(CultureInfo.InvariantCulture, $"  - allow: \"**.zone{i}.example.org\"\n");
            }
        }

        return yaml.ToString();
    }

    private static CanonicalHost Canonical(string host) =>
        HostCanonicalizer.TryCanonicalize(host, out var canonical, out var error)
            ? canonical
            : throw new InvalidOperationException(error);

    private static void Check(EgressDecision decision, Verdict expected)
    {
        if (decision.Verdict != expected)
        {
            throw new InvalidOperationException($"benchmark setup: expected {expected}, got {decision.Verdict} ({decision.ReasonName})");
        }
    }
}
