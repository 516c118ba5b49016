using System.Globalization;

namespace Airlock.Policy.Hosts;

/// <summary>
/// The ICANN section of the Public Suffix List, embedded as <c>Airlock.Policy.public_suffix_icann.dat</c>
/// and loaded on first use. Rules are held in punycode so they compare with canonical hosts.
/// </summary>
internal sealed class PublicSuffixList
{
    private const string ResourceName = "Airlock.Policy.public_suffix_icann.dat";

    private static readonly Lazy<PublicSuffixList> LazyIcann = new(Load);

    private readonly HashSet<string> _rules;
    private readonly HashSet<string> _wildcardParents;
    private readonly HashSet<string> _exceptions;
    private readonly HashSet<string> _ancestors;

    private PublicSuffixList(HashSet<string> rules, HashSet<string> wildcardParents, HashSet<string> exceptions)
    {
        _rules = rules;
        _wildcardParents = wildcardParents;
        _exceptions = exceptions;
        _ancestors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            AddProperAncestors(rule, _ancestors);
        }

        foreach (var parent in wildcardParents)
        {
            _ancestors.Add(parent);
            AddProperAncestors(parent, _ancestors);
        }
    }

    /// <summary>The embedded ICANN list.</summary>
    public static PublicSuffixList Icann => LazyIcann.Value;

    /// <summary>
    /// Whether <paramref name="canonicalName"/> is itself a public suffix under the PSL algorithm
    /// (including the implicit <c>*</c> rule: every single-label name is one).
    /// </summary>
    /// <param name="canonicalName">A canonical domain name (lower case, punycode, no trailing dot).</param>
    public bool IsPublicSuffix(string canonicalName)
    {
        if (_exceptions.Contains(canonicalName))
        {
            return false;
        }

        if (_rules.Contains(canonicalName))
        {
            return true;
        }

        var dot = canonicalName.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0)
        {
            return true;
        }

        return _wildcardParents.Contains(canonicalName[(dot + 1)..]);
    }

    /// <summary>
    /// Whether some name strictly below <paramref name="canonicalName"/> is a public suffix, so a wildcard
    /// over it could match a public suffix (e.g. <c>kawasaki.jp</c>, below which <c>*.kawasaki.jp</c> is a rule).
    /// </summary>
    /// <param name="canonicalName">A canonical domain name.</param>
    public bool HasPublicSuffixBelow(string canonicalName) => _ancestors.Contains(canonicalName);

    /// <summary>Parses list text in the standard PSL syntax.</summary>
    /// <param name="text">The list: one rule a line, <c>//</c> comments, <c>*.</c> wildcards, <c>!</c> exceptions.</param>
    internal static PublicSuffixList Parse(string text)
    {
        var idn = new IdnMapping { UseStd3AsciiRules = true, AllowUnassigned = true };
        var rules = new HashSet<string>(StringComparer.Ordinal);
        var wildcardParents = new HashSet<string>(StringComparer.Ordinal);
        var exceptions = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal))
            {
                continue;
            }

            // The PSL format ends a rule at the first whitespace.
            var space = line.AsSpan().IndexOfAny(' ', '\t');
            if (space >= 0)
            {
                line = line[..space];
            }

            if (line.StartsWith('!'))
            {
                exceptions.Add(ToAscii(idn, line[1..]));
            }
            else if (line.StartsWith("*.", StringComparison.Ordinal))
            {
                wildcardParents.Add(ToAscii(idn, line[2..]));
            }
            else
            {
                rules.Add(ToAscii(idn, line));
            }
        }

        return new PublicSuffixList(rules, wildcardParents, exceptions);
    }

    private static PublicSuffixList Load()
    {
        using var stream = typeof(PublicSuffixList).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{ResourceName}' is missing from {typeof(PublicSuffixList).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }

    // A rule that IdnMapping rejects means the embedded list is corrupt: a bug, so it throws.
    private static string ToAscii(IdnMapping idn, string rule) => idn.GetAscii(rule);

    private static void AddProperAncestors(string name, HashSet<string> into)
    {
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        while (dot >= 0)
        {
            name = name[(dot + 1)..];
            into.Add(name);
            dot = name.IndexOf('.', StringComparison.Ordinal);
        }
    }
}
