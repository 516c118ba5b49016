namespace Airlock.Proxy.Control;

/// <summary>What the proxy does with messages from the control plane. The channel sends the replies.</summary>
public interface IControlHandler
{
    /// <summary>The version of the policy in force, sent in every <c>hello</c>; null before any versioned policy.</summary>
    string? PolicyVersion { get; }

    /// <summary>
    /// Validates <paramref name="policyText"/> and, when it is valid, swaps it in atomically; an invalid policy
    /// leaves the old one in force. The channel answers with <c>policy.ack</c>. Updates are handled one at a time,
    /// in the order they arrive.
    /// </summary>
    /// <param name="version">The version the control plane gave the policy.</param>
    /// <param name="policyText">The policy as YAML or JSON text.</param>
    /// <param name="cancellationToken">Cancelled when the channel is disposed.</param>
    /// <returns>Accepted, or rejected with the errors the plane should show.</returns>
    ValueTask<PolicyUpdateResult> OnPolicyUpdateAsync(string version, string policyText, CancellationToken cancellationToken);
}
