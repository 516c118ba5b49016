using Airlock.Policy.Authoring;
using Airlock.Proxy.Control;
using Airlock.Server.Store;
using Microsoft.Extensions.Logging;

namespace Airlock.Server.Sessions;

/// <summary>How a hot reload ended.</summary>
public enum PolicyApplyOutcome
{
    /// <summary>The proxy acknowledged the version; it is enforced now.</summary>
    Active,

    /// <summary>The proxy refused it (it keeps the policy it had); see the errors.</summary>
    Rejected,

    /// <summary>No acknowledgement in time: the version is recorded as wanted, not active.</summary>
    TimedOut,
}

/// <summary>The end of a hot reload.</summary>
/// <param name="Outcome">Active, rejected or timed out.</param>
/// <param name="Errors">The proxy's errors, or why it timed out.</param>
/// <param name="Sandbox">The sandbox as recorded afterwards.</param>
public sealed record PolicyApplyResult(PolicyApplyOutcome Outcome, IReadOnlyList<string> Errors, SandboxRecord? Sandbox);

/// <summary>
/// A running sandbox's policy: every version it is given is recorded (a sandbox's own policy is stored under its
/// id, so amendments never change a policy other sandboxes share), pushed to its proxy over the control channel,
/// and marked active when the proxy acknowledges it.
/// </summary>
public sealed partial class SessionPolicies(IServerStore store, ControlPlaneListener control, TimeSpan timeout, ILogger logger)
{
    /// <summary>Points the sandbox at <paramref name="name"/>@<paramref name="version"/> and pushes it to its proxy.</summary>
    /// <param name="sandboxId">The sandbox (its proxy's session).</param>
    /// <param name="name">The stored policy's name.</param>
    /// <param name="version">Its version.</param>
    /// <param name="text">Its text.</param>
    /// <param name="cancellationToken">Gives up.</param>
    /// <returns>What the proxy said.</returns>
    public async Task<PolicyApplyResult> ApplyAsync(string sandboxId, string name, int version, string text, CancellationToken cancellationToken)
    {
        await store.SetSandboxPolicyAsync(sandboxId, name, version, cancellationToken).ConfigureAwait(false);
        PolicyApplyResult result;
        try
        {
            var answer = await control.UpdatePolicyAsync(sandboxId, $"{name}@{version}", text, timeout, cancellationToken).ConfigureAwait(false);
            if (answer.Ok)
            {
                await store.SetActivePolicyVersionAsync(sandboxId, version, CancellationToken.None).ConfigureAwait(false);
                Log.Applied(logger, sandboxId, name, version);
                result = new PolicyApplyResult(PolicyApplyOutcome.Active, [], null);
            }
            else
            {
                Log.Rejected(logger, sandboxId, name, version, string.Join("; ", answer.Errors));
                result = new PolicyApplyResult(PolicyApplyOutcome.Rejected, answer.Errors, null);
            }
        }
        catch (TimeoutException e)
        {
            Log.TimedOut(logger, sandboxId, name, version, e.Message);
            result = new PolicyApplyResult(PolicyApplyOutcome.TimedOut, [e.Message], null);
        }

        return result with { Sandbox = await store.GetSandboxAsync(sandboxId, CancellationToken.None).ConfigureAwait(false) };
    }

    /// <summary>
    /// Stores <paramref name="text"/> as the next version of the sandbox's own policy (named after its id) and
    /// applies it.
    /// </summary>
    /// <param name="sandboxId">The sandbox.</param>
    /// <param name="text">A policy that loads.</param>
    /// <param name="cancellationToken">Gives up.</param>
    /// <returns>What the proxy said.</returns>
    public async Task<PolicyApplyResult> ApplyOwnAsync(string sandboxId, string text, CancellationToken cancellationToken)
    {
        var version = await store.PutPolicyAsync(sandboxId, text, cancellationToken).ConfigureAwait(false);
        return await ApplyAsync(sandboxId, sandboxId, version, text, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Amends the sandbox's policy to allow <paramref name="host"/>:<paramref name="port"/> (an ask approved for the
    /// session), as a new version of its own policy, and applies it. Null when the sandbox or its policy is unknown.
    /// </summary>
    /// <param name="sandboxId">The sandbox.</param>
    /// <param name="host">The approved host.</param>
    /// <param name="port">The approved port.</param>
    /// <param name="cancellationToken">Gives up.</param>
    /// <returns>What the proxy said, or null.</returns>
    public async Task<PolicyApplyResult?> AllowForSessionAsync(string sandboxId, string host, int port, CancellationToken cancellationToken)
    {
        if (await store.GetSandboxAsync(sandboxId, cancellationToken).ConfigureAwait(false) is not { PolicyName: { } name, PolicyVersion: var version }
            || await store.GetPolicyAsync(name, version, cancellationToken).ConfigureAwait(false) is not { } current)
        {
            return null;
        }

        var amended = PolicyAmendment.AllowDestination(current.Text, host, port, $"approved for the session: {host}:{port}");
        return await ApplyOwnAsync(sandboxId, amended, cancellationToken).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "Sandbox {Sandbox} enforces policy {Name}@{Version}")]
        public static partial void Applied(ILogger logger, string sandbox, string name, int version);

        [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Sandbox {Sandbox}'s proxy refused policy {Name}@{Version}: {Errors}")]
        public static partial void Rejected(ILogger logger, string sandbox, string name, int version, string errors);

        [LoggerMessage(EventId = 42, Level = LogLevel.Warning, Message = "Sandbox {Sandbox}'s proxy did not acknowledge policy {Name}@{Version}: {Error}")]
        public static partial void TimedOut(ILogger logger, string sandbox, string name, int version, string error);
    }
}
