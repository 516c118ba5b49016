using System.Collections.Immutable;
using Airlock.Policy.Model;

namespace Airlock.Policy.Http;

/// <summary>
/// An allow rule's HTTP rules, compiled once and shared by every request: a request is allowed when it
/// matches at least one rule. Immutable and safe to use from many threads.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>An empty rule list means no L7 restriction: every request matches (rule index -1), and the target is
/// not parsed at all.</item>
/// <item>Methods are compared exactly: HTTP methods are case-sensitive, so <c>get</c> does not match <c>GET</c>.
/// A method that is not an HTTP token is malformed.</item>
/// <item>The target is normalised by <see cref="RequestPath.TryParse"/>; a malformed target is reported in
/// <see cref="HttpMatch.Problem"/> whatever the rules say.</item>
/// <item>The asterisk-form <c>*</c> is only valid with <c>OPTIONS</c>; it matches rules without path patterns
/// (and so without query constraints that it could satisfy), never a path pattern.</item>
/// <item>A query constraint holds when its parameter is present with exactly that name and every parameter
/// that some framework could read as that name matches one of the value globs (see
/// <see cref="QueryParameterNames"/>: <c>REF</c>, <c>ref[]</c> and <c>r.f</c> all count for <c>r_f</c>/<c>ref</c>).
/// When the query contains <c>;</c>, the constraint must also hold with <c>;</c> read as a separator, as some
/// servers read it. Other parameters are free. A constraint with no values never holds.</item>
/// </list>
/// </remarks>
public sealed class HttpRequestMatcher
{
    private const string AsteriskNeedsOptions = "the asterisk-form target '*' is only valid with OPTIONS";
    private const string InvalidMethod = "the method is not a valid HTTP token";

    private readonly CompiledRule[] _rules;

    private HttpRequestMatcher(CompiledRule[] rules) => _rules = rules;

    /// <summary>Compiles an allow rule's HTTP rules.</summary>
    /// <param name="rules">The rules in policy order; their indexes are reported in <see cref="HttpMatch.RuleIndex"/>.</param>
    /// <exception cref="ArgumentException">A rule holds a null pattern or constraint, an empty or non-token method, or an empty parameter name (the loader rejects these).</exception>
    public static HttpRequestMatcher Compile(ImmutableArray<HttpRule> rules)
    {
        if (rules.IsDefaultOrEmpty)
        {
            return new HttpRequestMatcher([]);
        }

        var compiled = new CompiledRule[rules.Length];
        for (var i = 0; i < rules.Length; i++)
        {
            compiled[i] = CompiledRule.From(rules[i] ?? throw new ArgumentException($"HTTP rule {i} is null.", nameof(rules)));
        }

        return new HttpRequestMatcher(compiled);
    }

    /// <summary>Matches one request.</summary>
    /// <param name="method">The request method exactly as received.</param>
    /// <param name="pathAndQuery">The origin-form target as received (<c>/a/b?x=1</c>), or <c>*</c>.</param>
    public HttpMatch Match(string method, string pathAndQuery)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(pathAndQuery);
        if (_rules.Length == 0)
        {
            return new HttpMatch(true, -1, null);
        }

        if (!HttpToken.IsValid(method))
        {
            return new HttpMatch(false, -1, InvalidMethod);
        }

        if (!RequestPath.TryParse(pathAndQuery, out var path, out var problem))
        {
            return new HttpMatch(false, -1, problem);
        }

        if (path.IsAsterisk && !string.Equals(method, "OPTIONS", StringComparison.Ordinal))
        {
            return new HttpMatch(false, -1, AsteriskNeedsOptions);
        }

        for (var i = 0; i < _rules.Length; i++)
        {
            if (_rules[i].Matches(method, path))
            {
                return new HttpMatch(true, i, null);
            }
        }

        return new HttpMatch(false, -1, null);
    }

    private sealed class CompiledRule(string[] methods, PathPattern[] paths, CompiledQueryConstraint[] query)
    {
        public static CompiledRule From(HttpRule rule)
        {
            var methods = rule.Methods.IsDefault ? [] : rule.Methods.ToArray();
            foreach (var method in methods)
            {
                if (method is null || !HttpToken.IsValid(method))
                {
                    throw new ArgumentException($"HTTP method '{method}' is not a token.", nameof(rule));
                }
            }

            var paths = rule.Paths.IsDefault ? [] : rule.Paths.ToArray();
            foreach (var path in paths)
            {
                ArgumentNullException.ThrowIfNull(path, nameof(rule));
            }

            var query = new CompiledQueryConstraint[rule.Query.IsDefault ? 0 : rule.Query.Length];
            for (var i = 0; i < query.Length; i++)
            {
                query[i] = CompiledQueryConstraint.From(rule.Query[i]);
            }

            return new CompiledRule(methods, paths, query);
        }

        public bool Matches(string method, RequestPath path)
        {
            if (methods.Length > 0 && Array.IndexOf(methods, method) < 0)
            {
                return false;
            }

            if (paths.Length > 0 && !AnyPathMatches(path))
            {
                return false;
            }

            foreach (var constraint in query)
            {
                if (!constraint.Holds(path.QueryParameters) || !constraint.Holds(path.SemicolonQueryParameters))
                {
                    return false;
                }
            }

            return true;
        }

        private bool AnyPathMatches(RequestPath path)
        {
            foreach (var pattern in paths)
            {
                if (pattern.Matches(path))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private sealed class CompiledQueryConstraint(string name, TextGlob[] values)
    {
        public static CompiledQueryConstraint From(QueryConstraint constraint)
        {
            ArgumentNullException.ThrowIfNull(constraint);
            if (string.IsNullOrEmpty(constraint.Name))
            {
                throw new ArgumentException("A query constraint needs a parameter name.", nameof(constraint));
            }

            var values = new TextGlob[constraint.Values.IsDefault ? 0 : constraint.Values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = TextGlob.Parse(constraint.Values[i]);
            }

            return new CompiledQueryConstraint(constraint.Name, values);
        }

        public bool Holds(ImmutableArray<QueryParameter> parameters)
        {
            var present = false;
            foreach (var parameter in parameters)
            {
                if (!QueryParameterNames.MayBeReadAs(parameter.Name, name))
                {
                    continue;
                }

                if (!AnyValueMatches(parameter.Value))
                {
                    return false;
                }

                present |= string.Equals(parameter.Name, name, StringComparison.Ordinal);
            }

            return present;
        }

        private bool AnyValueMatches(string value)
        {
            foreach (var glob in values)
            {
                if (glob.Matches(value))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
