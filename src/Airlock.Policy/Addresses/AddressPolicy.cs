using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Airlock.Policy.Decisions;

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
        ArgumentNullException.ThrowIfNull(address);
        var addressClass = AddressClassifier.Classify(address);

        // Rules on an IPv4 range also apply to its IPv4-mapped IPv6 spelling.
        var embedded = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : null;

        var denied = FindNetwork(Deny, address, embedded);
        if (denied is IPNetwork deny)
        {
            return new AddressVerdict(false, DecisionReason.DeniedAddress, addressClass, $"{address} is in addresses.deny {deny}");
        }

        string? blockedBecause = null;
        if (addressClass.Blocked)
        {
            blockedBecause = addressClass.Detail;
        }
        else if (IsProxyAddress(address, embedded, proxyAddresses))
        {
            blockedBecause = "the proxy's own address";
        }

        if (blockedBecause is null)
        {
            return new AddressVerdict(true, null, addressClass, addressClass.Detail);
        }

        var allowed = FindNetwork(Allow, address, embedded);
        if (allowed is IPNetwork allow)
        {
            return new AddressVerdict(true, null, addressClass, $"{blockedBecause}, allowed by addresses.allow {allow}");
        }

        return new AddressVerdict(false, DecisionReason.BlockedAddress, addressClass, $"{address} is blocked: {blockedBecause}");
    }

    private static IPNetwork? FindNetwork(ImmutableArray<IPNetwork> networks, IPAddress address, IPAddress? embedded)
    {
        if (networks.IsDefaultOrEmpty)
        {
            return null;
        }

        foreach (var network in networks)
        {
            if (ContainsExactFamily(network, address) || (embedded is not null && ContainsExactFamily(network, embedded)))
            {
                return network;
            }
        }

        return null;
    }

    // IPNetwork.Contains also maps IPv4-mapped IPv6 addresses itself; matching on the family explicitly keeps
    // the rule for mapped addresses in one visible place (the embedded argument above).
    private static bool ContainsExactFamily(IPNetwork network, IPAddress address) =>
        network.BaseAddress.AddressFamily == address.AddressFamily && network.Contains(address);

    private static bool IsProxyAddress(IPAddress address, IPAddress? embedded, IReadOnlySet<IPAddress>? proxyAddresses)
    {
        if (proxyAddresses is null || proxyAddresses.Count == 0)
        {
            return false;
        }

        if (proxyAddresses.Contains(address) || (embedded is not null && proxyAddresses.Contains(embedded)))
        {
            return true;
        }

        // A proxy address given as IPv4 must also catch its mapped spelling, and the other way round.
        return address.AddressFamily == AddressFamily.InterNetwork && proxyAddresses.Contains(address.MapToIPv6());
    }
}
