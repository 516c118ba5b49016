using System.Globalization;
using System.Text;

namespace Airlock.Policy.Authoring;

/// <summary>One thing a session was seen doing: a connection (no method) or an HTTP request.</summary>
public sealed record Observation
{
    /// <summary>The canonical destination host.</summary>
    public required string Host { get; init; }

    /// <summary>The destination port.</summary>
    public required int Port { get; init; }

    /// <summary>The HTTP method, when the proxy saw the request (plain HTTP or intercepted TLS).</summary>
    public string? Method { get; init; }

    /// <summary>The request path (a query is ignored).</summary>
    public string? Path { get; init; }

    /// <summary>The proxy passed the TLS through without seeing inside (a pinned or mTLS client).</summary>
    public bool TlsPassthrough { get; init; }
}

/// <summary>A suggested policy and what it was made from.</summary>
/// <param name="Text">The policy, YAML, with a comment saying where it came from.</param>
/// <param name="Destinations">Distinct hosts it allows.</param>
/// <param name="Observations">Observations it was built from.</param>
public sealed record PolicySuggestion(string Text, int Destinations, int Observations);

/// <summary>
/// Builds a least-privilege policy from what a session did (typically under <c>mode: audit</c>): default deny, one
/// rule per host with exactly the ports seen and, where the proxy saw HTTP, the methods and paths seen. Paths are
/// generalised only where they would otherwise not stay readable: id-like segments (numbers, long hex, UUIDs) become
/// <c>*</c>, and more than <see cref="MaxPathsPerRule"/> paths under one method collapse to their first segment's
/// <c>/**</c>. The result is a starting point to review, never applied on its own.
/// </summary>
public static class PolicySuggester
{
    /// <summary>Distinct paths a rule lists before they collapse to prefixes.</summary>
    public const int MaxPathsPerRule = 8;

    private static readonly int[] WebPorts = [80, 443];

    /// <summary>Suggests a policy named <paramref name="name"/> from <paramref name="observations"/>.</summary>
    /// <param name="observations">What the session did.</param>
    /// <param name="name">The policy's name.</param>
    /// <param name="source">Where the observations came from, for the header comment (a session id).</param>
    /// <returns>The policy text and counts.</returns>
    public static PolicySuggestion Suggest(IEnumerable<Observation> observations, string name, string source)
    {
        ArgumentNullException.ThrowIfNull(observations);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var all = observations.Where(o => o.Host.Length > 0 && o.Port is > 0 and <= 65535).ToList();
        var text = new StringBuilder();
        text.Append("# Suggested from ").Append(all.Count.ToString(CultureInfo.InvariantCulture)).Append(" observed connections and requests of ")
            .Append(OneLine(source)).Append(". Review it before use: it allows exactly what was seen.\n");
        text.Append("version: 1\nname: ").Append(Quote(name)).Append("\nmode: enforce\ndefault: deny\n");
        var hosts = all.GroupBy(o => o.Host.ToLowerInvariant(), StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        if (hosts.Count == 0)
        {
            text.Append("egress: []\n");
            return new PolicySuggestion(text.ToString(), 0, all.Count);
        }

        text.Append("egress:\n");
        foreach (var host in hosts)
        {
            AppendHost(text, host.Key, [.. host]);
        }

        return new PolicySuggestion(text.ToString(), hosts.Count, all.Count);
    }

    private static void AppendHost(StringBuilder text, string host, List<Observation> seen)
    {
        // Ports where HTTP was seen get HTTP rules; the others are either passed-through TLS or opaque TCP.
        var httpPorts = seen.Where(o => o.Method is not null).Select(o => o.Port).ToHashSet();
        var otherPorts = seen.Select(o => o.Port).Where(p => !httpPorts.Contains(p)).ToHashSet();
        if (httpPorts.Count > 0)
        {
            AppendRule(text, host, httpPorts, protocol: null, passthrough: false);
            AppendHttp(text, seen.Where(o => o.Method is not null));
        }

        var webPassthrough = otherPorts.Where(p => WebPorts.Contains(p) && seen.Any(o => o.Port == p && o.TlsPassthrough)).ToHashSet();
        var web = otherPorts.Where(p => WebPorts.Contains(p) && !webPassthrough.Contains(p)).ToHashSet();
        var tcp = otherPorts.Where(p => !WebPorts.Contains(p)).ToHashSet();
        if (webPassthrough.Count > 0)
        {
            AppendRule(text, host, webPassthrough, protocol: null, passthrough: true);
        }

        if (web.Count > 0)
        {
            AppendRule(text, host, web, protocol: null, passthrough: false);
        }

        if (tcp.Count > 0)
        {
            AppendRule(text, host, tcp, protocol: "tcp", passthrough: false);
        }
    }

    private static void AppendRule(StringBuilder text, string host, HashSet<int> ports, string? protocol, bool passthrough)
    {
        text.Append("  - allow: ").Append(Quote(host)).Append('\n');
        text.Append("    ports: [").AppendJoin(", ", ports.Order().Select(p => p.ToString(CultureInfo.InvariantCulture))).Append("]\n");
        if (protocol is not null)
        {
            text.Append("    protocol: ").Append(protocol).Append('\n');
        }

        if (passthrough)
        {
            text.Append("    tls: passthrough\n");
        }
    }

    private static void AppendHttp(StringBuilder text, IEnumerable<Observation> requests)
    {
        // Methods with the same (generalised) paths share one rule.
        var byMethod = requests
            .GroupBy(r => r.Method!.ToUpperInvariant(), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => Generalise(g.Select(r => r.Path)), StringComparer.Ordinal);
        text.Append("    http:\n");
        foreach (var rule in byMethod.GroupBy(m => string.Join('\n', m.Value), StringComparer.Ordinal).OrderBy(g => g.Min(m => m.Key), StringComparer.Ordinal))
        {
            text.Append("      - methods: [").AppendJoin(", ", rule.Select(m => m.Key).Order(StringComparer.Ordinal)).Append("]\n");
            text.Append("        paths: [").AppendJoin(", ", rule.First().Value.Select(Quote)).Append("]\n");
        }
    }

    /// <summary>The distinct paths, id-like segments as <c>*</c>, collapsed to prefixes when there are too many.</summary>
    internal static IReadOnlyList<string> Generalise(IEnumerable<string?> paths)
    {
        var segmented = paths.Select(Segments).Distinct(SegmentsComparer.Instance).ToList();

        // Collapse the biggest families first, and only as many as needed: a crowd of /docs/… pages does not
        // widen a lone /static/app.js.
        for (var depth = 3; depth >= 0 && segmented.Count > MaxPathsPerRule; depth--)
        {
            var families = segmented
                .Where(s => s.Length > depth)
                .GroupBy(s => string.Join('/', s.Take(depth)), StringComparer.Ordinal)
                .Where(g => g.Count() > 1)
                .OrderByDescending(g => g.Count())
                .ThenBy(g => g.Key, StringComparer.Ordinal)
                .ToList();
            foreach (var family in families)
            {
                if (segmented.Count <= MaxPathsPerRule)
                {
                    break;
                }

                var members = family.ToHashSet(SegmentsComparer.Instance);
                string[] collapsed = [.. family.First().Take(depth), "**"];
                segmented = [.. segmented.Where(s => !members.Contains(s)).Append(collapsed).Distinct(SegmentsComparer.Instance)];
            }
        }

        return [.. segmented.Select(s => "/" + string.Join('/', s)).Order(StringComparer.Ordinal)];
    }

    private static string[] Segments(string? path)
    {
        var raw = (path ?? "/").Split('?', '#')[0];
        return [.. raw.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Segment)];
    }

    private static string Segment(string segment)
    {
        var idLike = segment.All(char.IsAsciiDigit)
            || (segment.Length >= 8 && segment.All(c => char.IsAsciiHexDigit(c) || c == '-') && segment.Any(char.IsAsciiDigit));
        var plain = segment.All(c => char.IsAsciiLetterOrDigit(c) || "-._~@:+,;=!$'()".Contains(c, StringComparison.Ordinal));
        return idLike || !plain ? "*" : segment;
    }

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static string OneLine(string value) =>
        new([.. value.Select(c => char.IsControl(c) ? ' ' : c)]);

    private sealed class SegmentsComparer : IEqualityComparer<string[]>
    {
        public static readonly SegmentsComparer Instance = new();

        public bool Equals(string[]? x, string[]? y) => x is not null && y is not null && x.SequenceEqual(y, StringComparer.Ordinal);

        public int GetHashCode(string[] obj)
        {
            var hash = new HashCode();
            foreach (var s in obj)
            {
                hash.Add(s, StringComparer.Ordinal);
            }

            return hash.ToHashCode();
        }
    }
}
