using System.Collections.Immutable;
using System.Net;

namespace Airlock.Policy.Addresses;

/// <summary>
/// The policy's <c>addresses</c> section applied on top of the built-in block list:
/// <c>deny</c> always blocks; <c>allow</c> lifts the built-in block for the ranges it covers.
/// </summary>
public sealed record AddressPolicy
{
    /// <summary>Exceptions to the built-in block list.</summary>
    public ImmutableArray<IPNetwork> Allow { get; init; } = [];

    /// <summary>Ranges that are always blocked.</summary>
    public ImmutableArray<IPNetwork> Deny { get; init; } = [];

    /// <summary>No exceptions, no additions.</summary>
    public static AddressPolicy Empty { get; } = new();

    /// <summary>Decides whether the proxy may dial <paramref name="address"/>.</summary>
    /// <param name="address">A resolved address.</param>
    /// <param name="proxyAddresses">The proxy's own addresses, always blocked unless allowed.</param>
    public AddressVerdict Evaluate(IPAddress address, IReadOnlySet<IPAddress>? proxyAddresses = null)
    {
        throw new NotImplementedException();
    }
}
