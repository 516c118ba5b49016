namespace Airlock.Policy.Loading;

/// <summary>What is wrong with a value, and where inside it (0-based index into the value).</summary>
internal sealed record SyntaxError(string Message, string? Suggestion = null, int Index = 0);
