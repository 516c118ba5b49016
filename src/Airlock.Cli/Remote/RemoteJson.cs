using System.Text.Json.Serialization;
using Airlock.Client;

namespace Airlock.Cli.Remote;

/// <summary>A gateway's sandbox as <c>--output json</c> prints it (snake_case, every field always present).</summary>
internal sealed record RemoteSandboxOutput(
    string Id,
    string Driver,
    string State,
    string? StateReason,
    IReadOnlyDictionary<string, string> Labels,
    string? PolicyName,
    int? PolicyVersion,
    int? ActivePolicyVersion,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? ExpiresAt,
    int? IdleTimeoutSeconds,
    DateTimeOffset? LastActivityAt)
{
    public static RemoteSandboxOutput From(Client.Sandbox sandbox) => new(
        sandbox.Id,
        sandbox.Driver,
        StateName(sandbox.State),
        sandbox.StateReason,
        sandbox.Labels,
        sandbox.PolicyName,
        sandbox.PolicyVersion,
        sandbox.ActivePolicyVersion,
        sandbox.CreatedAt,
        sandbox.UpdatedAt,
        sandbox.ExpiresAt,
        sandbox.IdleTimeoutSeconds,
        sandbox.LastActivityAt);

    public static string StateName(SandboxState state) => state.ToString().ToLowerInvariant();
}

/// <summary><c>sandbox exec --output json</c>: the command's output (each stream's first 1 MiB) and exit code.</summary>
internal sealed record RemoteExecOutput(string Stdout, string Stderr, int? Exit, bool Truncated, string? Error);

/// <summary><c>sandbox cp --output json</c>.</summary>
internal sealed record RemoteCopyOutput(string Source, string Destination, long Bytes);

/// <summary><c>sandbox rm --output json</c>.</summary>
internal sealed record RemoteRemoveOutput(IReadOnlyList<string> Deleted);

/// <summary>An approval as <c>--output json</c> prints it.</summary>
internal sealed record ApprovalOutput(
    string Id,
    string Session,
    string Host,
    int Port,
    string? Rule,
    DateTimeOffset RequestedAt,
    DateTimeOffset ExpiresAt,
    string State,
    string? Scope,
    DateTimeOffset? DecidedAt,
    string? DecidedBy)
{
    public static ApprovalOutput From(Approval approval) => new(
        approval.Id,
        approval.Session,
        approval.Host,
        approval.Port,
        approval.Rule,
        approval.RequestedAt,
        approval.ExpiresAt,
        StateName(approval.State),
        approval.Scope is { } scope ? ScopeName(scope) : null,
        approval.DecidedAt,
        approval.DecidedBy);

    public static string StateName(ApprovalState state) => state switch
    {
        ApprovalState.Pending => "pending",
        ApprovalState.Approved => "approved",
        ApprovalState.Denied => "denied",
        ApprovalState.TimedOut => "timed_out",
        _ => "unknown",
    };

    public static string ScopeName(ApprovalScope scope) => scope == ApprovalScope.Session ? "session" : "once";
}

/// <summary><c>policy push --output json</c>: the stored version.</summary>
internal sealed record PolicyVersionOutput(string Name, int Version, DateTimeOffset CreatedAt, IReadOnlyList<string> Warnings);

/// <summary>A failed gateway call: the HTTP status (null when the gateway could not be reached) and its Problem Details.</summary>
internal sealed record RemoteError(int? Status, string? Title, string? Detail, IReadOnlyDictionary<string, IReadOnlyList<string>>? Errors);

/// <summary><c>{"error": …}</c>, what <c>--output json</c> prints when a call fails.</summary>
internal sealed record RemoteErrorOutput(RemoteError Error);

/// <summary>The remote commands' JSON: snake_case like the rest of the CLI's, source-generated (NativeAOT).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(RemoteSandboxOutput))]
[JsonSerializable(typeof(RemoteSandboxOutput[]))]
[JsonSerializable(typeof(RemoteExecOutput))]
[JsonSerializable(typeof(RemoteCopyOutput))]
[JsonSerializable(typeof(RemoteRemoveOutput))]
[JsonSerializable(typeof(ApprovalOutput))]
[JsonSerializable(typeof(ApprovalOutput[]))]
[JsonSerializable(typeof(PolicyVersionOutput))]
[JsonSerializable(typeof(RemoteErrorOutput))]
internal sealed partial class RemoteJson : JsonSerializerContext;
