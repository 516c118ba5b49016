using System.Collections.Immutable;

namespace Airlock.Policy.Loading;

/// <summary>
/// The keys the loader accepts in each kind of mapping. The schema test compares these with
/// <c>Schema/policy.schema.json</c>, so the loader and the editor schema cannot drift apart.
/// </summary>
internal static class PolicyKeys
{
    public static ImmutableArray<string> TopLevel { get; } =
        ["version", "name", "mode", "default", "tls", "egress", "addresses", "filesystem", "redact"];

    public static ImmutableArray<string> Rule { get; } =
        ["allow", "deny", "ask", "name", "ports", "protocol", "tls", "http", "inject", "timeout"];

    public static ImmutableArray<string> RuleKinds { get; } = ["allow", "deny", "ask"];

    public static ImmutableArray<string> HttpRule { get; } = ["methods", "paths", "query"];

    public static ImmutableArray<string> Inject { get; } = ["header", "value"];

    public static ImmutableArray<string> Addresses { get; } = ["allow", "deny"];

    public static ImmutableArray<string> Filesystem { get; } = ["read_write", "read_only", "hidden"];
}
