using System.Collections.Frozen;
using System.Net;
using System.Net.Sockets;
using Airlock.Policy.Addresses;
using Airlock.Policy.Decisions;
using Airlock.Policy.Hosts;

namespace Airlock.Proxy.Resolution;

/// <summary>The outcome of resolving and classifying a destination.</summary>
/// <param name="Address">The one address to dial, when every resolved address may be dialled.</param>
/// <param name="Refusal">When refused: <see cref="DecisionReason.BlockedAddress"/> or <see cref="DecisionReason.DeniedAddress"/>.</param>
/// <param name="Failure">When the name did not resolve: a user-readable cause.</param>
/// <param name="Detail">The classification detail of the refused or chosen address.</param>
/// <param name="DialPort">A port to dial instead of the requested one (offline demos and tests only).</param>
internal readonly record struct ResolvedDestination(IPAddress? Address, DecisionReason? Refusal, string? Failure, string Detail, int? DialPort = null)
{
    public bool CanDial => Address is not null;
}

/// <summary>
/// Resolves a canonical host once, classifies every address, and picks the one address the proxy will dial:
/// a name with any blocked address is refused (fail closed), and nothing is looked up a second time (DNS
/// rebinding defence). Overrides (<c>--resolve</c>) replace DNS for the names they cover but not the checks.
/// </summary>
internal sealed class DestinationResolver
{
    private readonly FrozenDictionary<string, IPAddress[]> _overrides;
    private readonly FrozenDictionary<string, int> _ports;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _dns;
    private readonly TimeSpan _timeout;

    public DestinationResolver(
        IReadOnlyDictionary<string, IPAddress[]> overrides,
        IReadOnlySet<IPAddress> proxyAddresses,
        TimeSpan timeout,
        Func<string, CancellationToken, Task<IPAddress[]>>? dns = null,
        IReadOnlyDictionary<string, int>? ports = null)
    {
        _overrides = overrides.ToFrozenDictionary(StringComparer.Ordinal);
        _ports = (ports ?? new Dictionary<string, int>()).ToFrozenDictionary(StringComparer.Ordinal);
        ProxyAddresses = proxyAddresses;
        _timeout = timeout;
        _dns = dns ?? ((name, ct) => Dns.GetHostAddressesAsync(name, ct));
    }

    /// <summary>The proxy's own addresses, always blocked unless <c>addresses.allow</c> covers them.</summary>
    public IReadOnlySet<IPAddress> ProxyAddresses { get; }

    public async Task<ResolvedDestination> ResolveAsync(CanonicalHost host, EgressDecisionEngine engine, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        if (host.Address is { } literal)
        {
            addresses = [literal];
        }
        else if (_overrides.TryGetValue(host.Value, out var overridden))
        {
            addresses = overridden;
        }
        else
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeout);
            try
            {
                addresses = await _dns(host.Value, timeout.Token).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                return new ResolvedDestination(null, null, $"{host.Value} did not resolve: {e.SocketErrorCode}", string.Empty);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return new ResolvedDestination(null, null, $"resolving {host.Value} timed out", string.Empty);
            }
        }

        if (addresses.Length == 0)
        {
            return new ResolvedDestination(null, null, $"{host.Value} has no addresses", string.Empty);
        }

        AddressVerdict? chosen = null;
        IPAddress? dial = null;
        foreach (var address in addresses)
        {
            var verdict = engine.CheckAddress(address, ProxyAddresses);
            if (!verdict.Allowed)
            {
                return new ResolvedDestination(null, verdict.Reason ?? DecisionReason.BlockedAddress, null, verdict.Detail);
            }

            // Prefer IPv4 when both families resolve: loopback test origins and most clusters are IPv4 first.
            if (dial is null || (dial.AddressFamily == AddressFamily.InterNetworkV6 && address.AddressFamily == AddressFamily.InterNetwork))
            {
                dial = address;
                chosen = verdict;
            }
        }

        return new ResolvedDestination(dial, null, null, chosen!.Value.Detail, _ports.TryGetValue(host.Value, out var port) ? port : null);
    }
}
