using System.Collections.Immutable;

namespace Airlock.Policy.Http;

/// <summary>A constraint on one query parameter.</summary>
/// <param name="Name">The parameter name.</param>
/// <param name="Values">Allowed values (globs).</param>
public sealed record QueryConstraint(string Name, ImmutableArray<string> Values);
