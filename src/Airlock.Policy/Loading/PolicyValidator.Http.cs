using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using Airlock.Policy.Http;
using Airlock.Policy.Model;

namespace Airlock.Policy.Loading;

/// <summary>HTTP rules and credential injection.</summary>
internal sealed partial class PolicyValidator
{
    /// <summary>Headers the proxy itself sets or that frame the message; injecting them would break or smuggle.</summary>
    private static readonly string[] ProxyOwnedHeaders =
    [
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "TE", "Trailer", "Keep-Alive",
        "Proxy-Connection", "Proxy-Authorization",
    ];

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
}
