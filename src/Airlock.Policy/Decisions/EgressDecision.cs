using Airlock.Policy.Model;

namespace Airlock.Policy.Decisions;

/// <summary>The verdict of a decision.</summary>
public enum Verdict
{
    /// <summary>Let it through.</summary>
    Allow,

    /// <summary>Refuse it.</summary>
    Deny,

    /// <summary>Hold it and ask the control plane.</summary>
    Pending,
}

/// <summary>
/// One egress decision: the verdict, why, and the rule that decided it (null for defaults and malformed input).
/// A value type so that deciding allocates nothing.
/// </summary>
/// <param name="Verdict">Allow, deny or pending.</param>
/// <param name="Reason">Why.</param>
/// <param name="Rule">The deciding rule, if any.</param>
/// <param name="Mode">The policy's mode; in audit mode a deny is recorded as <c>would_deny</c> and let through.</param>
public readonly record struct EgressDecision(Verdict Verdict, DecisionReason Reason, EgressRule? Rule, PolicyMode Mode)
{
    /// <summary>Whether the policy allows it (regardless of mode).</summary>
    public bool IsAllowed => Verdict == Verdict.Allow;

    /// <summary>Whether this is a deny that audit mode lets through.</summary>
    public bool WouldDeny => Mode == PolicyMode.Audit && Verdict == Verdict.Deny;

    /// <summary>The snake_case reason name used in events and denials.</summary>
    public string ReasonName => DecisionReasons.Name(Reason);

    /// <summary>Whether requests on this connection must still pass the rule's HTTP rules.</summary>
    public bool RequiresRequestCheck => Verdict == Verdict.Allow && Rule is { Http.IsDefaultOrEmpty: false };
}
