namespace Airlock.Policy.Loading;

/// <summary>What is wrong with a value.</summary>
/// <param name="Message">What is wrong.</param>
/// <param name="Suggestion">What to write instead, when obvious.</param>
/// <param name="Index">Where inside the value (0-based) the problem is; null when it is the whole value.</param>
internal sealed record SyntaxError(string Message, string? Suggestion = null, int? Index = null);
