using System.Collections.Immutable;
using Airlock.Policy.Http;

namespace Airlock.Policy.Model;

/// <summary>
/// An L7 rule: a request matches when its method, path and query all match.
/// An empty list means "any".
/// </summary>
public sealed record HttpRule
{
    /// <summary>Upper-case methods (GET, POST, …); empty means any method.</summary>
    public ImmutableArray<string> Methods { get; init; } = [];

    /// <summary>Path globs; empty means any path.</summary>
    public ImmutableArray<PathPattern> Paths { get; init; } = [];

    /// <summary>Query constraints; every one must hold.</summary>
    public ImmutableArray<QueryConstraint> Query { get; init; } = [];

    /// <summary>Where the rule is in the policy source, when loaded from text.</summary>
    public SourceLocation? Location { get; init; }
}
