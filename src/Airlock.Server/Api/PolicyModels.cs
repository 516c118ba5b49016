using System.Text.Json;
using System.Text.Json.Serialization;

namespace Airlock.Server.Api;

/// <summary>One problem in a policy, where it is and what would fix it.</summary>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column.</param>
/// <param name="Severity">error or warning.</param>
/// <param name="Message">What is wrong.</param>
/// <param name="Suggestion">What was probably meant, if anything.</param>
public sealed record PolicyProblemView(int Line, int Column, string Severity, string Message, string? Suggestion);

/// <summary>What <c>POST /v1/policies/validate</c> answers.</summary>
/// <param name="Valid">Whether the policy can be used (warnings allowed).</param>
/// <param name="Problems">Errors and warnings, in file order.</param>
public sealed record PolicyValidationView(bool Valid, IReadOnlyList<PolicyProblemView> Problems);

/// <summary>A stored policy version.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Version">1, 2, … per name.</param>
/// <param name="Text">The policy as written.</param>
/// <param name="CreatedAt">When this version was stored.</param>
/// <param name="Problems">Warnings the policy carries (it has no errors: it was validated before it was stored).</param>
public sealed record PolicyVersionView(string Name, int Version, string Text, DateTimeOffset CreatedAt, IReadOnlyList<PolicyProblemView> Problems);

/// <summary>A named policy and its latest version.</summary>
/// <param name="Name">Its name.</param>
/// <param name="LatestVersion">Its newest version.</param>
/// <param name="UpdatedAt">When that was stored.</param>
public sealed record PolicySummaryView(string Name, int LatestVersion, DateTimeOffset UpdatedAt);

/// <summary>The list of named policies.</summary>
/// <param name="Items">The policies, by name.</param>
public sealed record PolicyListView(IReadOnlyList<PolicySummaryView> Items);

/// <summary>The body of <c>PUT /v1/sandboxes/{id}/policy</c>: a policy's text, or a stored policy's name (and version).</summary>
public sealed record ApplyPolicyRequest
{
    /// <summary>The policy itself (YAML or JSON); stored as the next version of the sandbox's own policy.</summary>
    public string? Policy { get; init; }

    /// <summary>A stored policy's name.</summary>
    public string? PolicyName { get; init; }

    /// <summary>Its version; the latest when null.</summary>
    public int? PolicyVersion { get; init; }
}

/// <summary>The body of <c>POST /v1/policies/suggest</c>.</summary>
public sealed record SuggestPolicyRequest
{
    /// <summary>The sandbox whose events to learn from.</summary>
    public string? Session { get; init; }

    /// <summary>The suggested policy's name; the session's id with <c>-suggested</c> when null.</summary>
    public string? Name { get; init; }
}

/// <summary>A suggested policy.</summary>
/// <param name="Policy">The policy text (YAML) to review.</param>
/// <param name="Events">How many of the session's events it was built from.</param>
/// <param name="Destinations">How many hosts it allows.</param>
/// <param name="Excluded">Destinations left out, each with why (blocked addresses, explicit denials).</param>
public sealed record PolicySuggestionView(string Policy, int Events, int Destinations, IReadOnlyList<string> Excluded);

/// <summary>The policy endpoints' JSON (source-generated for NativeAOT).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ApplyPolicyRequest))]
[JsonSerializable(typeof(SuggestPolicyRequest))]
[JsonSerializable(typeof(PolicySuggestionView))]
[JsonSerializable(typeof(PolicyValidationView))]
[JsonSerializable(typeof(PolicyVersionView))]
[JsonSerializable(typeof(PolicyListView))]
public sealed partial class PolicyJsonContext : JsonSerializerContext;
