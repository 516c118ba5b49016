using System.IO.Pipelines;
using System.Text;
using Airlock.Policy.Decisions;
using Airlock.Policy.Model;
using Airlock.Proxy.Denials;
using Airlock.Proxy.Events;
using Airlock.Proxy.Hosting;
using Airlock.Proxy.Sessions;
using Airlock.Proxy.Tls;
using Airlock.Proxy.Tunnels;
using Microsoft.AspNetCore.Connections;

namespace Airlock.Proxy.FrontDoors;

/// <summary>
/// Kestrel connection middleware for the explicit front door (TCP and unix socket). A connection that starts
/// with CONNECT is parsed strictly here, decided, resolved and answered, then relayed (passthrough, opaque
/// TCP) or handed to Kestrel's HTTP pipeline over TLS terminated with a session-CA leaf; anything else goes
/// straight to the HTTP pipeline as absolute-form requests.
/// </summary>
internal sealed class ExplicitFrontDoor(TunnelSteps steps, BadRequestEvents badRequests)
{
    private static readonly byte[] Established = Encoding.ASCII.GetBytes("HTTP/1.1 200 Connection Established\r\n\r\n");

    public Task OnConnectionAsync(ConnectionContext context, ConnectionDelegate next) =>
        steps.RunConnectionAsync(context, next, badRequests, HandleAsync);

    private async Task HandleAsync(ConnectionContext context, ClientConnection connection, ConnectionDelegate next)
    {
        var session = steps.Session;
        ConnectRequest? connect;
        bool answered;
        using (var headTimeout = CancellationTokenSource.CreateLinkedTokenSource(context.ConnectionClosed))
        {
            headTimeout.CancelAfter(steps.Limits.HeadTimeout);
            try
            {
                (connect, answered) = await ReadConnectAsync(context, connection, context.Transport.Input, headTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!context.ConnectionClosed.IsCancellationRequested)
            {
                session.Events.Error(connection, "head_timeout", session.Engine.Policy.Mode, "the request head did not arrive in time", status: 408);
                await TunnelSteps.WriteRawAsync(context, Denial.ForFault(408, "head_timeout", "airlock: the request head did not arrive in time", null, null, null, null, "Send the request head promptly.")).ConfigureAwait(false);
                return;
            }
        }

        if (connect is not null)
        {
            await HandleConnectAsync(context, connection, connect, next).ConfigureAwait(false);
        }
        else if (!answered)
        {
            // Not CONNECT: absolute-form HTTP is Kestrel's to parse and the request handler's to decide.
            await next(context).ConfigureAwait(false);
        }
    }

    private async Task<(ConnectRequest? Connect, bool Answered)> ReadConnectAsync(ConnectionContext context, ClientConnection connection, PipeReader input, CancellationToken cancellationToken)
    {
        var session = steps.Session;
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (!ConnectRequest.LooksLikeConnect(buffer))
            {
                input.AdvanceTo(buffer.Start);
                return (null, false);
            }

            var status = ConnectRequest.TryParse(buffer, out var connect, out var error);
            switch (status)
            {
                case ConnectParseStatus.Parsed:
                    input.AdvanceTo(buffer.GetPosition(connect!.HeadLength));
                    return (connect, false);
                case ConnectParseStatus.Incomplete when !result.IsCompleted:
                    input.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                case ConnectParseStatus.Incomplete:
                    input.AdvanceTo(buffer.End);
                    if (buffer.Length > 0)
                    {
                        session.Events.Error(connection, "malformed_request", session.Engine.Policy.Mode, "the client closed before the CONNECT head was complete");
                    }

                    return (null, true);
                default:
                    input.AdvanceTo(buffer.End);
                    var denial = status == ConnectParseStatus.TooLarge
                        ? Denial.ForFault(431, "malformed_request", $"airlock: the CONNECT head is over {ConnectRequest.MaxHeadBytes} bytes or {ConnectRequest.MaxHeaderCount} headers", null, null, "CONNECT", null, "Send a short CONNECT request.")
                        : Denial.ForReason(400, DecisionReason.MalformedRequest, null, null, "CONNECT", null, error);
                    session.Events.Refusal(EgressEventType.Connection, connection, denial.Reason, session.Engine.Policy.Mode, "CONNECT", status: denial.Status, detail: denial.Error);
                    await TunnelSteps.WriteRawAsync(context, denial).ConfigureAwait(false);
                    return (null, true);
            }
        }
    }

    private async Task HandleConnectAsync(ConnectionContext context, ClientConnection connection, ConnectRequest connect, ConnectionDelegate next)
    {
        var session = steps.Session;
        var engine = session.Engine;
        var mode = engine.Policy.Mode;
        connection.Host = connect.Host.Value;
        connection.Port = connect.Port;
        var decision = await steps.DecideAsync(engine, connection, connect.Host, connect.Port, context.ConnectionClosed).ConfigureAwait(false);
        var (tls, protocol) = TunnelSteps.Shape(decision.Rule, engine.Policy);
        connection.Scheme = protocol == RuleProtocol.Tcp ? "tcp" : "https";

        if (decision.Verdict == Verdict.Deny && !decision.WouldDeny)
        {
            session.Events.Decision(EgressEventType.Connection, connection, decision, "CONNECT", status: 403);
            await TunnelSteps.WriteRawAsync(context, Denial.ForDecision(decision, connect.Host.Value, connect.Port, "CONNECT", null)).ConfigureAwait(false);
            return;
        }

        var resolved = await session.Resolver.ResolveAsync(connect.Host, engine, context.ConnectionClosed).ConfigureAwait(false);
        if (resolved.Refusal is { } refusal)
        {
            var denial = Denial.ForReason(403, refusal, connect.Host.Value, connect.Port, "CONNECT", null, resolved.Detail);
            session.Events.Refusal(EgressEventType.Connection, connection, denial.Reason, mode, "CONNECT", status: 403, detail: resolved.Detail, rule: decision.Rule);
            await TunnelSteps.WriteRawAsync(context, denial).ConfigureAwait(false);
            return;
        }

        if (!resolved.CanDial)
        {
            session.Events.Error(connection, "dns_failure", mode, resolved.Failure!, "CONNECT", status: 502);
            await TunnelSteps.WriteRawAsync(context, Denial.ForFault(502, "dns_failure", "airlock: " + resolved.Failure, connect.Host.Value, connect.Port, "CONNECT", null, "The destination's name did not resolve; this is not a policy decision.")).ConfigureAwait(false);
            return;
        }

        var address = resolved.Address!;
        connection.ResolvedIp = address.ToString();
        connection.Tls = protocol == RuleProtocol.Tcp ? "none" : tls == TlsMode.Passthrough ? "passthrough" : "inspect";
        var relay = protocol == RuleProtocol.Tcp || tls == TlsMode.Passthrough;
        using var upstream = relay
            ? await steps.DialAsync(context, connection, address, connect.Host, resolved.DialPort ?? connect.Port, mode, answerWithHttp: true).ConfigureAwait(false)
            : null;
        if (relay && upstream is null)
        {
            return;
        }

        session.Events.Decision(EgressEventType.Connection, connection, decision, "CONNECT", status: 200);
        await context.Transport.Output.WriteAsync(Established, context.ConnectionClosed).ConfigureAwait(false);

        var hello = await steps.PeekAsync(context, connection).ConfigureAwait(false);
        if (hello.Status == ClientHelloParseStatus.Malformed)
        {
            session.Events.Refusal(EgressEventType.Connection, connection, DecisionReasons.Name(DecisionReason.MalformedRequest), mode, detail: "malformed TLS ClientHello");
            return;
        }

        if (hello.IsTls && protocol != RuleProtocol.Tcp && hello.ServerName is { } sni && !TunnelSteps.SameName(sni, connect.Host))
        {
            var mismatch = steps.Refuse(connection, EgressEventType.Connection, DecisionReasons.Name(DecisionReason.SniMismatch), $"SNI '{TunnelSteps.Printable(sni)}' in a tunnel to {connect.Host.Value}", decision.Rule, DecisionReasons.Hint(DecisionReason.SniMismatch), mode);
            if (!relay)
            {
                // Complete the handshake for the name the client asked for, then answer every request with 403.
                var name = Airlock.Policy.Hosts.HostCanonicalizer.TryCanonicalize(sni, out var sniHost, out _) ? sniHost.Value : connect.Host.Value;
                await steps.InterceptAsync(context, connection, name, new Tunnel(connect.Host, connect.Port, "https", null, mismatch), next).ConfigureAwait(false);
            }

            return;
        }

        if (relay)
        {
            if (!hello.IsTls && protocol != RuleProtocol.Tcp)
            {
                steps.Refuse(connection, EgressEventType.Connection, DecisionReasons.Name(DecisionReason.ProtocolNotAllowed), "the tunnel did not start with TLS and the rule is not 'protocol: tcp'", decision.Rule, DecisionReasons.Hint(DecisionReason.ProtocolNotAllowed), mode);
                return;
            }

            await TcpRelay.RunAsync(context.Transport, upstream!, steps.Limits.TunnelLifetime, context.ConnectionClosed).ConfigureAwait(false);
            return;
        }

        if (!hello.IsTls)
        {
            if (!TunnelSteps.LooksLikeHttp(hello.Peeked))
            {
                steps.Refuse(connection, EgressEventType.Connection, DecisionReasons.Name(DecisionReason.ProtocolNotAllowed), "the tunnel carries neither TLS nor HTTP and the rule is not 'protocol: tcp'", decision.Rule, DecisionReasons.Hint(DecisionReason.ProtocolNotAllowed), mode);
                return;
            }

            connection.Tls = "none";
            connection.Scheme = "http";
            context.Items[typeof(Tunnel)] = new Tunnel(connect.Host, connect.Port, "http", address, DialPort: resolved.DialPort, Connection: decision);
            await next(context).ConfigureAwait(false);
            return;
        }

        await steps.InterceptAsync(context, connection, connect.Host.Value, new Tunnel(connect.Host, connect.Port, "https", address, DialPort: resolved.DialPort, Connection: decision), next).ConfigureAwait(false);
    }
}
