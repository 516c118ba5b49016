using Airlock.Policy.Decisions;

namespace Airlock.Policy.Addresses;

/// <summary>Whether the proxy may dial an address, and why.</summary>
/// <param name="Allowed">Whether dialling is allowed.</param>
/// <param name="Reason">When refused: <see cref="DecisionReason.BlockedAddress"/> or <see cref="DecisionReason.DeniedAddress"/>.</param>
/// <param name="Class">The built-in classification.</param>
/// <param name="Detail">A human explanation.</param>
public readonly record struct AddressVerdict(bool Allowed, DecisionReason? Reason, AddressClass Class, string Detail);
