using Airlock.Policy.Hosts;
using Airlock.Policy.Model;

namespace Airlock.Policy.Decisions;

/// <summary>
/// The rules of one policy indexed by host: exact hosts in a hash map, wildcards in a trie keyed by labels
/// from the right. A lookup walks at most one trie path, so its cost depends on the host's depth, not on
/// the number of rules. Built once per policy and never mutated.
/// </summary>
internal sealed class HostRuleIndex
{
    private readonly Dictionary<string, EgressRule[]> _exact = new(StringComparer.Ordinal);
    private readonly TrieNode _root = new();
    private readonly EgressRule[] _anyHost;

    public HostRuleIndex(IEnumerable<EgressRule> rules)
    {
        var exact = new Dictionary<string, List<EgressRule>>(StringComparer.Ordinal);
        var anyHost = new List<EgressRule>();
        foreach (var rule in rules)
        {
            switch (rule.Host.Kind)
            {
                case HostPatternKind.Exact:
                    if (!exact.TryGetValue(rule.Host.Suffix, out var list))
                    {
                        exact[rule.Host.Suffix] = list = [];
                    }

                    list.Add(rule);
                    break;
                case HostPatternKind.Any:
                    anyHost.Add(rule);
                    break;
                default:
                    var node = _root.GetOrAdd(rule.Host.Suffix);
                    node.Add(rule);
                    break;
            }
        }

        foreach (var (host, list) in exact)
        {
            _exact[host] = [.. list.OrderBy(r => r.Index)];
        }

        _anyHost = [.. anyHost.OrderBy(r => r.Index)];
        _root.Freeze();
    }

    /// <summary>
    /// Finds, for each rule kind, the first rule (lowest index) whose host pattern and ports match.
    /// Allocation-free.
    /// </summary>
    public Matches Find(CanonicalHost host, int port)
    {
        var matches = default(Matches);
        if (_exact.TryGetValue(host.Value, out var exactRules))
        {
            matches.Consider(exactRules, port);
        }

        if (host.IsIPAddress)
        {
            return matches;
        }

        matches.Consider(_anyHost, port);

        // Walk labels from the right. After consuming a suffix, `remaining` is what is left on the left.
        var name = host.Value.AsSpan();
        var node = _root;
        var end = name.Length;
        while (end > 0)
        {
            var dot = name[..end].LastIndexOf('.');
            var label = name[(dot + 1)..end];
            var next = node.Child(label);
            if (next is null || dot < 0)
            {
                break;
            }

            node = next;
            var remaining = name[..dot];
            matches.Consider(node.AnyDepth, port);
            if (remaining.IndexOf('.') < 0)
            {
                matches.Consider(node.OneLabel, port);
            }

            end = dot;
        }

        return matches;
    }

    /// <summary>The first matching rule of each kind.</summary>
    internal struct Matches
    {
        public EgressRule? Deny;
        public EgressRule? Allow;
        public EgressRule? Ask;

        public void Consider(EgressRule[] rules, int port)
        {
            foreach (var rule in rules)
            {
                if (!rule.Ports.Contains(port))
                {
                    continue;
                }

                ref var best = ref Ask;
                if (rule.Kind == RuleKind.Deny)
                {
                    best = ref Deny;
                }
                else if (rule.Kind == RuleKind.Allow)
                {
                    best = ref Allow;
                }

                if (best is null || rule.Index < best.Index)
                {
                    best = rule;
                }
            }
        }
    }

    private sealed class TrieNode
    {
        private Dictionary<string, TrieNode>? _children;
        private Dictionary<string, TrieNode>.AlternateLookup<ReadOnlySpan<char>> _lookup;
        private List<EgressRule>? _oneLabel;
        private List<EgressRule>? _anyDepth;

        public EgressRule[] OneLabel { get; private set; } = [];

        public EgressRule[] AnyDepth { get; private set; } = [];

        public TrieNode GetOrAdd(string suffix)
        {
            var node = this;
            var end = suffix.Length;
            while (end > 0)
            {
                var dot = suffix.LastIndexOf('.', end - 1);
                var label = suffix[(dot + 1)..end];
                node._children ??= new Dictionary<string, TrieNode>(StringComparer.Ordinal);
                if (!node._children.TryGetValue(label, out var child))
                {
                    node._children[label] = child = new TrieNode();
                }

                node = child;
                end = dot < 0 ? 0 : dot;
            }

            return node;
        }

        public void Add(EgressRule rule)
        {
            if (rule.Host.Kind == HostPatternKind.OneLabel)
            {
                (_oneLabel ??= []).Add(rule);
            }
            else
            {
                (_anyDepth ??= []).Add(rule);
            }
        }

        public TrieNode? Child(ReadOnlySpan<char> label) =>
            _children is not null && _lookup.TryGetValue(label, out var child) ? child : null;

        public void Freeze()
        {
            OneLabel = _oneLabel is null ? [] : [.. _oneLabel.OrderBy(r => r.Index)];
            AnyDepth = _anyDepth is null ? [] : [.. _anyDepth.OrderBy(r => r.Index)];
            _oneLabel = null;
            _anyDepth = null;
            if (_children is null)
            {
                return;
            }

            _lookup = _children.GetAlternateLookup<ReadOnlySpan<char>>();
            foreach (var child in _children.Values)
            {
                child.Freeze();
            }
        }
    }
}
