using System.Collections.Immutable;
using System.Net;
using Airlock.Policy.Addresses;
using Airlock.Policy.Hosts;
using Airlock.Policy.Http;
using Airlock.Policy.Model;

namespace Airlock.Policy.Decisions;

/// <summary>
/// A policy compiled for fast decisions. Evaluation order (DESIGN §3): malformed host, first matching deny
/// rule, first allow rule whose host and port match (then its HTTP rules per request), first matching ask
/// rule, the default. Immutable and thread-safe; hot reload compiles a new engine and swaps the reference.
/// </summary>
public sealed class EgressDecisionEngine
{
    private readonly HostRuleIndex _index;
    private readonly ImmutableArray<HttpRequestMatcher?> _requestMatchers;

    private EgressDecisionEngine(EgressPolicy policy)
    {
        Policy = policy;
        _index = new HostRuleIndex(policy.Egress);
        _requestMatchers = [.. policy.Egress.Select(r => r.Http.IsDefaultOrEmpty ? null : HttpRequestMatcher.Compile(r.Http))];
    }

    /// <summary>The policy this engine decides for.</summary>
    public EgressPolicy Policy { get; }

    /// <summary>Compiles a validated policy.</summary>
    /// <param name="policy">A policy from the loader (or built in code).</param>
    public static EgressDecisionEngine Compile(EgressPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return new EgressDecisionEngine(policy);
    }

    /// <summary>Decides a connection to a host as received (canonicalised here; malformed hosts are denied).</summary>
    /// <param name="host">The host as the client wrote it.</param>
    /// <param name="port">The destination port.</param>
    public EgressDecision Decide(ReadOnlySpan<char> host, int port) =>
        HostCanonicalizer.TryCanonicalize(host, out var canonical, out _)
            ? Decide(canonical, port)
            : new EgressDecision(Verdict.Deny, DecisionReason.MalformedHost, null, Policy.Mode);

    /// <summary>Decides a connection to a canonical host. Allocation-free.</summary>
    /// <param name="host">The canonical destination host.</param>
    /// <param name="port">The destination port.</param>
    public EgressDecision Decide(CanonicalHost host, int port)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (port is < 1 or > 65535)
        {
            return new EgressDecision(Verdict.Deny, DecisionReason.MalformedRequest, null, Policy.Mode);
        }

        var matches = _index.Find(host, port);
        if (matches.Deny is { } deny)
        {
            return new EgressDecision(Verdict.Deny, DecisionReason.DeniedByRule, deny, Policy.Mode);
        }

        if (matches.Allow is { } allow)
        {
            return new EgressDecision(Verdict.Allow, DecisionReason.AllowedByRule, allow, Policy.Mode);
        }

        if (matches.Ask is { } ask)
        {
            return new EgressDecision(Verdict.Pending, DecisionReason.AskPending, ask, Policy.Mode);
        }

        return Policy.Default == DefaultAction.Allow
            ? new EgressDecision(Verdict.Allow, DecisionReason.DefaultAllow, null, Policy.Mode)
            : new EgressDecision(Verdict.Deny, DecisionReason.DefaultDeny, null, Policy.Mode);
    }

    /// <summary>
    /// Decides one HTTP request on a connection that <paramref name="connection"/> allowed: when the allowing
    /// rule has HTTP rules, the request must match one of them.
    /// </summary>
    /// <param name="connection">The connection's decision.</param>
    /// <param name="method">The request method, as received (methods are case-sensitive).</param>
    /// <param name="pathAndQuery">The origin-form request target.</param>
    public EgressDecision DecideRequest(EgressDecision connection, string method, string pathAndQuery)
    {
        if (!connection.RequiresRequestCheck)
        {
            return connection;
        }

        var matcher = _requestMatchers[connection.Rule!.Index]!;
        var match = matcher.Match(method, pathAndQuery);
        if (match.Problem is not null)
        {
            return connection with { Verdict = Verdict.Deny, Reason = DecisionReason.MalformedRequest };
        }

        return match.Matched
            ? connection
            : connection with { Verdict = Verdict.Deny, Reason = DecisionReason.NoMatchingHttpRule };
    }

    /// <summary>Decides whether a resolved address may be dialled (built-in block list and <c>addresses</c>).</summary>
    /// <param name="address">A resolved address.</param>
    /// <param name="proxyAddresses">The proxy's own addresses.</param>
    public AddressVerdict CheckAddress(IPAddress address, IReadOnlySet<IPAddress>? proxyAddresses = null) =>
        Policy.Addresses.Evaluate(address, proxyAddresses);
}
