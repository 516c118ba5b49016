using System.Globalization;
using System.Text;
using Airlock.Policy.Loading;
using Airlock.Policy.Model;

namespace Airlock.Policy.Tests.Loading;

/// <summary>Policies shared by the loading tests, and helpers to look at results.</summary>
internal static class PolicyTexts
{
    /// <summary>The example of DESIGN §3, comments and all.</summary>
    public const string DesignExample = """
        version: 1
        name: coding-agent
        mode: enforce            # enforce | audit (audit: decide, record would_deny, let it through)
        default: deny            # deny | allow
        tls: inspect             # inspect | passthrough — default for rules that do not say
        egress:
          - allow: api.github.com
            ports: [443]         # default [80, 443]
            http:                # L7 rules: each request must match one of them
              - methods: [GET, HEAD]
                paths: ["/repos/**", "/user"]
          - allow: "**.githubusercontent.com"
          - allow: registry.npmjs.org
            tls: passthrough     # pinned / mTLS upstreams; no L7 rules allowed here
          - allow: api.openai.com
            inject:              # credential injection: the sandbox never sees the secret
              - header: Authorization
                value: "Bearer {{secret:OPENAI_API_KEY}}"
          - allow: github.com
            ports: [22]
            protocol: tcp        # opaque TCP through CONNECT (git over ssh, databases)
          - deny: "*.internal.example.com"
          - ask: "**"            # hold the connection, ask the control plane; timeout => deny
            timeout: 30s
        addresses:
          allow: ["10.20.0.0/16"]        # exceptions to the built-in block list
          deny: ["203.0.113.0/24"]
        filesystem:                      # local driver
          read_write: [".", "/tmp"]
          read_only: ["/usr", "/etc"]
          hidden: ["~/.ssh", "~/.aws"]
        redact: ["sk-[A-Za-z0-9]{20,}"]  # also always redacts injected secrets

        """;

    /// <summary>The same policy in JSON.</summary>
    public const string DesignExampleJson = """
        {
          "version": 1,
          "name": "coding-agent",
          "mode": "enforce",
          "default": "deny",
          "tls": "inspect",
          "egress": [
            {
              "allow": "api.github.com",
              "ports": [443],
              "http": [{ "methods": ["GET", "HEAD"], "paths": ["/repos/**", "/user"] }]
            },
            { "allow": "**.githubusercontent.com" },
            { "allow": "registry.npmjs.org", "tls": "passthrough" },
            {
              "allow": "api.openai.com",
              "inject": [{ "header": "Authorization", "value": "Bearer {{secret:OPENAI_API_KEY}}" }]
            },
            { "allow": "github.com", "ports": [22], "protocol": "tcp" },
            { "deny": "*.internal.example.com" },
            { "ask": "**", "timeout": "30s" }
          ],
          "addresses": { "allow": ["10.20.0.0/16"], "deny": ["203.0.113.0/24"] },
          "filesystem": { "read_write": [".", "/tmp"], "read_only": ["/usr", "/etc"], "hidden": ["~/.ssh", "~/.aws"] },
          "redact": ["sk-[A-Za-z0-9]{20,}"]
        }
        """;

    public static PolicyLoadResult Yaml(string text) => PolicyLoader.Parse(text, "p.yaml");

    public static PolicyLoadResult Json(string text) => PolicyLoader.Parse(text, "p.json");

    /// <summary>A policy whose egress list is the given YAML lines.</summary>
    public static string WithRules(params string[] lines) =>
        "version: 1\negress:\n" + string.Concat(lines.Select(l => l + "\n"));

    public static string Dump(PolicyLoadResult result) => string.Join('\n', result.Diagnostics);

    /// <summary>Every field of the model except source positions, one per line, to compare two loads.</summary>
    public static string Describe(EgressPolicy policy)
    {
        var text = new StringBuilder();
        void Line(string line) => text.Append(line).Append('\n');
        Line($"version={policy.Version} name={policy.Name} mode={policy.Mode} default={policy.Default} tls={policy.Tls}");
        foreach (var rule in policy.Egress)
        {
            var timeout = rule.Timeout?.ToString("c", CultureInfo.InvariantCulture);
            Line($"rule {rule.Index} {rule.KindName} {rule.Host.Text} name={rule.Name} ports={rule.Ports} protocol={rule.Protocol} tls={rule.Tls} timeout={timeout}");
            foreach (var http in rule.Http)
            {
                var query = string.Join(";", http.Query.Select(q => $"{q.Name}={string.Join("|", q.Values)}"));
                Line($"  http methods={string.Join(",", http.Methods)} paths={string.Join(",", http.Paths.Select(p => p.Text))} query={query}");
            }

            foreach (var inject in rule.Inject)
            {
                Line($"  inject {inject.Header}: {string.Join("", inject.Value.Parts.Select(p => p.IsSecret ? $"<{p.Value}>" : p.Value))}");
            }
        }

        Line($"addresses allow={string.Join(",", policy.Addresses.Allow)} deny={string.Join(",", policy.Addresses.Deny)}");
        Line($"filesystem rw={string.Join(",", policy.Filesystem.ReadWrite)} ro={string.Join(",", policy.Filesystem.ReadOnly)} hidden={string.Join(",", policy.Filesystem.Hidden)}");
        Line($"redact={string.Join(",", policy.Redact)}");
        return text.ToString();
    }
}
