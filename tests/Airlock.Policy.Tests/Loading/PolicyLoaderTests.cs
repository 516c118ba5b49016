using System.Net;
using Airlock.Policy.Loading;
using Airlock.Policy.Model;

namespace Airlock.Policy.Tests.Loading;

public class PolicyLoaderTests
{
    [Fact]
    public void The_design_example_loads_into_the_model()
    {
        var result = PolicyTexts.Yaml(PolicyTexts.DesignExample);

        Assert.True(result.Succeeded, PolicyTexts.Dump(result));
        Assert.Empty(result.Diagnostics);
        var policy = result.Policy!;
        Assert.Equal(1, policy.Version);
        Assert.Equal("coding-agent", policy.Name);
        Assert.Equal(PolicyMode.Enforce, policy.Mode);
        Assert.Equal(DefaultAction.Deny, policy.Default);
        Assert.Equal(TlsMode.Inspect, policy.Tls);
        Assert.Equal("p.yaml", policy.Source);
        Assert.Equal(7, policy.Egress.Length);
        Assert.Equal([0, 1, 2, 3, 4, 5, 6], policy.Egress.Select(r => r.Index));

        var github = policy.Egress[0];
        Assert.Equal(RuleKind.Allow, github.Kind);
        Assert.Equal("api.github.com", github.Host.Text);
        Assert.Equal(PortSet.Of(new PortRange(443, 443)), github.Ports);
        Assert.Equal(RuleProtocol.Http, github.Protocol);
        Assert.Equal(TlsMode.Inspect, github.Tls);
        Assert.Null(github.Timeout);
        Assert.Empty(github.Inject);
        Assert.Equal(new SourceLocation("p.yaml", 7, 5), github.Location);
        var http = Assert.Single(github.Http);
        Assert.Equal(["GET", "HEAD"], http.Methods.ToArray());
        Assert.Equal(["/repos/**", "/user"], http.Paths.Select(p => p.Text));
        Assert.Empty(http.Query);
        Assert.Equal(new SourceLocation("p.yaml", 10, 9), http.Location);

        var content = policy.Egress[1];
        Assert.Equal("**.githubusercontent.com", content.Host.Text);
        Assert.Equal(PortSet.WebDefault, content.Ports);
        Assert.Empty(content.Http);
        Assert.Equal(new SourceLocation("p.yaml", 12, 5), content.Location);

        var npm = policy.Egress[2];
        Assert.Equal("registry.npmjs.org", npm.Host.Text);
        Assert.Equal(TlsMode.Passthrough, npm.Tls);

        var openai = policy.Egress[3];
        var injection = Assert.Single(openai.Inject);
        Assert.Equal("Authorization", injection.Header);
        Assert.Equal("Bearer {{secret:OPENAI_API_KEY}}", injection.Value.Text);
        Assert.Equal([new TemplatePart("Bearer ", false), new TemplatePart("OPENAI_API_KEY", true)], injection.Value.Parts.ToArray());
        Assert.Equal(["OPENAI_API_KEY"], injection.Value.SecretNames);
        Assert.Equal("Bearer sk-1", injection.Value.Render(name => name == "OPENAI_API_KEY" ? "sk-1" : null));

        var ssh = policy.Egress[4];
        Assert.Equal("github.com", ssh.Host.Text);
        Assert.Equal(PortSet.Of(new PortRange(22, 22)), ssh.Ports);
        Assert.Equal(RuleProtocol.Tcp, ssh.Protocol);

        var internalDeny = policy.Egress[5];
        Assert.Equal(RuleKind.Deny, internalDeny.Kind);
        Assert.Equal("*.internal.example.com", internalDeny.Host.Text);
        Assert.Equal(PortSet.Any, internalDeny.Ports);
        Assert.Null(internalDeny.Timeout);
        Assert.Equal(new SourceLocation("p.yaml", 22, 5), internalDeny.Location);

        var ask = policy.Egress[6];
        Assert.Equal(RuleKind.Ask, ask.Kind);
        Assert.Equal("**", ask.Host.Text);
        Assert.Equal(PortSet.Any, ask.Ports);
        Assert.Equal(TimeSpan.FromSeconds(30), ask.Timeout);

        Assert.Equal([IPNetwork.Parse("10.20.0.0/16")], policy.Addresses.Allow.ToArray());
        Assert.Equal([IPNetwork.Parse("203.0.113.0/24")], policy.Addresses.Deny.ToArray());
        Assert.Equal([".", "/tmp"], policy.Filesystem.ReadWrite.ToArray());
        Assert.Equal(["/usr", "/etc"], policy.Filesystem.ReadOnly.ToArray());
        Assert.Equal(["~/.ssh", "~/.aws"], policy.Filesystem.Hidden.ToArray());
        Assert.Equal(["sk-[A-Za-z0-9]{20,}"], policy.Redact.ToArray());
    }

    [Fact]
    public void The_design_example_in_JSON_loads_into_the_same_model()
    {
        var yaml = PolicyTexts.Yaml(PolicyTexts.DesignExample);
        var json = PolicyTexts.Json(PolicyTexts.DesignExampleJson);

        Assert.True(json.Succeeded, PolicyTexts.Dump(json));
        Assert.Empty(json.Diagnostics);
        Assert.Equal(PolicyTexts.Describe(yaml.Policy!), PolicyTexts.Describe(json.Policy!));
        Assert.Equal("p.json", json.Policy!.Source);
        Assert.Equal(new SourceLocation("p.json", 8, 5), json.Policy.Egress[0].Location);
        Assert.Equal(new SourceLocation("p.json", 11, 16), json.Policy.Egress[0].Http[0].Location);
        Assert.Equal(new SourceLocation("p.json", 13, 5), json.Policy.Egress[1].Location);
    }

    [Fact]
    public void Defaults_apply_when_keys_are_left_out()
    {
        var result = PolicyTexts.Yaml("version: 1\n");

        Assert.True(result.Succeeded, PolicyTexts.Dump(result));
        var policy = result.Policy!;
        Assert.Null(policy.Name);
        Assert.Equal(PolicyMode.Enforce, policy.Mode);
        Assert.Equal(DefaultAction.Deny, policy.Default);
        Assert.Equal(TlsMode.Inspect, policy.Tls);
        Assert.Empty(policy.Egress);
        Assert.Empty(policy.Addresses.Allow);
        Assert.Empty(policy.Filesystem.Hidden);
        Assert.Empty(policy.Redact);
    }

    [Fact]
    public void Rules_inherit_the_policy_tls_mode()
    {
        var result = PolicyTexts.Yaml("version: 1\ntls: passthrough\negress:\n  - allow: a.example.com\n  - allow: b.example.com\n    tls: inspect\n");

        Assert.True(result.Succeeded, PolicyTexts.Dump(result));
        Assert.Equal([TlsMode.Passthrough, TlsMode.Inspect], result.Policy!.Egress.Select(r => r.Tls));
    }

    public static TheoryData<string, string> PortForms() => new()
    {
        { "ports: 8443", "8443" },
        { "ports: [8443]", "8443" },
        { "ports: [\"8000-8999\", 443]", "443, 8000-8999" },
        { "ports: 8000-8999", "8000-8999" },
        { "ports: [1-65535]", "any" },
        { "ports: [80, 81, 82]", "80-82" },
    };

    [Theory]
    [MemberData(nameof(PortForms))]
    public void Ports_are_numbers_ranges_or_a_single_number(string ports, string expected)
    {
        var result = PolicyTexts.Yaml(PolicyTexts.WithRules("  - allow: a.example.com", "    " + ports));

        Assert.True(result.Succeeded, PolicyTexts.Dump(result));
        Assert.Equal(expected, result.Policy!.Egress[0].Ports.ToString());
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    public void Ask_timeouts_take_a_unit(string timeout, int milliseconds)
    {
        var result = PolicyTexts.Yaml(PolicyTexts.WithRules("  - ask: a.example.com", "    timeout: " + timeout));

        Assert.True(result.Succeeded, PolicyTexts.Dump(result));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), result.Policy!.Egress[0].Timeout);
    }

    [Fact]
    public void Http_rules_read_methods_paths_and_query()
    {
        var result = PolicyTexts.Yaml(PolicyTexts.WithRules(
            "  - allow: api.example.com",
            "    http:",
            "      - methods: [GET, PROPFIND]",
            "        query: { ref: main, per_page: [\"10\", \"2*\"] }",
            "      - paths: [\"/v1/**\"]"));

        Assert.True(result.Succeeded, PolicyTexts.Dump(result));
        var http = result.Policy!.Egress[0].Http;
        Assert.Equal(2, http.Length);
        Assert.Equal(["GET", "PROPFIND"], http[0].Methods.ToArray());
        Assert.Empty(http[0].Paths);
        Assert.Equal(["ref", "per_page"], http[0].Query.Select(q => q.Name));
        Assert.Equal(["main"], http[0].Query[0].Values.ToArray());
        Assert.Equal(["10", "2*"], http[0].Query[1].Values.ToArray());
        Assert.Empty(http[1].Methods);
        Assert.Equal(["/v1/**"], http[1].Paths.Select(p => p.Text));
    }

    [Theory]
    [InlineData("Bearer {{secret:A}}", "Bearer |<A>")]
    [InlineData("{{secret:A}}:{{secret:_b9}}", "<A>|:|<_b9>")]
    [InlineData("plain { text } here", "plain { text } here")]
    [InlineData("", "")]
    public void Injection_templates_split_into_literals_and_secrets(string value, string parts)
    {
        var result = PolicyTexts.Yaml(PolicyTexts.WithRules(
            "  - allow: api.example.com",
            "    inject:",
            "      - header: X-Key",
            $"        value: \"{value}\""));

        Assert.True(result.Succeeded, PolicyTexts.Dump(result));
        var template = result.Policy!.Egress[0].Inject[0].Value;
        Assert.Equal(value, template.Text);
        Assert.Equal(parts, string.Join("|", template.Parts.Select(p => p.IsSecret ? $"<{p.Value}>" : p.Value)));
    }

    [Theory]
    [InlineData("10.0.0.1", "10.0.0.1/32")]
    [InlineData("10.0.0.0/8", "10.0.0.0/8")]
    [InlineData("0.0.0.0/0", "0.0.0.0/0")]
    [InlineData("2001:db8::1", "2001:db8::1/128")]
    [InlineData("fd00::/8", "fd00::/8")]
    [InlineData("fd00:ec2::/32", "fd00:ec2::/32")]
    public void Address_entries_are_CIDRs_or_bare_addresses(string entry, string network)
    {
        var result = PolicyTexts.Yaml($"version: 1\naddresses:\n  deny: [\"{entry}\"]\n");

        Assert.True(result.Succeeded, PolicyTexts.Dump(result));
        Assert.Equal(IPNetwork.Parse(network), Assert.Single(result.Policy!.Addresses.Deny));
    }

    [Fact]
    public void An_open_policy_may_allow_everything_when_it_says_so()
    {
        var result = PolicyTexts.Yaml("version: 1\ndefault: allow\negress:\n  - allow: \"**\"\n");

        Assert.True(result.Succeeded, PolicyTexts.Dump(result));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\n")]
    [InlineData("# only a comment\n# and another\n")]
    [InlineData("---\n")]
    [InlineData("~\n")]
    public void An_empty_policy_is_one_error_at_the_start(string text)
    {
        var result = PolicyTexts.Yaml(text);

        var error = Assert.Single(result.Diagnostics);
        Assert.Equal("p.yaml:1:1: error: the policy is empty; start with 'version: 1'", error.ToString());
        Assert.Null(result.Policy);
    }

    [Fact]
    public void Text_starting_with_a_brace_is_JSON_and_anything_else_YAML()
    {
        // In YAML an unquoted number is a fine name; in JSON a name must be a string.
        Assert.True(PolicyTexts.Yaml("version: 1\nname: 5\n").Succeeded);
        var json = PolicyTexts.Json("  \n{\"version\": 1, \"name\": 5}");
        Assert.Contains("expected a string, got the number 5", PolicyTexts.Dump(json), StringComparison.Ordinal);
    }

    [Fact]
    public void Diagnostics_render_as_file_line_column_severity_message_and_suggestion()
    {
        var diagnostic = new PolicyDiagnostic(DiagnosticSeverity.Error, new SourceLocation("policy.yaml", 3, 5), "unknown key 'port' in rule", "did you mean 'ports'?");
        var warning = new PolicyDiagnostic(DiagnosticSeverity.Warning, new SourceLocation("policy.yaml", 7, 1), "something odd", null);

        Assert.Equal("policy.yaml:3:5: error: unknown key 'port' in rule; did you mean 'ports'?", diagnostic.ToString());
        Assert.Equal("policy.yaml:7:1: warning: something odd", warning.ToString());
    }

    [Fact]
    public void A_policy_with_only_warnings_succeeds_and_separates_them()
    {
        var result = PolicyTexts.Yaml(PolicyTexts.WithRules("  - allow: \"**.example.com\"", "  - allow: api.example.com"));

        Assert.True(result.Succeeded);
        Assert.Empty(result.Errors);
        Assert.Single(result.Warnings);
    }
}
