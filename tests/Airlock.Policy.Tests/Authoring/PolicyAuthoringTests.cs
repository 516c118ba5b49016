using Airlock.Policy.Authoring;
using Airlock.Policy.Loading;

namespace Airlock.Policy.Tests.Authoring;

public sealed class PolicyAuthoringTests
{
    private static PolicyLoadResult Load(string text)
    {
        var result = PolicyLoader.Parse(text, "suggested");
        Assert.True(result.Policy is not null, string.Join("\n", result.Diagnostics) + "\n" + text);
        Assert.DoesNotContain(result.Diagnostics, d => d.IsError);
        return result;
    }

    [Fact]
    public void A_suggestion_lists_exactly_the_ports_methods_and_paths_seen_per_host()
    {
        var suggestion = PolicySuggester.Suggest(
            [
                new Observation { Host = "api.github.com", Port = 443, Method = "GET", Path = "/repos/a/b/issues/42" },
                new Observation { Host = "api.github.com", Port = 443, Method = "GET", Path = "/repos/a/b/issues/7?state=open" },
                new Observation { Host = "api.github.com", Port = 443, Method = "HEAD", Path = "/user" },
                new Observation { Host = "api.github.com", Port = 443 },
                new Observation { Host = "registry.npmjs.org", Port = 443, TlsPassthrough = true },
                new Observation { Host = "github.com", Port = 22 },
            ],
            "learned",
            "sandbox sb-1");

        Load(suggestion.Text);
        Assert.Equal(3, suggestion.Destinations);
        Assert.Contains("  - allow: \"api.github.com\"\n    ports: [443]\n    http:\n      - methods: [GET]\n        paths: [\"/repos/a/b/issues/*\"]\n      - methods: [HEAD]\n        paths: [\"/user\"]\n", suggestion.Text, StringComparison.Ordinal);
        Assert.Contains("  - allow: \"registry.npmjs.org\"\n    ports: [443]\n    tls: passthrough\n", suggestion.Text, StringComparison.Ordinal);
        Assert.Contains("  - allow: \"github.com\"\n    ports: [22]\n    protocol: tcp\n", suggestion.Text, StringComparison.Ordinal);
        Assert.Contains("default: deny", suggestion.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Many_paths_collapse_to_prefixes_and_odd_segments_become_wildcards()
    {
        var paths = Enumerable.Range(0, 30).Select(i => $"/docs/page-{i}/section").Append("/search/a b").Append("/static/app.js");

        var generalised = PolicySuggester.Generalise(paths);

        Assert.True(generalised.Count <= PolicySuggester.MaxPathsPerRule, string.Join(", ", generalised));
        Assert.Contains("/docs/**", generalised);
        Assert.Contains("/search/*", generalised);
        Assert.Contains("/static/app.js", generalised);
    }

    [Fact]
    public void Nothing_observed_suggests_a_policy_that_allows_nothing()
    {
        var suggestion = PolicySuggester.Suggest([], "empty", "sandbox sb-2");

        var loaded = Load(suggestion.Text);
        Assert.Empty(loaded.Policy!.Egress);
        Assert.Equal(0, suggestion.Destinations);
    }

    [Fact]
    public void A_host_that_needs_quoting_stays_one_string()
    {
        var suggestion = PolicySuggester.Suggest([new Observation { Host = "a.example", Port = 80, Method = "GET", Path = "/q\"uote" }], "q", "line\nbreak");

        Load(suggestion.Text);
        Assert.DoesNotContain("line\nbreak", suggestion.Text, StringComparison.Ordinal);
        Assert.Contains("paths: [\"/*\"]", suggestion.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("version: 1\n# keep deny first\negress:\n  - deny: evil.example\n  - ask: \"**\"\n")]
    [InlineData("version: 1\negress: []\n")]
    [InlineData("version: 1\n")]
    [InlineData("{\"version\": 1, \"egress\": [{\"allow\": \"a.example\"}]}")]
    public void An_amended_policy_still_loads_and_allows_the_destination(string original)
    {
        var amended = PolicyAmendment.AllowDestination(original, "api.example.com", 8443, "approved for the session: api.example.com:8443");

        var loaded = Load(amended);
        var rule = loaded.Policy!.Egress[^1];
        Assert.Equal("approved for the session: api.example.com:8443", rule.Name);
        Assert.Equal(Load(original).Policy!.Egress.Length + 1, loaded.Policy.Egress.Length);
        Assert.Contains("api.example.com", amended, StringComparison.Ordinal);
        Assert.Contains("ports: [8443]", amended, StringComparison.Ordinal);
    }

    [Fact]
    public void Amending_text_that_is_not_a_policy_document_is_refused()
    {
        Assert.Throws<ArgumentException>(() => PolicyAmendment.AllowDestination("- a\n- b\n", "a.example", 443, "x"));
        Assert.Throws<ArgumentException>(() => PolicyAmendment.AllowDestination("a: [\n", "a.example", 443, "x"));
    }
}
