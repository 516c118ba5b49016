using System.Net;
using Airlock.Policy.Hosts;

namespace Airlock.Proxy.Tunnels;

/// <summary>
/// An allowed CONNECT tunnel (or transparent connection) whose traffic is handed to the HTTP pipeline: the
/// name that was decided, the address that was classified, and the scheme requests inside it use.
/// Stored in the connection's items so each request can be checked against it.
/// </summary>
/// <param name="Host">The canonical name the policy allowed.</param>
/// <param name="Port">The destination port.</param>
/// <param name="Scheme"><c>https</c> after interception, <c>http</c> for plain HTTP inside a tunnel.</param>
/// <param name="DialAddress">The classified address every request is sent to (null on a refused tunnel).</param>
/// <param name="Refusal">When set, every request on this tunnel is answered with this refusal.</param>
/// <param name="DialPort">A port to dial instead of <paramref name="Port"/> (offline demos and tests).</param>
/// <param name="Connection">The connection-level decision that opened the tunnel (an approved ask stays approved for its requests).</param>
internal sealed record Tunnel(
    CanonicalHost Host,
    int Port,
    string Scheme,
    IPAddress? DialAddress,
    TunnelRefusal? Refusal = null,
    int? DialPort = null,
    Airlock.Policy.Decisions.EgressDecision? Connection = null);

/// <summary>
/// A refusal decided for a whole connection before any request could be answered: the TLS handshake (or the
/// plain HTTP head) is completed so the client gets a readable 403 on each request. Its event was written
/// when it was decided, so answering it writes none.
/// </summary>
/// <param name="Reason">The snake_case reason.</param>
/// <param name="Detail">A human detail.</param>
/// <param name="Rule">The deciding rule, if any.</param>
/// <param name="Hint">What to do about it.</param>
internal sealed record TunnelRefusal(string Reason, string Detail, Airlock.Policy.Model.EgressRule? Rule, string Hint);
