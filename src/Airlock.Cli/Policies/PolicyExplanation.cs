using System.Net;
using Airlock.Policy.Addresses;
using Airlock.Policy.Decisions;
using Airlock.Policy.Hosts;

namespace Airlock.Cli.Policies;

/// <summary>One address the host resolves to and whether the proxy could dial it.</summary>
internal sealed record AddressCheck(IPAddress Address, AddressVerdict Verdict);

/// <summary>
/// What the proxy would decide for one request, step by step: connection decision, request decision, then
/// address classification of the addresses the caller supplied.
/// </summary>
internal sealed record PolicyExplanation(
    ExplainTarget Target,
    string Method,
    CanonicalHost? Host,
    EgressDecision Connection,
    EgressDecision Final,
    IReadOnlyList<AddressCheck> Addresses,
    bool AddressesChecked)
{
    public static PolicyExplanation Explain(
        EgressDecisionEngine engine,
        ExplainTarget target,
        string method,
        IReadOnlyDictionary<string, IReadOnlyList<IPAddress>> resolve)
    {
        if (!HostCanonicalizer.TryCanonicalize(target.Host, out var host, out _))
        {
            var malformed = engine.Decide(target.Host, target.Port);
            return new PolicyExplanation(target, method, null, malformed, malformed, [], AddressesChecked: false);
        }

        var connection = engine.Decide(host, target.Port);
        var final = connection;
        if (final.IsAllowed && target.IsHttp)
        {
            final = engine.DecideRequest(connection, method, target.PathAndQuery);
        }

        IReadOnlyList<IPAddress> addresses = host.Address is { } literal
            ? [literal]
            : resolve.TryGetValue(host.Value, out var resolved) ? resolved : [];
        var checks = addresses.Select(a => new AddressCheck(a, engine.CheckAddress(a))).ToList();
        if (final.IsAllowed && checks.FirstOrDefault(c => !c.Verdict.Allowed) is { } blocked)
        {
            final = final with { Verdict = Verdict.Deny, Reason = blocked.Verdict.Reason ?? DecisionReason.BlockedAddress };
        }

        return new PolicyExplanation(target, method, host, connection, final, checks, AddressesChecked: addresses.Count > 0);
    }
}
