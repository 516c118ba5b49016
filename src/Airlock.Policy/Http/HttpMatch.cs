namespace Airlock.Policy.Http;

/// <summary>The outcome of matching one request against an allow rule's HTTP rules.</summary>
/// <param name="Matched">Whether the request is allowed: some HTTP rule matched, or the rule has none.</param>
/// <param name="RuleIndex">The index of the first matching HTTP rule, or -1 when none matched or there are no HTTP rules.</param>
/// <param name="Problem">
/// Why the request is malformed (deny with <c>malformed_request</c>), or <see langword="null"/>. When set,
/// <paramref name="Matched"/> is <see langword="false"/>.
/// </param>
public readonly record struct HttpMatch(bool Matched, int RuleIndex, string? Problem)
{
    /// <summary>Whether the request was rejected as malformed rather than simply not matched.</summary>
    public bool IsMalformed => Problem is not null;
}
