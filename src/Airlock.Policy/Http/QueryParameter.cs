namespace Airlock.Policy.Http;

/// <summary>One <c>name=value</c> pair of a request's query, percent-decoded with <c>+</c> read as a space.</summary>
/// <param name="Name">The decoded name.</param>
/// <param name="Value">The decoded value; empty when the pair has no <c>=</c>.</param>
public readonly record struct QueryParameter(string Name, string Value);
