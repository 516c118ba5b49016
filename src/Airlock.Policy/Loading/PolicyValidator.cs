using System.Collections.Immutable;
using Airlock.Policy.Addresses;
using Airlock.Policy.Hosts;
using Airlock.Policy.Model;

namespace Airlock.Policy.Loading;

/// <summary>
/// Walks the document tree once, reports every user error at the offending key or value, and builds the
/// immutable model when there is none. Never throws on bad input.
/// </summary>
internal sealed partial class PolicyValidator
{
    private static readonly (string Name, PolicyMode Value)[] Modes = [("enforce", PolicyMode.Enforce), ("audit", PolicyMode.Audit)];
    private static readonly (string Name, DefaultAction Value)[] Defaults = [("deny", DefaultAction.Deny), ("allow", DefaultAction.Allow)];
    private static readonly (string Name, TlsMode Value)[] TlsModes = [("inspect", TlsMode.Inspect), ("passthrough", TlsMode.Passthrough)];
    private static readonly (string Name, RuleProtocol Value)[] Protocols = [("http", RuleProtocol.Http), ("tcp", RuleProtocol.Tcp)];
    private static readonly TimeSpan DefaultAskTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxAskTimeout = TimeSpan.FromHours(1);

    private readonly DiagnosticList _diagnostics;
    private readonly bool _json;
    private TlsMode _tls = TlsMode.Inspect;

    /// <summary>The policy's default, or null when it is invalid (checks that depend on it are skipped).</summary>
    private DefaultAction? _default = DefaultAction.Deny;

    private PolicyValidator(DiagnosticList diagnostics, bool json)
    {
        _diagnostics = diagnostics;
        _json = json;
    }

    private string ListNoun => _json ? "an array" : "a list";

    private string MappingNoun => _json ? "an object" : "a mapping";

    /// <summary>Validates a document and builds the policy; null when there is any error.</summary>
    /// <param name="root">The document root; null for an empty document.</param>
    /// <param name="json">Whether the source was JSON (strings must then be JSON strings).</param>
    /// <param name="diagnostics">Where errors go; may already hold the reader's errors.</param>
    public static EgressPolicy? Validate(PolicyNode? root, bool json, DiagnosticList diagnostics)
    {
        var policy = new PolicyValidator(diagnostics, json).ReadPolicy(root);
        return diagnostics.HasErrors ? null : policy;
    }

    private EgressPolicy? ReadPolicy(PolicyNode? root)
    {
        if (root is null or ScalarNode { IsNull: true })
        {
            _diagnostics.Error(1, 1, "the policy is empty", "start with 'version: 1'");
            return null;
        }

        if (root is InvalidNode)
        {
            return null;
        }

        if (root is not MappingNode map)
        {
            _diagnostics.Error(root, $"expected {MappingNoun} at the top level, got {Describe(root)}", "start with 'version: 1'");
            return null;
        }

        if (!ReadVersion(map))
        {
            // Another version's keys would only produce noise.
            return null;
        }

        CheckKeys(map, PolicyKeys.TopLevel, "at the top level");
        var name = map.TryGet("name", out var nameEntry) ? ReadName(nameEntry.Value) : null;
        var mode = map.TryGet("mode", out var modeEntry) && TryEnum(modeEntry, Modes, out var m) ? m : PolicyMode.Enforce;
        if (map.TryGet("default", out var defaultEntry))
        {
            _default = TryEnum(defaultEntry, Defaults, out var d) ? d : null;
        }

        if (map.TryGet("tls", out var tlsEntry) && TryEnum(tlsEntry, TlsModes, out var tls))
        {
            _tls = tls;
        }

        var egress = map.TryGet("egress", out var egressEntry) ? ReadRules(egressEntry.Value) : [];
        var addresses = map.TryGet("addresses", out var addressesEntry) ? ReadAddresses(addressesEntry.Value) : AddressPolicy.Empty;
        var filesystem = map.TryGet("filesystem", out var filesystemEntry) ? ReadFilesystem(filesystemEntry.Value) : FilesystemPolicy.Empty;
        var redact = map.TryGet("redact", out var redactEntry) ? ReadRedact(redactEntry.Value) : [];

        return new EgressPolicy
        {
            Version = 1,
            Name = name,
            Mode = mode,
            Default = _default ?? DefaultAction.Deny,
            Tls = _tls,
            Egress = egress,
            Addresses = addresses,
            Filesystem = filesystem,
            Redact = redact,
            Source = _diagnostics.File,
        };
    }

    /// <summary>Checks <c>version: 1</c>; false when the policy is written for another version.</summary>
    private bool ReadVersion(MappingNode map)
    {
        if (!map.TryGet("version", out var entry))
        {
            _diagnostics.Error(map, "missing 'version'", "add 'version: 1' at the top");
            return true;
        }

        switch (entry.Value)
        {
            case ScalarNode { Quoted: false, Value: "1" } or InvalidNode:
                return true;
            case ScalarNode { Quoted: false, IsNull: false } number when number.Value.All(char.IsAsciiDigit):
                _diagnostics.Error(number, $"unsupported policy version {Text.Quote(number.Value)}", "this Airlock reads version 1");
                return false;
            case ScalarNode { Quoted: true, Value: "1" } quoted:
                _diagnostics.Error(quoted, "'version' must be the number 1, not a string", "remove the quotes");
                return true;
            default:
                _diagnostics.Error(entry.Value, $"expected 'version: 1', got {Describe(entry.Value)}");
                return true;
        }
    }

    private ImmutableArray<EgressRule> ReadRules(PolicyNode node)
    {
        if (ReadList(node, "rules") is not { } items)
        {
            return [];
        }

        var rules = ImmutableArray.CreateBuilder<EgressRule>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            if (ReadRule(items[i], i) is { } rule)
            {
                rules.Add(rule);
            }
        }

        return rules.DrainToImmutable();
    }

    private EgressRule? ReadRule(PolicyNode node, int index)
    {
        if (node is InvalidNode)
        {
            return null;
        }

        if (node is not MappingNode map)
        {
            var suggestion = node is ScalarNode { IsNull: false } scalar ? $"did you mean '- allow: {scalar.Value}'?" : null;
            _diagnostics.Error(node, $"expected a rule ({MappingNoun} with 'allow', 'deny' or 'ask'), got {Describe(node)}", suggestion);
            return null;
        }

        var errorsBefore = _diagnostics.ErrorCount;
        CheckKeys(map, PolicyKeys.Rule, "in rule");
        var kinds = map.Entries.Where(e => PolicyKeys.RuleKinds.Contains(e.Key.Value)).ToList();
        RuleKind? kind = null;
        HostPattern? host = null;
        if (kinds.Count == 0)
        {
            _diagnostics.Error(map, "rule has none of 'allow', 'deny' or 'ask'", "add 'allow: HOST', 'deny: HOST' or 'ask: HOST'");
        }
        else
        {
            foreach (var extra in kinds.Skip(1))
            {
                _diagnostics.Error(
                    extra.Key,
                    $"rule has both '{kinds[0].Key.Value}' and '{extra.Key.Value}'",
                    "a rule has exactly one of 'allow', 'deny' or 'ask'; split it into two rules");
            }

            kind = kinds[0].Key.Value switch
            {
                "allow" => RuleKind.Allow,
                "deny" => RuleKind.Deny,
                _ => RuleKind.Ask,
            };
            host = ReadHostPattern(kinds[0].Value);
        }

        var name = map.TryGet("name", out var nameEntry) ? ReadName(nameEntry.Value) : null;
        var ports = map.TryGet("ports", out var portsEntry)
            ? ReadPorts(portsEntry.Value)
            : kind == RuleKind.Allow ? PortSet.WebDefault : PortSet.Any;

        var protocol = RuleProtocol.Http;
        if (map.TryGet("protocol", out var protocolEntry))
        {
            RequireKind(protocolEntry, kind, RuleKind.Allow);
            protocol = TryEnum(protocolEntry, Protocols, out var p) ? p : RuleProtocol.Http;
        }

        TlsMode? ruleTls = null;
        if (map.TryGet("tls", out var tlsEntry))
        {
            RequireKind(tlsEntry, kind, RuleKind.Allow);
            ruleTls = TryEnum(tlsEntry, TlsModes, out var t) ? t : null;
        }

        ImmutableArray<HttpRule> http = [];
        if (map.TryGet("http", out var httpEntry))
        {
            RequireKind(httpEntry, kind, RuleKind.Allow);
            http = ReadHttpRules(httpEntry.Value);
        }

        ImmutableArray<HeaderInjection> inject = [];
        if (map.TryGet("inject", out var injectEntry))
        {
            RequireKind(injectEntry, kind, RuleKind.Allow);
            inject = ReadInjections(injectEntry.Value);
        }

        TimeSpan? timeout = kind == RuleKind.Ask ? DefaultAskTimeout : null;
        if (map.TryGet("timeout", out var timeoutEntry))
        {
            RequireKind(timeoutEntry, kind, RuleKind.Ask);
            timeout = ReadTimeout(timeoutEntry.Value) ?? timeout;
        }

        if (kind == RuleKind.Allow)
        {
            CheckAllowRule(map, protocol, ruleTls, host, kinds[0].Value);
        }

        if (kind is not { } ruleKind || host is null || _diagnostics.ErrorCount != errorsBefore)
        {
            return null;
        }

        return new EgressRule
        {
            Index = index,
            Kind = ruleKind,
            Name = name,
            Host = host,
            Ports = ports,
            Protocol = protocol,
            Tls = ruleTls ?? _tls,
            Http = http,
            Inject = inject,
            Timeout = timeout,
            Location = _diagnostics.At(map),
        };
    }

    /// <summary>The checks that involve more than one key of an allow rule.</summary>
    private void CheckAllowRule(MappingNode map, RuleProtocol protocol, TlsMode? ruleTls, HostPattern? host, PolicyNode hostNode)
    {
        var hasHttp = map.TryGet("http", out var http);
        var hasInject = map.TryGet("inject", out var inject);
        if (protocol == RuleProtocol.Tcp)
        {
            const string Why = "opaque TCP carries no HTTP requests";
            if (hasHttp)
            {
                _diagnostics.Error(http.Key, "'http' does not apply to 'protocol: tcp'", $"{Why}; remove 'protocol: tcp' or the 'http' block");
            }

            if (hasInject)
            {
                _diagnostics.Error(inject.Key, "'inject' does not apply to 'protocol: tcp'", $"{Why}; remove 'protocol: tcp' or the 'inject' block");
            }

            if (map.TryGet("tls", out var tls))
            {
                _diagnostics.Error(tls.Key, "'tls' does not apply to 'protocol: tcp'", "opaque TCP is relayed as is; remove 'tls'");
            }
        }
        else if ((ruleTls ?? _tls) == TlsMode.Passthrough)
        {
            string Fix(string block) => ruleTls is null
                ? $"the policy sets 'tls: passthrough'; add 'tls: inspect' to this rule or remove the '{block}' block"
                : $"remove 'tls: passthrough' or the '{block}' block";
            if (hasInject)
            {
                _diagnostics.Error(inject.Key, "credential injection needs TLS interception", Fix("inject"));
            }

            if (hasHttp)
            {
                _diagnostics.Error(http.Key, "HTTP rules need TLS interception", Fix("http"));
            }
        }

        if (host?.Kind == HostPatternKind.Any && _default == DefaultAction.Deny)
        {
            _diagnostics.Error(
                hostNode,
                "'**' in an allow rule opens every destination",
                "write 'default: allow' to make an open policy explicit, or use 'ask: \"**\"'");
        }
    }

    private void RequireKind(MappingEntry entry, RuleKind? actual, RuleKind required)
    {
        if (actual is { } kind && kind != required)
        {
            var rules = required == RuleKind.Allow ? "allow rules" : "ask rules";
            _diagnostics.Error(entry.Key, $"'{entry.Key.Value}' applies only to {rules}");
        }
    }

    private string? ReadName(PolicyNode node)
    {
        if (!TryString(node, "a string", out var name))
        {
            return null;
        }

        if (name.Length == 0)
        {
            _diagnostics.Error(node, "'name' is empty", "remove it or write a name");
            return null;
        }

        // Names are printed in terminals and events; an escape sequence in one could forge output.
        var control = name.AsSpan().IndexOfAnyInRange('\0', '\u001F');
        if (control < 0)
        {
            control = name.IndexOf('\u007F', StringComparison.Ordinal);
        }

        if (control >= 0)
        {
            var (line, column) = ((ScalarNode)node).PositionAt(control);
            _diagnostics.Error(line, column, "a name cannot contain control characters");
            return null;
        }

        return name;
    }

    private HostPattern? ReadHostPattern(PolicyNode node)
    {
        if (!TryString(node, "a host pattern", out var text))
        {
            return null;
        }

        if (!HostPattern.TryParse(text, out var pattern, out var error))
        {
            _diagnostics.Error(node, error);
            return null;
        }

        return pattern;
    }

    private PortSet ReadPorts(PolicyNode node)
    {
        List<PolicyNode> entries;
        switch (node)
        {
            case ScalarNode { IsNull: false } single:
                entries = [single];
                break;
            case SequenceNode { Items.Count: 0 }:
                _diagnostics.Error(node, "'ports' is empty", "remove 'ports' to use the default");
                return PortSet.Any;
            case SequenceNode sequence:
                entries = sequence.Items;
                break;
            case InvalidNode:
                return PortSet.Any;
            default:
                _diagnostics.Error(node, $"expected {ListNoun} of ports, got {Describe(node)}");
                return PortSet.Any;
        }

        var ranges = new List<PortRange>(entries.Count);
        foreach (var entry in entries)
        {
            switch (entry)
            {
                case ScalarNode { IsNull: false } scalar:
                    if (PortSyntax.TryParse(scalar.Value, out var range, out var error))
                    {
                        ranges.Add(range);
                    }
                    else
                    {
                        Report(scalar, error);
                    }

                    break;
                case InvalidNode:
                    break;
                default:
                    _diagnostics.Error(entry, $"expected a port, got {Describe(entry)}");
                    break;
            }
        }

        return ranges.Count == 0 ? PortSet.Any : PortSet.Of(ranges);
    }

    private TimeSpan? ReadTimeout(PolicyNode node)
    {
        if (!TryString(node, "a duration such as '30s'", out var text))
        {
            return null;
        }

        var scalar = (ScalarNode)node;
        if (!DurationSyntax.TryParse(text, out var duration, out SyntaxError? error))
        {
            Report(scalar, error);
            return null;
        }

        if (duration <= TimeSpan.Zero || duration > MaxAskTimeout)
        {
            _diagnostics.Error(node, $"timeout {Text.Quote(text)} is out of range", "an ask timeout is more than 0 and at most 1h");
            return null;
        }

        return duration;
    }
}
