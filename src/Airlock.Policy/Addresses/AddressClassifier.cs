using System.Net;

namespace Airlock.Policy.Addresses;

/// <summary>What kind of address an IP is, for the block list.</summary>
public enum AddressCategory
{
    /// <summary>A globally reachable unicast address.</summary>
    Public,
}

/// <summary>The classification of one address, with a reason a user can read.</summary>
/// <param name="Category">The category.</param>
/// <param name="Blocked">Whether the built-in block list blocks it.</param>
/// <param name="Detail">A short human explanation, e.g. "link-local 169.254.0.0/16 (cloud metadata)".</param>
public readonly record struct AddressClass(AddressCategory Category, bool Blocked, string Detail);

/// <summary>Classifies addresses against the built-in block list. A pure function.</summary>
public static class AddressClassifier
{
    /// <summary>Classifies <paramref name="address"/>.</summary>
    /// <param name="address">Any IPv4 or IPv6 address.</param>
    public static AddressClass Classify(IPAddress address) => throw new NotImplementedException();
}
