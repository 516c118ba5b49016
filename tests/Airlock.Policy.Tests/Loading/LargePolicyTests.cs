using System.Globalization;
using System.Text;

namespace Airlock.Policy.Tests.Loading;

public class LargePolicyTests
{
    [Fact]
    public void A_generated_10000_rule_YAML_policy_loads()
    {
        var result = PolicyTexts.Yaml(Generate(10_000, json: false));

        Assert.True(result.Succeeded, PolicyTexts.Dump(result));
        var rules = result.Policy!.Egress;
        Assert.Equal(10_000, rules.Length);
        Assert.Equal(Enumerable.Range(0, 10_000), rules.Select(r => r.Index));
        Assert.Equal("api9999.example.com", rules[^1].Host.Text);
        Assert.Equal(10_002, rules[^1].Location!.Line);
    }

    [Fact]
    public void A_generated_10000_rule_JSON_policy_loads()
    {
        var result = PolicyTexts.Json(Generate(10_000, json: true));

        Assert.True(result.Succeeded, PolicyTexts.Dump(result));
        Assert.Equal(10_000, result.Policy!.Egress.Length);
    }

    /// <summary>Exact hosts, one-label and any-depth wildcards, deny rules, and ports, in turn.</summary>
    private static string Generate(int rules, bool json)
    {
        var text = new StringBuilder(json ? "{\"version\": 1, \"egress\": [\n" : "version: 1\negress:\n");
        for (var i = 0; i < rules; i++)
        {
            var (kind, host) = (i % 4) switch
            {
                0 => ("allow", $"*.tenant{i}.example.net"),
                1 => ("allow", $"**.zone{i}.example.org"),
                2 => ("deny", $"blocked{i}.example.com"),
                _ => ("allow", $"api{i}.example.com"),
            };
            var port = 1000 + (i % 5000);
            text.Append(json
                ? string.Create(CultureInfo.InvariantCulture, $"{(i == 0 ? "" : ",\n")}{{\"{kind}\": \"{host}\", \"ports\": [{port}]}}")
                : string.Create(CultureInfo.InvariantCulture, $"  - {{{kind}: \"{host}\", ports: [{port}]}}\n"));
        }

        return text.Append(json ? "\n]}" : string.Empty).ToString();
    }
}
