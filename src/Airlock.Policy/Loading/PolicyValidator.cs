using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Text.RegularExpressions;
using Airlock.Policy.Addresses;
using Airlock.Policy.Hosts;
using Airlock.Policy.Http;
using Airlock.Policy.Model;

namespace Airlock.Policy.Loading;

/// <summary>
/// Walks the document tree once, reports every user error at the offending key or value, and builds the
/// immutable model when there is none. Never throws on bad input.
/// </summary>
internal sealed class PolicyValidator
{
    /// <summary>Headers the proxy itself sets or that frame the message; injecting them would break or smuggle.</summary>
    private static readonly string[] ProxyOwnedHeaders =
    [
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "TE", "Trailer", "Keep-Alive",
        "Proxy-Connection", "Proxy-Authorization",
    ];

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

        CheckKeys(map, PolicyKeys.TopLevel, "at the top level");
        ReadVersion(map);
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

    private void ReadVersion(MappingNode map)
    {
        if (!map.TryGet("version", out var entry))
        {
            _diagnostics.Error(map, "missing 'version'", "add 'version: 1' at the top");
            return;
        }

        switch (entry.Value)
        {
            case ScalarNode { Quoted: false, Value: "1" } or InvalidNode:
                return;
            case ScalarNode { Quoted: false, IsNull: false } number when number.Value.All(char.IsAsciiDigit):
                _diagnostics.Error(number, $"unsupported policy version {number.Value}", "this Airlock reads version 1");
                return;
            case ScalarNode { Quoted: true, Value: "1" } quoted:
                _diagnostics.Error(quoted, "'version' must be the number 1, not a string", "remove the quotes");
                return;
            default:
                _diagnostics.Error(entry.Value, $"expected 'version: 1', got {Describe(entry.Value)}");
                return;
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
        if (!DurationSyntax.TryParse(text, out var duration, out var error))
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

    private ImmutableArray<HttpRule> ReadHttpRules(PolicyNode node)
    {
        if (ReadList(node, "HTTP rules") is not { } items)
        {
            return [];
        }

        if (items.Count == 0)
        {
            _diagnostics.Error(node, "'http' is empty", "remove it to allow every request, or add a rule such as '- methods: [GET]'");
            return [];
        }

        var rules = ImmutableArray.CreateBuilder<HttpRule>(items.Count);
        foreach (var item in items)
        {
            if (ReadHttpRule(item) is { } rule)
            {
                rules.Add(rule);
            }
        }

        return rules.DrainToImmutable();
    }

    private HttpRule? ReadHttpRule(PolicyNode node)
    {
        if (node is InvalidNode)
        {
            return null;
        }

        if (node is not MappingNode map)
        {
            _diagnostics.Error(node, $"expected an HTTP rule ({MappingNoun} with 'methods', 'paths' or 'query'), got {Describe(node)}");
            return null;
        }

        CheckKeys(map, PolicyKeys.HttpRule, "in http rule");
        var methods = ImmutableArray.CreateBuilder<string>();
        if (map.TryGet("methods", out var methodsEntry) && ReadStrings(methodsEntry.Value, "methods", "methods", "remove 'methods' to allow every method") is { } methodNodes)
        {
            foreach (var (scalar, method) in methodNodes)
            {
                if (ValidateMethod(scalar, method))
                {
                    methods.Add(method);
                }
            }
        }

        var paths = ImmutableArray.CreateBuilder<PathPattern>();
        if (map.TryGet("paths", out var pathsEntry) && ReadStrings(pathsEntry.Value, "paths", "path patterns", "remove 'paths' to allow every path") is { } pathNodes)
        {
            foreach (var (scalar, text) in pathNodes)
            {
                if (PathPattern.TryParse(text, out var pattern, out var error))
                {
                    paths.Add(pattern);
                }
                else
                {
                    _diagnostics.Error(scalar, error);
                }
            }
        }

        var query = map.TryGet("query", out var queryEntry) ? ReadQuery(queryEntry.Value) : [];
        return new HttpRule
        {
            Methods = methods.DrainToImmutable(),
            Paths = paths.DrainToImmutable(),
            Query = query,
            Location = _diagnostics.At(map),
        };
    }

    private bool ValidateMethod(ScalarNode node, string method)
    {
        var bad = HttpTokens.IndexOfNonTokenChar(method);
        if (method.Length == 0 || bad >= 0)
        {
            var (line, column) = node.PositionAt(Math.Max(bad, 0));
            _diagnostics.Error(line, column, $"{Text.Quote(method)} is not an HTTP method", "a method is a token such as 'GET' or 'POST'");
            return false;
        }

        var upper = method.ToUpperInvariant();
        if (upper != method)
        {
            _diagnostics.Error(node, $"HTTP method {Text.Quote(method)} must be upper case", $"did you mean {Text.Quote(upper)}?");
            return false;
        }

        return true;
    }

    private ImmutableArray<QueryConstraint> ReadQuery(PolicyNode node)
    {
        if (node is InvalidNode)
        {
            return [];
        }

        if (node is not MappingNode map)
        {
            _diagnostics.Error(node, $"expected {MappingNoun} of query parameter names to values, got {Describe(node)}");
            return [];
        }

        var constraints = ImmutableArray.CreateBuilder<QueryConstraint>(map.Entries.Count);
        foreach (var (key, value) in map.Entries)
        {
            if (key.Value.Length == 0)
            {
                _diagnostics.Error(key, "a query parameter name cannot be empty");
                continue;
            }

            switch (value)
            {
                case ScalarNode { IsNull: false }:
                    if (TryString(value, "a string", out var single))
                    {
                        constraints.Add(new QueryConstraint(key.Value, [single]));
                    }

                    break;
                case SequenceNode:
                    var what = $"values of query parameter {Text.Quote(key.Value)}";
                    if (ReadStrings(value, key.Value, what, "remove the parameter to allow any value") is { } values)
                    {
                        constraints.Add(new QueryConstraint(key.Value, [.. values.Select(v => v.Value)]));
                    }

                    break;
                case InvalidNode:
                    break;
                default:
                    _diagnostics.Error(value, $"expected a string or {ListNoun} of strings for query parameter {Text.Quote(key.Value)}, got {Describe(value)}");
                    break;
            }
        }

        return constraints.DrainToImmutable();
    }

    private ImmutableArray<HeaderInjection> ReadInjections(PolicyNode node)
    {
        if (ReadList(node, "headers to inject") is not { } items)
        {
            return [];
        }

        var injections = ImmutableArray.CreateBuilder<HeaderInjection>(items.Count);
        var seen = new Dictionary<string, ScalarNode>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in items)
        {
            if (item is InvalidNode)
            {
                continue;
            }

            if (item is not MappingNode map)
            {
                _diagnostics.Error(item, $"expected a header to inject ({MappingNoun} with 'header' and 'value'), got {Describe(item)}");
                continue;
            }

            CheckKeys(map, PolicyKeys.Inject, "in inject entry");
            string? header = null;
            if (!map.TryGet("header", out var headerEntry))
            {
                _diagnostics.Error(map, "inject entry has no 'header'", "add 'header: NAME'");
            }
            else if (TryString(headerEntry.Value, "a header name", out var name) && ValidateHeader((ScalarNode)headerEntry.Value, name))
            {
                if (seen.TryGetValue(name, out var earlier))
                {
                    _diagnostics.Error(headerEntry.Value, $"header {Text.Quote(name)} is injected twice in this rule (first at line {earlier.Line})", "keep one of them");
                }
                else
                {
                    seen.Add(name, (ScalarNode)headerEntry.Value);
                    header = name;
                }
            }

            InjectionTemplate? template = null;
            if (!map.TryGet("value", out var valueEntry))
            {
                _diagnostics.Error(map, "inject entry has no 'value'", "add 'value: \"Bearer {{secret:NAME}}\"'");
            }
            else if (TryTemplateText(valueEntry.Value, out var text))
            {
                if (InjectionTemplateSyntax.TryParse(text, out var parsed, out var error))
                {
                    template = parsed;
                }
                else
                {
                    Report((ScalarNode)valueEntry.Value, error);
                }
            }

            if (header is not null && template is not null)
            {
                injections.Add(new HeaderInjection(header, template));
            }
        }

        return injections.DrainToImmutable();
    }

    /// <summary>A header value may be empty, unlike most strings.</summary>
    private bool TryTemplateText(PolicyNode node, [NotNullWhen(true)] out string? text)
    {
        if (node is ScalarNode { Quoted: true } quoted)
        {
            text = quoted.Value;
            return true;
        }

        return TryString(node, "a header value", out text);
    }

    private bool ValidateHeader(ScalarNode node, string name)
    {
        var bad = HttpTokens.IndexOfNonTokenChar(name);
        if (name.Length == 0 || bad >= 0)
        {
            var (line, column) = node.PositionAt(Math.Max(bad, 0));
            _diagnostics.Error(line, column, $"{Text.Quote(name)} is not a valid header name", "a header name is letters, digits and !#$%&'*+-.^_`|~");
            return false;
        }

        if (ProxyOwnedHeaders.FirstOrDefault(h => h.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } owned)
        {
            _diagnostics.Error(node, $"the proxy owns {Text.Quote(owned)}; it cannot be injected");
            return false;
        }

        return true;
    }

    private AddressPolicy ReadAddresses(PolicyNode node)
    {
        if (node is not MappingNode map)
        {
            if (node is not InvalidNode)
            {
                _diagnostics.Error(node, $"expected {MappingNoun} with 'allow' and 'deny' lists, got {Describe(node)}");
            }

            return AddressPolicy.Empty;
        }

        CheckKeys(map, PolicyKeys.Addresses, "in addresses");
        return new AddressPolicy
        {
            Allow = map.TryGet("allow", out var allow) ? ReadNetworks(allow) : [],
            Deny = map.TryGet("deny", out var deny) ? ReadNetworks(deny) : [],
        };
    }

    private ImmutableArray<IPNetwork> ReadNetworks(MappingEntry entry)
    {
        var networks = ImmutableArray.CreateBuilder<IPNetwork>();
        foreach (var (scalar, text) in ReadStrings(entry.Value, entry.Key.Value, "CIDR ranges or IP addresses", emptySuggestion: null) ?? [])
        {
            if (AddressRangeSyntax.TryParse(text, out var network, out var error))
            {
                networks.Add(network);
            }
            else
            {
                Report(scalar, error);
            }
        }

        return networks.DrainToImmutable();
    }

    private FilesystemPolicy ReadFilesystem(PolicyNode node)
    {
        if (node is not MappingNode map)
        {
            if (node is not InvalidNode)
            {
                _diagnostics.Error(node, $"expected {MappingNoun} with 'read_write', 'read_only' and 'hidden' lists, got {Describe(node)}");
            }

            return FilesystemPolicy.Empty;
        }

        CheckKeys(map, PolicyKeys.Filesystem, "in filesystem");
        return new FilesystemPolicy
        {
            ReadWrite = map.TryGet("read_write", out var readWrite) ? ReadPaths(readWrite) : [],
            ReadOnly = map.TryGet("read_only", out var readOnly) ? ReadPaths(readOnly) : [],
            Hidden = map.TryGet("hidden", out var hidden) ? ReadPaths(hidden) : [],
        };
    }

    private ImmutableArray<string> ReadPaths(MappingEntry entry)
    {
        var paths = ImmutableArray.CreateBuilder<string>();
        foreach (var (scalar, path) in ReadStrings(entry.Value, entry.Key.Value, "paths", emptySuggestion: null) ?? [])
        {
            var nul = path.IndexOf('\0', StringComparison.Ordinal);
            if (path.Length == 0)
            {
                _diagnostics.Error(scalar, "a path cannot be empty");
            }
            else if (nul >= 0)
            {
                var (line, column) = scalar.PositionAt(nul);
                _diagnostics.Error(line, column, "a path cannot contain NUL");
            }
            else
            {
                paths.Add(path);
            }
        }

        return paths.DrainToImmutable();
    }

    private ImmutableArray<string> ReadRedact(PolicyNode node)
    {
        var patterns = ImmutableArray.CreateBuilder<string>();
        foreach (var (scalar, pattern) in ReadStrings(node, "redact", "regular expressions", emptySuggestion: null) ?? [])
        {
            if (ValidateRedactPattern(scalar, pattern))
            {
                patterns.Add(pattern);
            }
        }

        return patterns.DrainToImmutable();
    }

    private bool ValidateRedactPattern(ScalarNode node, string pattern)
    {
        Regex regex;
        try
        {
            // The proxy runs these over logged values; linear-time matching keeps a pattern from being a ReDoS.
            regex = new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        }
        catch (RegexParseException ex)
        {
            var (line, column) = node.PositionAt(Math.Clamp(ex.Offset - 1, 0, pattern.Length));
            _diagnostics.Error(line, column, $"invalid regular expression {Text.Quote(pattern)}: {ex.Error.ToString()}", FirstSentence(ex.Message));
            return false;
        }
        catch (NotSupportedException ex)
        {
            _diagnostics.Error(node, $"regular expression {Text.Quote(pattern)} is not supported: {ex.Message}", "redact patterns run in linear time: no backreferences, lookarounds, atomic groups or conditionals");
            return false;
        }
        catch (ArgumentException ex)
        {
            _diagnostics.Error(node, $"invalid regular expression {Text.Quote(pattern)}: {ex.Message}");
            return false;
        }

        if (regex.IsMatch(string.Empty))
        {
            _diagnostics.Error(node, $"regular expression {Text.Quote(pattern)} matches the empty string", "it would redact between every character; make it match at least one character");
            return false;
        }

        return true;
    }

    private static string FirstSentence(string message)
    {
        // "Invalid pattern '(a' at offset 2. Not enough )'s." → "Not enough )'s."
        var dot = message.IndexOf(". ", StringComparison.Ordinal);
        return dot < 0 ? message : message[(dot + 2)..];
    }

    /// <summary>Reports unknown keys with a suggestion.</summary>
    private void CheckKeys(MappingNode map, ImmutableArray<string> known, string where)
    {
        foreach (var (key, _) in map.Entries)
        {
            if (!known.Contains(key.Value))
            {
                _diagnostics.Error(key, $"unknown key {Text.Quote(key.Value)} {where}", Suggestions.ForKey(key.Value, known));
            }
        }
    }

    private bool TryEnum<T>(MappingEntry entry, (string Name, T Value)[] options, out T value)
    {
        value = default!;
        var names = options.Select(o => o.Name).ToArray();
        if (!TryString(entry.Value, $"one of {Text.OneOf(names)}", out var text))
        {
            return false;
        }

        foreach (var (name, option) in options)
        {
            if (name == text)
            {
                value = option;
                return true;
            }
        }

        var close = Suggestions.Closest(text, names);
        _diagnostics.Error(
            entry.Value,
            $"unknown {entry.Key.Value} {Text.Quote(text)}; expected {Text.OneOf(names)}",
            close is null ? null : $"did you mean {Text.Quote(close)}?");
        return false;
    }

    private bool TryString(PolicyNode node, string expected, [NotNullWhen(true)] out string? value)
    {
        switch (node)
        {
            case ScalarNode { IsNull: false } scalar when scalar.Quoted || !_json:
                value = scalar.Value;
                return true;
            case InvalidNode:
                value = null;
                return false;
            default:
                _diagnostics.Error(node, $"expected {expected}, got {Describe(node)}");
                value = null;
                return false;
        }
    }

    private List<PolicyNode>? ReadList(PolicyNode node, string of)
    {
        switch (node)
        {
            case SequenceNode sequence:
                return sequence.Items;
            case InvalidNode:
                return null;
            default:
                _diagnostics.Error(node, $"expected {ListNoun} of {of}, got {Describe(node)}");
                return null;
        }
    }

    /// <summary>A list of strings; a lone string gets a "write it as a list" suggestion.</summary>
    /// <param name="node">The value.</param>
    /// <param name="key">The key the value belongs to, for "'methods' is empty".</param>
    /// <param name="of">What the list holds, for "expected a list of methods".</param>
    /// <param name="emptySuggestion">When not null, an empty list is an error with this suggestion.</param>
    private List<(ScalarNode Node, string Value)>? ReadStrings(PolicyNode node, string key, string of, string? emptySuggestion)
    {
        if (node is ScalarNode { IsNull: false } lone)
        {
            var example = _json ? $"[\"{lone.Value}\"]" : $"[{Text.Quote(lone.Value)}]";
            _diagnostics.Error(node, $"expected {ListNoun} of {of}, got {Describe(node)}", $"write it as {ListNoun}: {example}");
            return null;
        }

        if (ReadList(node, of) is not { } items)
        {
            return null;
        }

        if (items.Count == 0 && emptySuggestion is not null)
        {
            _diagnostics.Error(node, $"'{key}' is empty", emptySuggestion);
            return null;
        }

        var strings = new List<(ScalarNode, string)>(items.Count);
        foreach (var item in items)
        {
            if (TryString(item, "a string", out var value))
            {
                strings.Add(((ScalarNode)item, value));
            }
        }

        return strings;
    }

    private void Report(ScalarNode node, SyntaxError error)
    {
        var (line, column) = error.Index is { } index ? node.PositionAt(index) : (node.Line, node.Column);
        _diagnostics.Error(line, column, error.Message, error.Suggestion);
    }

    private string Describe(PolicyNode node) => node switch
    {
        MappingNode => MappingNoun,
        SequenceNode => ListNoun,
        ScalarNode { IsNull: true, Value: "" } when !_json => "an empty value",
        ScalarNode { IsNull: true } => "null",
        ScalarNode { Quoted: false } scalar when _json => scalar.Value is "true" or "false" ? "a boolean" : $"the number {scalar.Value}",
        ScalarNode scalar => Text.Quote(scalar.Value),
        _ => "an invalid value",
    };
}
