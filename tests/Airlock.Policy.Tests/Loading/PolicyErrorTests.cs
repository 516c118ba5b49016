using Airlock.Policy.Loading;

namespace Airlock.Policy.Tests.Loading;

/// <summary>Every user error is reported at the offending key or value, with what to write instead.</summary>
public class PolicyErrorTests
{
    private const string V = "version: 1\n";

    private static string Rules(params string[] lines) => PolicyTexts.WithRules(lines);

    /// <summary>Policy text, the expected "line:col" of an error, and a fragment of its rendered text.</summary>
    public static TheoryData<string, string, string> YamlErrors() => new()
    {
        // top level
        { "egress: []\n", "1:1", "missing 'version'; add 'version: 1' at the top" },
        { "version: 2\n", "1:10", "unsupported policy version '2'; this Airlock reads version 1" },
        { "version: \"1\"\n", "1:10", "'version' must be the number 1, not a string" },
        { "version: one\n", "1:10", "expected 'version: 1', got 'one'" },
        { "versoin: 1\n", "1:1", "unknown key 'versoin' at the top level; did you mean 'version'?" },
        { V + "egres: []\n", "2:1", "unknown key 'egres' at the top level; did you mean 'egress'?" },
        { V + "colour: blue\n", "2:1", "unknown key 'colour' at the top level; valid keys are 'version', 'name', 'mode', 'default', 'tls', 'egress', 'addresses', 'filesystem' and 'redact'" },
        { V + "mode: enforse\n", "2:7", "unknown mode 'enforse'; expected 'enforce' or 'audit'; did you mean 'enforce'?" },
        { V + "default: block\n", "2:10", "unknown default 'block'; expected 'deny' or 'allow'" },
        { V + "tls: intercept\n", "2:6", "unknown tls 'intercept'; expected 'inspect' or 'passthrough'" },
        { V + "name: [a]\n", "2:7", "expected a string, got a list" },
        { V + "name: \"\"\n", "2:7", "'name' is empty" },
        { V + "name: \"ok\\e[31mred\"\n", "2:7", "a name cannot contain control characters" },
        { V + "egress:\n  - allow: a.example.com\n    name: \"rule\\x7f\"\n", "4:11", "a name cannot contain control characters" },
        { V + "name:\n", "2:6", "expected a string, got an empty value" },
        { V + "egress: {}\n", "2:9", "expected a list of rules, got a mapping" },
        { V + "egress: allow\n", "2:9", "expected a list of rules, got 'allow'" },
        { "- version: 1\n", "1:1", "expected a mapping at the top level, got a list" },
        { "hello\n", "1:1", "expected a mapping at the top level, got 'hello'" },

        // rule shape
        { Rules("  - allow: a.example.com", "    port: [443]"), "4:5", "unknown key 'port' in rule; did you mean 'ports'?" },
        { Rules("  - alow: a.example.com"), "3:5", "unknown key 'alow' in rule; did you mean 'allow'?" },
        { Rules("  - alow: a.example.com"), "3:5", "rule has none of 'allow', 'deny' or 'ask'" },
        { Rules("  - allow: a.example.com", "    timeout_s: 3"), "4:5", "did you mean 'timeout'?" },
        { Rules("  - allow: a.example.com", "    colour: blue"), "4:5", "valid keys are 'allow', 'deny', 'ask', 'name', 'ports', 'protocol', 'tls', 'http', 'inject' and 'timeout'" },
        { Rules("  - allow: a.example.com", "    deny: b.example.com"), "4:5", "rule has both 'allow' and 'deny'; a rule has exactly one of 'allow', 'deny' or 'ask'" },
        { Rules("  - name: nameless"), "3:5", "rule has none of 'allow', 'deny' or 'ask'; add 'allow: HOST', 'deny: HOST' or 'ask: HOST'" },
        { Rules("  - a.example.com"), "3:5", "expected a rule (a mapping with 'allow', 'deny' or 'ask'), got 'a.example.com'; did you mean '- allow: a.example.com'?" },
        { Rules("  - allow: [a.example.com]"), "3:12", "expected a host pattern, got a list" },
        { Rules("  - allow:"), "3:11", "expected a host pattern, got an empty value" },
        { Rules("  - allow: \"**\""), "3:12", "'**' in an allow rule opens every destination; write 'default: allow' to make an open policy explicit, or use 'ask: \"**\"'" },
        { Rules("  - allow: a.example.com", "    name: [x]"), "4:11", "expected a string, got a list" },

        // ports
        { Rules("  - allow: a.example.com", "    ports: {a: 1}"), "4:12", "expected a list of ports, got a mapping" },
        { Rules("  - allow: a.example.com", "    ports: []"), "4:12", "'ports' is empty; remove 'ports' to use the default" },
        { Rules("  - allow: a.example.com", "    ports: [0]"), "4:13", "port 0 is out of range 1-65535" },
        { Rules("  - allow: a.example.com", "    ports: [443, 70000]"), "4:18", "port 70000 is out of range 1-65535" },
        { Rules("  - allow: a.example.com", "    ports: [https]"), "4:13", "'https' is not a port; write a port from 1 to 65535 or a range such as '8000-8999'" },
        { Rules("  - allow: a.example.com", "    ports: [\"9000-8000\"]"), "4:13", "port range '9000-8000' is reversed; did you mean '8000-9000'?" },
        { Rules("  - allow: a.example.com", "    ports: [\"8000-x\"]"), "4:19", "'x' is not a port" },
        { Rules("  - allow: a.example.com", "    ports: [[443]]"), "4:13", "expected a port, got a list" },

        // options that belong to other kinds of rule
        { Rules("  - deny: a.example.com", "    http:", "      - methods: [GET]"), "4:5", "'http' applies only to allow rules" },
        { Rules("  - deny: a.example.com", "    inject: []"), "4:5", "'inject' applies only to allow rules" },
        { Rules("  - ask: a.example.com", "    protocol: tcp"), "4:5", "'protocol' applies only to allow rules" },
        { Rules("  - ask: a.example.com", "    tls: passthrough"), "4:5", "'tls' applies only to allow rules" },
        { Rules("  - allow: a.example.com", "    timeout: 30s"), "4:5", "'timeout' applies only to ask rules" },
        { Rules("  - deny: a.example.com", "    timeout: 30s"), "4:5", "'timeout' applies only to ask rules" },

        // protocol and TLS
        { Rules("  - allow: a.example.com", "    protocol: udp"), "4:15", "unknown protocol 'udp'; expected 'http' or 'tcp'" },
        { Rules("  - allow: a.example.com", "    protocol: tcp", "    http:", "      - methods: [GET]"), "5:5", "'http' does not apply to 'protocol: tcp'" },
        { Rules("  - allow: a.example.com", "    protocol: tcp", "    tls: inspect"), "5:5", "'tls' does not apply to 'protocol: tcp'" },
        { Rules("  - allow: a.example.com", "    protocol: tcp", "    inject:", "      - {header: X-Key, value: k}"), "5:5", "'inject' does not apply to 'protocol: tcp'" },
        { Rules("  - allow: a.example.com", "    tls: passthrough", "    inject:", "      - {header: X-Key, value: k}"), "5:5", "credential injection needs TLS interception; remove 'tls: passthrough' or the 'inject' block" },
        { Rules("  - allow: a.example.com", "    tls: passthrough", "    http:", "      - methods: [GET]"), "5:5", "HTTP rules need TLS interception; remove 'tls: passthrough' or the 'http' block" },
        { V + "tls: passthrough\negress:\n  - allow: a.example.com\n    inject:\n      - {header: X-Key, value: k}\n", "5:5", "credential injection needs TLS interception; the policy sets 'tls: passthrough'; add 'tls: inspect' to this rule or remove the 'inject' block" },

        // timeouts
        { Rules("  - ask: a.example.com", "    timeout: 30"), "4:14", "'30' has no unit; did you mean '30s'?" },
        { Rules("  - ask: a.example.com", "    timeout: 30x"), "4:16", "unknown duration unit 'x'" },
        { Rules("  - ask: a.example.com", "    timeout: 2h"), "4:14", "timeout '2h' is out of range; an ask timeout is more than 0 and at most 1h" },
        { Rules("  - ask: a.example.com", "    timeout: 0s"), "4:14", "timeout '0s' is out of range" },
        { Rules("  - ask: a.example.com", "    timeout: soon"), "4:14", "'soon' is not a duration" },

        // http rules
        { Rules("  - allow: a.example.com", "    http:", "      - methds: [GET]"), "5:9", "unknown key 'methds' in http rule; did you mean 'methods'?" },
        { Rules("  - allow: a.example.com", "    http: []"), "4:11", "'http' is empty; remove it to allow every request" },
        { Rules("  - allow: a.example.com", "    http:", "      methods: [GET]"), "5:7", "expected a list of HTTP rules, got a mapping" },
        { Rules("  - allow: a.example.com", "    http:", "      - GET"), "5:9", "expected an HTTP rule (a mapping with 'methods', 'paths' or 'query'), got 'GET'" },
        { Rules("  - allow: a.example.com", "    http:", "      - methods: [GET, get]"), "5:24", "HTTP method 'get' must be upper case; did you mean 'GET'?" },
        { Rules("  - allow: a.example.com", "    http:", "      - methods: [\"GE T\"]"), "5:22", "'GE T' is not an HTTP method" },
        { Rules("  - allow: a.example.com", "    http:", "      - methods: GET"), "5:18", "expected a list of methods, got 'GET'; write it as a list: ['GET']" },
        { Rules("  - allow: a.example.com", "    http:", "      - methods: []"), "5:18", "'methods' is empty; remove 'methods' to allow every method" },
        { Rules("  - allow: a.example.com", "    http:", "      - paths: []"), "5:16", "'paths' is empty" },
        { Rules("  - allow: a.example.com", "    http:", "      - query: [a]"), "5:16", "expected a mapping of query parameter names to values, got a list" },
        { Rules("  - allow: a.example.com", "    http:", "      - query: {a: {b: c}}"), "5:20", "expected a string or a list of strings for query parameter 'a', got a mapping" },
        { Rules("  - allow: a.example.com", "    http:", "      - query: {a: []}"), "5:20", "'a' is empty" },

        // credential injection
        { Rules("  - allow: a.example.com", "    inject:", "      - header: Host", "        value: x"), "5:17", "the proxy owns 'Host'; it cannot be injected" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: content-length", "        value: x"), "5:17", "the proxy owns 'Content-Length'" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: proxy-authorization", "        value: x"), "5:17", "the proxy owns 'Proxy-Authorization'" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: \"X Key\"", "        value: x"), "5:19", "'X Key' is not a valid header name" },
        { Rules("  - allow: a.example.com", "    inject:", "      - value: x"), "5:9", "inject entry has no 'header'" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: X-Key"), "5:9", "inject entry has no 'value'" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: X-Key", "        valu: x"), "6:9", "unknown key 'valu' in inject entry; did you mean 'value'?" },
        { Rules("  - allow: a.example.com", "    inject:", "      - {header: X-Key, value: a}", "      - {header: x-key, value: b}"), "6:18", "header 'x-key' is injected twice in this rule" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: X-Key", "        value: \"Bearer {{env:X}}\""), "6:24", "unknown placeholder '{{env:X}}'; only {{secret:NAME}} is supported" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: X-Key", "        value: \"Bearer {{secret:X\""), "6:24", "malformed placeholder: '{{' is not closed by '}}'" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: X-Key", "        value: \"Bearer }}\""), "6:24", "malformed placeholder: '}}' without a matching '{{'" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: X-Key", "        value: \"{{secret:}}\""), "6:17", "malformed placeholder '{{secret:}}': the secret name is empty" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: X-Key", "        value: \"{{secret:9x}}\""), "6:17", "malformed placeholder '{{secret:9x}}'" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: X-Key", "        value: \"{{ secret:KEY }}\""), "6:17", "did you mean '{{secret:KEY}}'?" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: X-Key", "        value: \"{{}}\""), "6:17", "malformed placeholder '{{}}': it names no secret" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: X-Key", "        value: \"a\\r\\nEvil: 1\""), "6:16", "header values cannot contain CR, LF or NUL" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: X-Key", "        value: \"a\\0b\""), "6:16", "header values cannot contain CR, LF or NUL" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: X-Key", "        value: \"Bearer \\x01\""), "6:16", "header values cannot contain control characters (U+0001)" },
        { Rules("  - allow: a.example.com", "    inject:", "      - header: X-Key", "        value: \"tab\tand space ok\\x7f\""), "6:16", "(U+007F)" },
        { Rules("  - allow: a.example.com", "    inject: {header: X-Key, value: k}"), "4:13", "expected a list of headers to inject, got a mapping" },

        // addresses
        { V + "addresses:\n  allow: [\"10.1.0.0/8\"]\n", "3:11", "'10.1.0.0/8' has bits set after the prefix; did you mean '10.0.0.0/8'?" },
        { V + "addresses:\n  deny: [\"fd00::1/8\"]\n", "3:10", "did you mean 'fd00::/8'?" },
        { V + "addresses:\n  deny: [\"10.0.0.0/33\"]\n", "3:20", "the prefix length must be a number from 0 to 32" },
        { V + "addresses:\n  deny: [\"127.1\"]\n", "3:10", "'127.1' is not an IPv4 address in dotted-decimal form; did you mean '127.0.0.1'?" },
        { V + "addresses:\n  deny: [\"fe80::1%eth0\"]\n", "3:18", "zone ids are not allowed" },
        { V + "addresses:\n  deny: [\"[::1]\"]\n", "3:10", "write IPv6 addresses without brackets; did you mean '::1'?" },
        { V + "addresses:\n  deny: [example.com]\n", "3:10", "'example.com' is not an IP address or a CIDR range" },
        { V + "addresses:\n  block: []\n", "3:3", "unknown key 'block' in addresses; valid keys are 'allow' and 'deny'" },
        { V + "addresses: [10.0.0.0/8]\n", "2:12", "expected a mapping with 'allow' and 'deny' lists, got a list" },
        { V + "addresses:\n  deny: 10.0.0.0/8\n", "3:9", "expected a list of CIDR ranges or IP addresses, got '10.0.0.0/8'; write it as a list: ['10.0.0.0/8']" },

        // filesystem
        { V + "filesystem:\n  readonly: [/usr]\n", "3:3", "unknown key 'readonly' in filesystem; did you mean 'read_only'?" },
        { V + "filesystem:\n  hidden: [\"\"]\n", "3:12", "a path cannot be empty" },
        { V + "filesystem:\n  hidden: [\"a\\0b\"]\n", "3:12", "a path cannot contain NUL" },
        { V + "filesystem:\n  hidden: [{a: b}]\n", "3:12", "expected a string, got a mapping" },

        // redact
        { V + "redact: [\"(ab\"]\n", "2:13", "invalid regular expression '(ab'" },
        { V + "redact: [\"(a)\\\\1\"]\n", "2:10", "is not supported" },
        { V + "redact: [\"a*\"]\n", "2:10", "regular expression 'a*' matches the empty string" },
        { V + "redact: sk-.*\n", "2:9", "expected a list of regular expressions, got 'sk-.*'" },

        // YAML features a policy does not use
        { V + "egress:\n  - allow: *.example.com\n", "3:12", "anchors and aliases are not supported; if this is a host pattern, quote it: \"*.example.com\"" },
        { V + "name: &n x\n", "2:7", "anchors and aliases are not supported" },
        { V + "name: !!str x\n", "2:7", "YAML tags are not supported" },
        { V + "version: 1\n", "2:1", "duplicate key 'version' (first at line 1, column 1); keep one of them" },
        { V + "---\nversion: 1\n", "2:1", "a policy is one YAML document; found a second one" },
        { V + "[a]: b\n", "2:1", "mapping keys must be strings" },
    };

    [Theory]
    [MemberData(nameof(YamlErrors))]
    public void Yaml_errors_are_positioned_and_explained(string text, string lineColumn, string fragment) =>
        AssertError(PolicyTexts.Yaml(text), "p.yaml", lineColumn, fragment);

    public static TheoryData<string, string, string> JsonErrors() => new()
    {
        { "{\"version\": 1, \"egress\": [{\"allow\": \"a.example.com\", \"port\": [443]}]}", "1:54", "unknown key 'port' in rule; did you mean 'ports'?" },
        { "{\"version\": \"1\"}", "1:13", "'version' must be the number 1, not a string" },
        { "{\"version\": 1, \"name\": true}", "1:24", "expected a string, got a boolean" },
        { "{\"version\": 1, \"name\": null}", "1:24", "expected a string, got null" },
        { "{\"version\": 1, \"egress\": {}}", "1:26", "expected an array of rules, got an object" },
        { "{\"version\": 1,\n \"egress\": [{\"ask\": \"a.example.com\", \"timeout\": 30}]}", "2:49", "expected a duration such as '30s', got the number 30" },
        { "{\"version\": 1, \"version\": 1}", "1:16", "duplicate key 'version'" },
        { "{\"version\": 1, \"egress\": [{\"allow\": \"a.example.com\", \"inject\": [{\"header\": \"X\", \"value\": \"\u00e9 {{env:A}}\"}]}]}", "1:93", "unknown placeholder '{{env:A}}'" },
        { "{\"version\": 1, \"egress\": [{\"allow\": \"a.example.com\", \"inject\": [{\"header\": \"X\", \"value\": \"\\u00e9 {{env:A}}\"}]}]}", "1:90", "unknown placeholder '{{env:A}}'" },
        { "{\"version\": 1, \"egress\": [\"a.example.com\"]}", "1:27", "expected a rule (an object with 'allow', 'deny' or 'ask'), got 'a.example.com'" },
    };

    [Theory]
    [MemberData(nameof(JsonErrors))]
    public void Json_errors_are_positioned_and_explained(string text, string lineColumn, string fragment) =>
        AssertError(PolicyTexts.Json(text), "p.json", lineColumn, fragment);

    public static TheoryData<string, string, string> YamlSyntaxErrors() => new()
    {
        { V + "egress: [a, b\n", "3:1", "invalid YAML: while parsing a flow sequence, did not find expected ',' or ']'" },
        { V + "name: \"unterminated\n", "2:7", "invalid YAML: while scanning a quoted scalar, found unexpected end of stream" },
        { V + "egress:\n\t- allow: a.example.com\n", "3:1", "invalid YAML: while scanning a mapping, found invalid tab as indentation; indent with spaces" },
        { V + "name: a: b\n", "2:8", "invalid YAML" },
        { V + "egress:\n  - allow: a.example.com\n bad: 1\n", "4:2", "invalid YAML" },
    };

    [Theory]
    [MemberData(nameof(YamlSyntaxErrors))]
    public void Yaml_syntax_errors_carry_the_parser_position(string text, string lineColumn, string fragment)
    {
        var result = PolicyTexts.Yaml(text);

        AssertError(result, "p.yaml", lineColumn, fragment);
        Assert.Single(result.Errors);
    }

    public static TheoryData<string, string, string> JsonSyntaxErrors() => new()
    {
        { "{\"version\": 1,\n \"egress\": [}\n", "2:13", "invalid JSON: '}' is an invalid start of a value" },
        { "{\"version\": 1,}", "1:15", "invalid JSON" },
        { "{\"version\": 1} x", "1:16", "invalid JSON: 'x' is invalid after a single JSON value" },
        { "{\"version\": 1,\n  \"name\": \"\u00e9\u00e9\u00e9\" x}", "2:17", "invalid JSON" },
        { "{\"version\": 1", "1:14", "invalid JSON" },
        { "{\"version\": 1, // comment\n}", "1:16", "invalid JSON" },
    };

    [Theory]
    [MemberData(nameof(JsonSyntaxErrors))]
    public void Json_syntax_errors_are_positioned_in_characters(string text, string lineColumn, string fragment)
    {
        var result = PolicyTexts.Json(text);

        AssertError(result, "p.json", lineColumn, fragment);
        Assert.Single(result.Errors);
        Assert.DoesNotContain("LineNumber", PolicyTexts.Dump(result), StringComparison.Ordinal);
    }

    [Fact]
    public void Another_version_is_one_error_not_one_per_unknown_key()
    {
        var result = PolicyTexts.Yaml("version: 2\nrules:\n  - permit: a.example.com\nlimits: {}\n");

        Assert.Equal("p.yaml:1:10: error: unsupported policy version '2'; this Airlock reads version 1", Assert.Single(result.Diagnostics).ToString());
    }

    [Fact]
    public void Every_error_is_reported_at_once_in_source_order()
    {
        var result = PolicyTexts.Yaml("""
            version: 1
            mode: enforse
            egress:
              - allow: a.example.com
                port: [443]
              - deny: b.example.com
                http: []
              - ask: c.example.com
                timeout: 2h
            addresses:
              allow: ["10.1.0.0/8"]
            redact: ["(x"]
            """);

        Assert.Null(result.Policy);
        Assert.Equal(
            [
                "p.yaml:2:7: error: unknown mode 'enforse'; expected 'enforce' or 'audit'; did you mean 'enforce'?",
                "p.yaml:5:5: error: unknown key 'port' in rule; did you mean 'ports'?",
                "p.yaml:7:5: error: 'http' applies only to allow rules",
                "p.yaml:7:11: error: 'http' is empty; remove it to allow every request, or add a rule such as '- methods: [GET]'",
                "p.yaml:9:14: error: timeout '2h' is out of range; an ask timeout is more than 0 and at most 1h",
                "p.yaml:11:11: error: '10.1.0.0/8' has bits set after the prefix; did you mean '10.0.0.0/8'?",
            ],
            result.Diagnostics.Take(6).Select(d => d.ToString()));
        Assert.Equal(7, result.Errors.Count());
        Assert.StartsWith("p.yaml:12:", result.Diagnostics[6].ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("port", "ports")]
    [InlineData("Ports", "ports")]
    [InlineData("alow", "allow")]
    [InlineData("methds", "methods")]
    [InlineData("tiemout", "timeout")]
    [InlineData("tls_mode", "tls")]
    [InlineData("read-write", "read_write")]
    [InlineData("injection", "inject")]
    public void Misspelt_keys_get_the_closest_key(string typed, string expected) =>
        Assert.Equal(expected, Suggestions.Closest(typed, [.. PolicyKeys.Rule, .. PolicyKeys.HttpRule, .. PolicyKeys.Filesystem]));

    [Theory]
    [InlineData("colour")]
    [InlineData("x")]
    [InlineData("egress_rules_for_the_agent")]
    public void Keys_far_from_every_known_key_get_no_guess(string typed) =>
        Assert.Null(Suggestions.Closest(typed, PolicyKeys.Rule));

    [Fact]
    public void Anchors_cannot_expand_into_a_billion_laughs()
    {
        var text = """
            version: 1
            name: &a "lol"
            redact: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
            filesystem:
              hidden: [*b, *b, *b, *b, *b, *b, *b, *b, *b]
            """;

        var result = PolicyTexts.Yaml(text);

        Assert.Null(result.Policy);
        Assert.All(result.Errors, e => Assert.Contains("anchors and aliases are not supported", e.Message, StringComparison.Ordinal));
        Assert.Equal(20, result.Errors.Count());
    }

    [Theory]
    [InlineData(63, false)]
    [InlineData(64, true)]
    [InlineData(10_000, true)]
    public void Deep_nesting_is_bounded_in_YAML(int depth, bool tooDeep)
    {
        // The root mapping is level 1, so 63 lists under 'name' reach level 64.
        var text = V + "name: " + new string('[', depth) + new string(']', depth) + "\n";

        var result = PolicyTexts.Yaml(text);

        var error = Assert.Single(result.Errors);
        Assert.Equal(tooDeep ? "p.yaml:2:70: error: the document nests deeper than 64 levels" : "p.yaml:2:7: error: expected a string, got a list", error.ToString());
    }

    [Theory]
    [InlineData(64)]
    [InlineData(100_000)]
    public void Deep_nesting_is_bounded_in_JSON(int depth)
    {
        var text = "{\"version\": 1, \"name\": " + new string('[', depth) + new string(']', depth) + "}";

        var result = PolicyTexts.Json(text);

        Assert.Equal("p.json:1:87: error: the document nests deeper than 64 levels", Assert.Single(result.Errors).ToString());
    }

    [Fact]
    public void Unclosed_deep_nesting_stops_at_the_depth_bound()
    {
        // YamlDotNet's cost grows with the depth, so reading must stop at the bound, not at the end of the text.
        var yaml = PolicyTexts.Yaml(V + "name: " + new string('[', 1_000_000));
        var json = PolicyTexts.Json("{\"name\": " + new string('[', 1_000_000));

        Assert.Contains("nests deeper than 64 levels", Assert.Single(yaml.Errors).Message, StringComparison.Ordinal);
        Assert.Contains("nests deeper than 64 levels", Assert.Single(json.Errors).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("version: 1\nname: a\u0001b\n", "2:8", "U+0001")]
    [InlineData("version: 1\n# \u0000\n", "2:3", "U+0000")]
    [InlineData("version: 1\nname: \"\u001b[31m\"\n", "2:8", "U+001B")]
    public void Control_characters_are_refused_before_YAML_can_drop_them(string text, string lineColumn, string code)
    {
        var result = PolicyTexts.Yaml(text);

        var error = Assert.Single(result.Errors);
        Assert.Equal($"p.yaml:{lineColumn}: error: the policy contains the control character {code}; remove it; write special characters in double quotes as escapes", error.ToString());
    }

    [Fact]
    public void Control_characters_in_keys_do_not_break_the_one_line_format()
    {
        var result = PolicyTexts.Json("{\"version\": 1, \"a\\nb: forged\": 1}");

        var error = Assert.Single(result.Errors);
        Assert.DoesNotContain('\n', error.ToString());
        Assert.Contains("unknown key 'a\\nb: forged'", error.Message, StringComparison.Ordinal);
    }

    private static void AssertError(PolicyLoadResult result, string file, string lineColumn, string fragment)
    {
        Assert.Null(result.Policy);
        var prefix = $"{file}:{lineColumn}: error: ";
        Assert.True(
            result.Diagnostics.Any(d => d.ToString().StartsWith(prefix, StringComparison.Ordinal) && d.ToString().Contains(fragment, StringComparison.Ordinal)),
            $"expected an error starting '{prefix}' containing '{fragment}'; got:\n{PolicyTexts.Dump(result)}");
    }
}
