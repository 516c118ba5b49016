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
/// <param name="DialAddress">The classified address every request is sent to.</param>
/// <param name="Refusal">When set, every request on this tunnel is answered with this refusal (SNI mismatch).</param>
internal sealed record Tunnel(CanonicalHost Host, int Port, string Scheme, IPAddress DialAddress, TunnelRefusal? Refusal = null);

/// <summary>A refusal decided before any request could be answered (inside TLS, answered on the first request).</summary>
/// <param name="Reason">The reason.</param>
/// <param name="Detail">A human detail.</param>
internal sealed record TunnelRefusal(Airlock.Policy.Decisions.DecisionReason Reason, string Detail);
