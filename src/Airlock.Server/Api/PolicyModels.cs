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

/// <summary>The policy endpoints' JSON (source-generated for NativeAOT).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PolicyValidationView))]
[JsonSerializable(typeof(PolicyVersionView))]
[JsonSerializable(typeof(PolicyListView))]
public sealed partial class PolicyJsonContext : JsonSerializerContext;
