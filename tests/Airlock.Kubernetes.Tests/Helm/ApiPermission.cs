using System.Text.Json.Nodes;
using Airlock.Kubernetes.Tests.Fakes;

namespace Airlock.Kubernetes.Tests.Helm;

/// <summary>One thing RBAC authorises: a verb on a resource (or <c>resource/subresource</c>) of an API group, in a namespace.</summary>
/// <param name="Group">The API group (<c>""</c> for core).</param>
/// <param name="Resource">The plural, with <c>/subresource</c> when there is one.</param>
/// <param name="Verb">The RBAC verb.</param>
/// <param name="Namespace">Where.</param>
internal sealed record ApiPermission(string Group, string Resource, string Verb, string Namespace)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Verb} {(Group.Length == 0 ? "core" : Group)}/{Resource} in {Namespace}";

    /// <summary>
    /// What a request to the API server needs, as its authorizer derives it: POST on a collection is create, GET on
    /// an object get, GET on a collection list (watch with <c>watch=true</c>), PUT update, PATCH patch, DELETE delete.
    /// An exec is a WebSocket upgrade (a GET) that API servers since 1.30 authorise as both <c>get</c> and
    /// <c>create</c> on <c>pods/exec</c>.
    /// </summary>
    public static IReadOnlyList<ApiPermission> Of(FakeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var parts = request.Path.Trim('/').Split('/');
        var (group, ns, rest) = parts switch
        {
            ["api", "v1", "namespaces", var n, .. var r] => (string.Empty, n, r),
            ["apis", var g, _, "namespaces", var n, .. var r] => (g, n, r),
            _ => throw new InvalidOperationException($"not a namespaced resource path: {request}"),
        };
        var (resource, named) = rest switch
        {
            [var plural] => (plural, false),
            [var plural, _] => (plural, true),
            [var plural, _, var subresource] => ($"{plural}/{subresource}", true),
            _ => throw new InvalidOperationException($"unexpected path: {request}"),
        };
        string[] verbs = (request.Method, named, resource) switch
        {
            (_, true, "pods/exec") => ["get", "create"],
            ("POST", false, _) => ["create"],
            ("GET", false, _) => [request.Watch ? "watch" : "list"],
            ("GET", true, _) => ["get"],
            ("PUT", true, _) => ["update"],
            ("PATCH", true, _) => ["patch"],
            ("DELETE", true, _) => ["delete"],
            ("DELETE", false, _) => ["deletecollection"],
            _ => throw new InvalidOperationException($"unexpected request: {request}"),
        };
        return [.. verbs.Select(v => new ApiPermission(group, resource, v, ns))];
    }
}

/// <summary>The rules of a rendered RBAC <c>Role</c>, and what they allow.</summary>
internal sealed class RoleRules
{
    private readonly List<(string[] Groups, string[] Resources, string[] Verbs, string[] Names)> _rules = [];

    /// <summary>Reads a Role.</summary>
    public RoleRules(JsonNode role)
    {
        ArgumentNullException.ThrowIfNull(role);
        Namespace = (string?)role["metadata"]?["namespace"] ?? throw new ArgumentException("the Role has no namespace", nameof(role));
        foreach (var rule in role["rules"]?.AsArray() ?? [])
        {
            _rules.Add((Strings(rule, "apiGroups"), Strings(rule, "resources"), Strings(rule, "verbs"), Strings(rule, "resourceNames")));
        }
    }

    /// <summary>The Role's namespace: the only one it grants anything in.</summary>
    public string Namespace { get; }

    /// <summary>Every (group, resource, verb) the rules grant, spelled out (no rule may use a wildcard).</summary>
    public IReadOnlySet<(string Group, string Resource, string Verb)> Grants =>
        _rules.SelectMany(r => r.Groups.SelectMany(g => r.Resources.SelectMany(res => r.Verbs.Select(v => (g, res, v))))).ToHashSet();

    /// <summary>Every string in any rule, for the wildcard and escalation checks.</summary>
    public IEnumerable<string> AllTerms => _rules.SelectMany(r => r.Groups.Concat(r.Resources).Concat(r.Verbs).Concat(r.Names));

    /// <summary>Whether the Role lets its subject do <paramref name="permission"/> (RBAC semantics, wildcards included).</summary>
    public bool Allows(ApiPermission permission)
    {
        ArgumentNullException.ThrowIfNull(permission);
        return permission.Namespace == Namespace && _rules.Any(r =>
            r.Names.Length == 0
            && (r.Groups.Contains(permission.Group) || r.Groups.Contains("*"))
            && (r.Resources.Contains(permission.Resource) || r.Resources.Contains("*"))
            && (r.Verbs.Contains(permission.Verb) || r.Verbs.Contains("*")));
    }

    private static string[] Strings(JsonNode? rule, string field) => [.. (rule?[field]?.AsArray() ?? []).Select(n => n!.GetValue<string>())];
}
