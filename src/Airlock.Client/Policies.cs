namespace Airlock.Client;

/// <summary>One problem in a policy: where it is and what would fix it.</summary>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column.</param>
/// <param name="Severity"><c>error</c> or <c>warning</c>.</param>
/// <param name="Message">What is wrong.</param>
/// <param name="Suggestion">What was probably meant, if anything.</param>
public sealed record PolicyProblem(int Line, int Column, string Severity, string Message, string? Suggestion);

/// <summary>What <c>POST /v1/policies/validate</c> says of a policy.</summary>
/// <param name="Valid">Whether it can be used (warnings allowed).</param>
/// <param name="Problems">Errors and warnings, in file order.</param>
public sealed record PolicyValidation(bool Valid, IReadOnlyList<PolicyProblem> Problems);

/// <summary>A stored version of a named policy.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Version">1, 2, … per name.</param>
/// <param name="Text">The policy as written.</param>
/// <param name="CreatedAt">When this version was stored.</param>
/// <param name="Problems">The warnings it carries (a stored policy has no errors).</param>
public sealed record PolicyVersion(string Name, int Version, string Text, DateTimeOffset CreatedAt, IReadOnlyList<PolicyProblem> Problems);

/// <summary>A named policy and its latest version.</summary>
/// <param name="Name">Its name.</param>
/// <param name="LatestVersion">Its newest version.</param>
/// <param name="UpdatedAt">When that was stored.</param>
public sealed record PolicySummary(string Name, int LatestVersion, DateTimeOffset UpdatedAt);

/// <summary>The answer of <c>GET /v1/policies</c>.</summary>
internal sealed record PolicyListWire(IReadOnlyList<PolicySummary> Items);

/// <summary>
/// A new policy for a running sandbox (<c>PUT /v1/sandboxes/{id}/policy</c>): give exactly one of <see cref="Policy"/>
/// and <see cref="PolicyName"/>.
/// </summary>
public sealed record ApplyPolicyRequest
{
    /// <summary>The policy's text (YAML or JSON); stored as the next version of the sandbox's own policy (named after its id).</summary>
    public string? Policy { get; init; }

    /// <summary>A stored policy's name.</summary>
    public string? PolicyName { get; init; }

    /// <summary>The stored policy's version; its latest when null.</summary>
    public int? PolicyVersion { get; init; }
}

/// <summary>The body of <c>POST /v1/policies/suggest</c>.</summary>
internal sealed record SuggestPolicyWire(string Session, string? Name);

/// <summary>A least-privilege policy suggested from what a sandbox did (<c>POST /v1/policies/suggest</c>).</summary>
/// <param name="Policy">The policy (YAML), to review before use.</param>
/// <param name="Events">How many of the sandbox's events it was built from.</param>
/// <param name="Destinations">How many destinations it allows.</param>
/// <param name="Excluded">Destinations left out, each with why (blocked addresses, explicit denials).</param>
public sealed record PolicySuggestion(string Policy, int Events, int Destinations, IReadOnlyList<string>? Excluded);
