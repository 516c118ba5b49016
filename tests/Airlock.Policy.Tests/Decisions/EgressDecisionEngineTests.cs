using Airlock.Policy.Decisions;
using Airlock.Policy.Model;

namespace Airlock.Policy.Tests.Decisions;

public class EgressDecisionEngineTests
{
    public static TheoryData<string, string, string, Verdict, DecisionReason, int> Precedence() => new()
    {
        // deny beats allow in every exact/wildcard combination, whatever the order
        { "{allow: api.example.com}", "{deny: api.example.com}", "api.example.com", Verdict.Deny, DecisionReason.DeniedByRule, 1 },
        { "{deny: api.example.com}", "{allow: api.example.com}", "api.example.com", Verdict.Deny, DecisionReason.DeniedByRule, 0 },
        { "{allow: api.example.com}", "{deny: \"*.example.com\"}", "api.example.com", Verdict.Deny, DecisionReason.DeniedByRule, 1 },
        { "{allow: \"*.example.com\"}", "{deny: api.example.com}", "api.example.com", Verdict.Deny, DecisionReason.DeniedByRule, 1 },
        { "{allow: \"**.example.com\"}", "{deny: \"*.example.com\"}", "api.example.com", Verdict.Deny, DecisionReason.DeniedByRule, 1 },
        { "{allow: \"*.example.com\"}", "{deny: \"**.example.com\"}", "api.example.com", Verdict.Deny, DecisionReason.DeniedByRule, 1 },
        { "{allow: api.example.com}", "{deny: \"**\"}", "api.example.com", Verdict.Deny, DecisionReason.DeniedByRule, 1 },
        { "{allow: a.b.example.com}", "{deny: \"**.example.com\"}", "a.b.example.com", Verdict.Deny, DecisionReason.DeniedByRule, 1 },
        // a deny that does not match leaves the allow
        { "{allow: api.example.com}", "{deny: \"*.api.example.com\"}", "api.example.com", Verdict.Allow, DecisionReason.AllowedByRule, 0 },
        { "{allow: \"**.example.com\"}", "{deny: \"*.example.com\"}", "a.b.example.com", Verdict.Allow, DecisionReason.AllowedByRule, 0 },
        // allow beats ask, whatever the order
        { "{ask: \"**\"}", "{allow: api.example.com}", "api.example.com", Verdict.Allow, DecisionReason.AllowedByRule, 1 },
        { "{ask: api.example.com}", "{allow: \"*.example.com\"}", "api.example.com", Verdict.Allow, DecisionReason.AllowedByRule, 1 },
        // the first allow wins among allows
        { "{allow: \"*.example.com\", name: first}", "{allow: api.example.com, name: second}", "api.example.com", Verdict.Allow, DecisionReason.AllowedByRule, 0 },
        { "{allow: api.example.com, name: first}", "{allow: \"**.example.com\", name: second}", "api.example.com", Verdict.Allow, DecisionReason.AllowedByRule, 0 },
        // ask when nothing else matches
        { "{allow: api.example.com}", "{ask: \"**\"}", "other.example.com", Verdict.Pending, DecisionReason.AskPending, 1 },
    };

    [Theory]
    [MemberData(nameof(Precedence))]
    public void Deny_beats_allow_beats_ask(string first, string second, string host, Verdict verdict, DecisionReason reason, int ruleIndex)
    {
        var engine = PolicyText.Rules(first, second);

        var decision = engine.Decide(host, 443);

        Assert.Equal(verdict, decision.Verdict);
        Assert.Equal(reason, decision.Reason);
        Assert.Equal(ruleIndex, decision.Rule?.Index);
    }

    [Theory]
    [InlineData("api.example.com", true)]
    [InlineData("API.Example.COM.", true)]
    [InlineData("example.com", false)]
    [InlineData("evilexample.com", false)]
    [InlineData("api.example.com.evil.com", false)]
    [InlineData("a.api.example.com", false)]
    public void Exact_rules_match_the_canonical_host_only(string host, bool allowed)
    {
        var engine = PolicyText.Rules("{allow: api.example.com}");

        Assert.Equal(allowed, engine.Decide(host, 443).IsAllowed);
    }

    [Theory]
    [InlineData("*.example.com", "a.example.com", true)]
    [InlineData("*.example.com", "a.b.example.com", false)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("*.example.com", "aexample.com", false)]
    [InlineData("*.example.com", "a.example.com.evil.net", false)]
    [InlineData("**.example.com", "a.example.com", true)]
    [InlineData("**.example.com", "a.b.c.d.example.com", true)]
    [InlineData("**.example.com", "example.com", false)]
    [InlineData("**.example.com", "xexample.com", false)]
    [InlineData("**", "anything.example", true)]
    [InlineData("**", "127.0.0.1", false)]
    [InlineData("**.example.com", "127.0.0.1", false)]
    public void Wildcards_never_match_the_apex_look_alikes_or_IP_literals(string pattern, string host, bool allowed)
    {
        var engine = PolicyText.Engine($"version: 1\ndefault: allow\negress:\n  - deny: \"{pattern}\"\n");

        // With default allow, a match is visible as a deny.
        Assert.Equal(allowed, engine.Decide(host, 443).Verdict == Verdict.Deny);
    }

    [Theory]
    [InlineData(443, true)]
    [InlineData(80, true)]
    [InlineData(8443, false)]
    [InlineData(22, false)]
    public void Allow_rules_default_to_ports_80_and_443(int port, bool allowed)
    {
        var engine = PolicyText.Rules("{allow: api.example.com}");

        Assert.Equal(allowed, engine.Decide("api.example.com", port).IsAllowed);
    }

    [Fact]
    public void Deny_rules_default_to_every_port()
    {
        var engine = PolicyText.Rules("{allow: db.example.com, ports: [5432]}", "{deny: db.example.com}");

        var decision = engine.Decide("db.example.com", 5432);

        Assert.Equal(Verdict.Deny, decision.Verdict);
        Assert.Equal(1, decision.Rule?.Index);
    }

    [Fact]
    public void Port_mismatch_falls_through_to_a_later_rule()
    {
        var engine = PolicyText.Rules("{allow: github.com}", "{allow: github.com, ports: [22], protocol: tcp, name: ssh}");

        var decision = engine.Decide("github.com", 22);

        Assert.True(decision.IsAllowed);
        Assert.Equal("ssh", decision.Rule?.Name);
        Assert.Equal(RuleProtocol.Tcp, decision.Rule?.Protocol);
    }

    [Theory]
    [InlineData("deny", Verdict.Deny, DecisionReason.DefaultDeny)]
    [InlineData("allow", Verdict.Allow, DecisionReason.DefaultAllow)]
    public void Unmatched_destinations_get_the_default(string fallback, Verdict verdict, DecisionReason reason)
    {
        var engine = PolicyText.Engine($"version: 1\ndefault: {fallback}\negress:\n  - allow: api.example.com\n");

        var decision = engine.Decide("other.example.org", 443);

        Assert.Equal(verdict, decision.Verdict);
        Assert.Equal(reason, decision.Reason);
        Assert.Null(decision.Rule);
    }

    [Theory]
    [InlineData("")]
    [InlineData("exa mple.com")]
    [InlineData("example.com\r\nHost: evil")]
    [InlineData("a..b")]
    [InlineData("1.2.3.256")]
    public void Malformed_hosts_are_denied_even_under_default_allow(string host)
    {
        var engine = PolicyText.Engine("version: 1\ndefault: allow\n");

        var decision = engine.Decide(host, 443);

        Assert.Equal(Verdict.Deny, decision.Verdict);
        Assert.Equal(DecisionReason.MalformedHost, decision.Reason);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.1")]
    [InlineData("2130706433")]
    [InlineData("0x7f.0.0.1")]
    [InlineData("0177.0.0.1")]
    [InlineData("[::ffff:127.0.0.1]")]
    public void A_deny_on_an_IP_literal_catches_every_spelling_of_it(string spelling)
    {
        var engine = PolicyText.Engine("version: 1\ndefault: allow\negress:\n  - deny: 127.0.0.1\n");

        Assert.Equal(DecisionReason.DeniedByRule, engine.Decide(spelling, 80).Reason);
    }

    [Fact]
    public void Audit_mode_reports_would_deny()
    {
        var engine = PolicyText.Engine("version: 1\nmode: audit\negress:\n  - allow: api.example.com\n");

        var denied = engine.Decide("evil.example.org", 443);
        var allowed = engine.Decide("api.example.com", 443);

        Assert.Equal(Verdict.Deny, denied.Verdict);
        Assert.True(denied.WouldDeny);
        Assert.False(allowed.WouldDeny);
    }

    [Theory]
    [InlineData("GET", "/repos/a/b", Verdict.Allow, DecisionReason.AllowedByRule)]
    [InlineData("HEAD", "/user", Verdict.Allow, DecisionReason.AllowedByRule)]
    [InlineData("POST", "/repos/a/b", Verdict.Deny, DecisionReason.NoMatchingHttpRule)]
    [InlineData("GET", "/admin", Verdict.Deny, DecisionReason.NoMatchingHttpRule)]
    [InlineData("GET", "/repos/../admin", Verdict.Deny, DecisionReason.NoMatchingHttpRule)]
    [InlineData("GET", "/repos/%2e%2e/admin", Verdict.Deny, DecisionReason.NoMatchingHttpRule)]
    [InlineData("GET", "/repos/a/../b", Verdict.Allow, DecisionReason.AllowedByRule)]
    [InlineData("GET", "/../repos/a", Verdict.Deny, DecisionReason.MalformedRequest)]
    [InlineData("GET", "/repos/a%2F..%2F..%2Fadmin", Verdict.Deny, DecisionReason.MalformedRequest)]
    [InlineData("get", "/repos/a/b", Verdict.Deny, DecisionReason.NoMatchingHttpRule)]
    public void Requests_must_match_one_of_the_rules_http_rules(string method, string path, Verdict verdict, DecisionReason reason)
    {
        var engine = PolicyText.Engine("""
            version: 1
            egress:
              - allow: api.github.com
                http:
                  - methods: [GET, HEAD]
                    paths: ["/repos/**", "/user"]
            """);
        var connection = engine.Decide("api.github.com", 443);

        var request = engine.DecideRequest(connection, method, path);

        Assert.True(connection.RequiresRequestCheck);
        Assert.Equal(verdict, request.Verdict);
        Assert.Equal(reason, request.Reason);
        Assert.Equal(0, request.Rule?.Index);
    }

    [Fact]
    public void Requests_on_a_rule_without_http_rules_pass_with_the_connection()
    {
        var engine = PolicyText.Rules("{allow: api.example.com}");
        var connection = engine.Decide("api.example.com", 443);

        Assert.False(connection.RequiresRequestCheck);
        Assert.Equal(connection, engine.DecideRequest(connection, "DELETE", "/anything"));
    }

    [Fact]
    public void A_denied_connection_stays_denied_for_its_requests()
    {
        var engine = PolicyText.Rules("{allow: api.example.com}");
        var connection = engine.Decide("evil.example.org", 443);

        Assert.Equal(DecisionReason.DefaultDeny, engine.DecideRequest(connection, "GET", "/").Reason);
    }
}
