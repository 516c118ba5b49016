namespace Airlock.Proxy.Control;

/// <summary>The outcome of a <c>policy.update</c>, sent back as <c>policy.ack</c>.</summary>
public sealed record PolicyUpdateResult
{
    private PolicyUpdateResult(bool ok, IReadOnlyList<string> errors)
    {
        Ok = ok;
        Errors = errors;
    }

    /// <summary>The policy is in force.</summary>
    public static PolicyUpdateResult Accepted { get; } = new(true, []);

    /// <summary>Whether the policy is in force.</summary>
    public bool Ok { get; }

    /// <summary>Why it was rejected (e.g. <c>p.yaml:3:5: error: …</c>); empty when accepted.</summary>
    public IReadOnlyList<string> Errors { get; }

    /// <summary>The policy was rejected; the old one stays in force.</summary>
    /// <param name="errors">At least one message.</param>
    /// <returns>The result.</returns>
    public static PolicyUpdateResult Rejected(IEnumerable<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        string[] list = [.. errors];
        ArgumentOutOfRangeException.ThrowIfZero(list.Length, nameof(errors));
        return new PolicyUpdateResult(false, list);
    }
}
