using Airlock.Policy.Decisions;
using Airlock.Policy.Hosts;
using Airlock.Policy.Model;
using Airlock.Proxy.Events;
using Airlock.Proxy.Hosting;
using Airlock.Proxy.Sessions;
using Airlock.Proxy.Tls;
using Airlock.Proxy.Tunnels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Airlock.Proxy.FrontDoors;

/// <summary>
/// Kestrel connection middleware for connections redirected to the proxy by nftables/iptables. The original
/// destination comes from <c>SO_ORIGINAL_DST</c>; the name from the TLS SNI or the HTTP Host. The proxy decides
/// on that name and dials the name's own resolution, never the address the client chose, so a forged SNI or Host
/// reaches only the host it names. With neither, the original address is decided on as an IP-literal host.
/// </summary>
internal sealed class TransparentFrontDoor(TunnelSteps steps, BadRequestEvents badRequests)
{
    public Task OnConnectionAsync(ConnectionContext context, ConnectionDelegate next) =>
        steps.RunConnectionAsync(context, next, badRequests, HandleAsync);

    private async Task HandleAsync(ConnectionContext context, ClientConnection connection, ConnectionDelegate next)
    {
        var session = steps.Session;
        var engine = session.Engine;
        var mode = engine.Policy.Mode;
        var socket = context.Features.Get<IConnectionSocketFeature>()?.Socket;
        var original = socket is null ? null : OriginalDestination.Get(socket);
        if (original is null || original.Equals(context.LocalEndPoint))
        {
            session.Events.Error(connection, "no_original_destination", mode, "the connection was not redirected to the proxy (no SO_ORIGINAL_DST); refusing to loop");
            return;
        }

        var originalAddress = original.Address.IsIPv4MappedToIPv6 ? original.Address.MapToIPv4() : original.Address;
        connection.Port = original.Port;
        var peek = await steps.PeekAsync(context, connection).ConfigureAwait(false);
        if (peek.Status == ClientHelloParseStatus.Malformed)
        {
            steps.Refuse(connection, EgressEventType.Connection, DecisionReasons.Name(DecisionReason.MalformedRequest), "malformed TLS ClientHello", null, DecisionReasons.Hint(DecisionReason.MalformedRequest), mode);
            return;
        }

        var isHttp = !peek.IsTls && TunnelSteps.LooksLikeHttp(peek.Peeked);
        var name = peek.IsTls ? peek.ServerName : isHttp ? await PeekHostAsync(context).ConfigureAwait(false) : null;
        CanonicalHost? host;
        if (name is null)
        {
            HostCanonicalizer.TryCanonicalize(originalAddress.ToString(), out host, out _);
        }
        else if (!HostCanonicalizer.TryCanonicalize(StripPort(name), out host, out var error))
        {
            connection.Host = TunnelSteps.Printable(name);
            steps.Refuse(connection, EgressEventType.Connection, DecisionReasons.Name(DecisionReason.MalformedHost), error, null, DecisionReasons.Hint(DecisionReason.MalformedHost), mode);
            return;
        }

        connection.Host = host!.Value;
        var decision = await steps.DecideAsync(engine, connection, host, original.Port, context.ConnectionClosed).ConfigureAwait(false);
        var (tls, protocol) = TunnelSteps.Shape(decision.Rule, engine.Policy);
        connection.Scheme = protocol == RuleProtocol.Tcp ? "tcp" : peek.IsTls ? "https" : isHttp ? "http" : "tcp";
        if (decision.Verdict == Verdict.Deny && !decision.WouldDeny)
        {
            session.Events.Decision(EgressEventType.Connection, connection, decision);
            var refusal = new TunnelRefusal(decision.ReasonName, $"{host.Value}:{original.Port} is not allowed", decision.Rule, DecisionReasons.Hint(decision.Reason));
            await AnswerInBandAsync(context, connection, peek, isHttp, host, original.Port, refusal, next).ConfigureAwait(false);
            return;
        }

        var resolved = await session.Resolver.ResolveAsync(host, engine, context.ConnectionClosed).ConfigureAwait(false);
        if (!resolved.CanDial)
        {
            var reason = resolved.Refusal is { } refused ? DecisionReasons.Name(refused) : "dns_failure";
            var detail = resolved.Failure ?? resolved.Detail;
            var refusal = steps.Refuse(connection, EgressEventType.Connection, reason, detail, decision.Rule, resolved.Refusal is { } r ? DecisionReasons.Hint(r) : "The destination's name did not resolve.", mode);
            await AnswerInBandAsync(context, connection, peek, isHttp, host, original.Port, refusal, next).ConfigureAwait(false);
            return;
        }

        var address = resolved.Address!;
        connection.ResolvedIp = address.ToString();
        var relay = protocol == RuleProtocol.Tcp || (peek.IsTls && tls == TlsMode.Passthrough);
        connection.Tls = relay ? (peek.IsTls ? "passthrough" : "none") : peek.IsTls ? "inspect" : "none";
        if (!relay && !peek.IsTls && !isHttp)
        {
            steps.Refuse(connection, EgressEventType.Connection, DecisionReasons.Name(DecisionReason.ProtocolNotAllowed), "the connection carries neither TLS nor HTTP and the rule is not 'protocol: tcp'", decision.Rule, DecisionReasons.Hint(DecisionReason.ProtocolNotAllowed), mode);
            return;
        }

        session.Events.Decision(EgressEventType.Connection, connection, decision);
        if (relay)
        {
            using var upstream = await steps.DialAsync(context, connection, address, host, resolved.DialPort ?? original.Port, mode, answerWithHttp: false).ConfigureAwait(false);
            if (upstream is not null)
            {
                await TcpRelay.RunAsync(context.Transport, upstream, steps.Limits.TunnelLifetime, context.ConnectionClosed).ConfigureAwait(false);
            }

            return;
        }

        var tunnel = new Tunnel(host, original.Port, peek.IsTls ? "https" : "http", address, DialPort: resolved.DialPort, Connection: decision);
        if (peek.IsTls)
        {
            await steps.InterceptAsync(context, connection, host.Value, tunnel, next).ConfigureAwait(false);
            return;
        }

        context.Items[typeof(Tunnel)] = tunnel;
        await next(context).ConfigureAwait(false);
    }

    /// <summary>Answers a refused connection with a readable 403 where HTTP is possible; otherwise it is just closed.</summary>
    private async Task AnswerInBandAsync(ConnectionContext context, ClientConnection connection, PeekedHello peek, bool isHttp, CanonicalHost host, int port, TunnelRefusal refusal, ConnectionDelegate next)
    {
        if (peek.IsTls)
        {
            await steps.InterceptAsync(context, connection, host.Value, new Tunnel(host, port, "https", null, refusal), next).ConfigureAwait(false);
        }
        else if (isHttp)
        {
            context.Items[typeof(Tunnel)] = new Tunnel(host, port, "http", null, refusal);
            await next(context).ConfigureAwait(false);
        }
    }

    private async Task<string?> PeekHostAsync(ConnectionContext context)
    {
        var input = context.Transport.Input;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.ConnectionClosed);
        timeout.CancelAfter(steps.Limits.HeadTimeout);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
                var status = HttpHead.TryGetHost(result.Buffer, steps.Limits.MaxRequestHeadBytes, out var host);
                if (status == HttpHead.Status.Incomplete && !result.IsCompleted)
                {
                    input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                    continue;
                }

                input.AdvanceTo(result.Buffer.Start);
                return status == HttpHead.Status.Complete ? host : null;
            }
        }
        catch (OperationCanceledException) when (!context.ConnectionClosed.IsCancellationRequested)
        {
            return null;
        }
    }

    private static string StripPort(string hostAndPort)
    {
        if (hostAndPort.StartsWith('['))
        {
            var close = hostAndPort.IndexOf(']', StringComparison.Ordinal);
            return close < 0 ? hostAndPort : hostAndPort[..(close + 1)];
        }

        var colon = hostAndPort.LastIndexOf(':');
        return colon > 0 && hostAndPort.IndexOf(':', StringComparison.Ordinal) == colon ? hostAndPort[..colon] : hostAndPort;
    }
}
