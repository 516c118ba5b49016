using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Airlock.Policy.Decisions;
using Airlock.Policy.Hosts;
using Airlock.Policy.Model;
using Airlock.Proxy.Denials;
using Airlock.Proxy.Events;
using Airlock.Proxy.Hosting;
using Airlock.Proxy.Sessions;
using Airlock.Proxy.Tls;
using Airlock.Proxy.Transport;
using Airlock.Proxy.Tunnels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Airlock.Proxy.FrontDoors;

/// <summary>
/// Kestrel connection middleware for the explicit front door (TCP and unix socket). A connection that starts
/// with CONNECT is parsed strictly here, decided, resolved, answered, and then either relayed (passthrough,
/// opaque TCP) or handed to Kestrel's HTTP pipeline over TLS terminated with a session-CA leaf; anything else
/// goes straight to the HTTP pipeline as absolute-form requests.
/// </summary>
internal sealed class ExplicitFrontDoor(
    ProxySession session,
    Func<string, SslStreamCertificateContext> certificates,
    IAskBroker asks,
    ProxyLimits limits,
    BadRequestEvents badRequests)
{
    private static readonly byte[] Established = Encoding.ASCII.GetBytes("HTTP/1.1 200 Connection Established\r\n\r\n");

    public async Task OnConnectionAsync(ConnectionContext context, ConnectionDelegate next)
    {
        var connection = new ClientConnection(ProxyEvents.NewConnectionId(), context.RemoteEndPoint?.ToString(), session.Time.GetUtcNow());
        var counting = new CountingDuplexPipe(context.Transport);
        context.Transport = counting;
        context.Items[typeof(ClientConnection)] = connection;
        badRequests.Track(context.ConnectionId, connection);
        try
        {
            await HandleAsync(context, connection, next).ConfigureAwait(false);
        }
        finally
        {
            badRequests.Forget(context.ConnectionId);
            session.Events.Close(connection, session.Engine.Policy.Mode, counting.BytesIn, counting.BytesOut);
        }
    }

    private async Task HandleAsync(ConnectionContext context, ClientConnection connection, ConnectionDelegate next)
    {
        var input = context.Transport.Input;
        ConnectRequest? connect;
        using (var headTimeout = CancellationTokenSource.CreateLinkedTokenSource(context.ConnectionClosed))
        {
            headTimeout.CancelAfter(limits.HeadTimeout);
            try
            {
                connect = await ReadConnectAsync(context, connection, input, headTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!context.ConnectionClosed.IsCancellationRequested)
            {
                session.Events.Error(connection, "head_timeout", session.Engine.Policy.Mode, "the request head did not arrive in time");
                await WriteAsync(context, Denial.ForFault(408, "head_timeout", "airlock: the request head did not arrive in time", null, null, null, null, "Send the request head promptly.")).ConfigureAwait(false);
                return;
            }
        }

        if (connect is null)
        {
            // Not CONNECT (or already answered): absolute-form HTTP is Kestrel's to parse.
            if (!context.Items.ContainsKey(typeof(Denial)))
            {
                await next(context).ConfigureAwait(false);
            }

            return;
        }

        await HandleConnectAsync(context, connection, connect, next).ConfigureAwait(false);
    }

    private async Task<ConnectRequest?> ReadConnectAsync(ConnectionContext context, ClientConnection connection, PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (!ConnectRequest.LooksLikeConnect(buffer))
            {
                input.AdvanceTo(buffer.Start);
                return null;
            }

            var status = ConnectRequest.TryParse(buffer, out var connect, out var error);
            switch (status)
            {
                case ConnectParseStatus.Parsed:
                    input.AdvanceTo(buffer.GetPosition(connect!.HeadLength));
                    return connect;
                case ConnectParseStatus.Incomplete when !result.IsCompleted:
                    input.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                case ConnectParseStatus.Incomplete:
                    input.AdvanceTo(buffer.End);
                    if (buffer.Length > 0)
                    {
                        session.Events.Error(connection, "malformed_request", session.Engine.Policy.Mode, "the client closed before the CONNECT head was complete");
                    }

                    context.Items[typeof(Denial)] = true;
                    return null;
                default:
                    input.AdvanceTo(buffer.End);
                    var denial = status == ConnectParseStatus.TooLarge
                        ? Denial.ForFault(431, "malformed_request", $"airlock: the CONNECT head is over {ConnectRequest.MaxHeadBytes} bytes or {ConnectRequest.MaxHeaderCount} headers", null, null, "CONNECT", null, "Send a short CONNECT request.")
                        : Denial.ForReason(400, DecisionReason.MalformedRequest, null, null, "CONNECT", null, error);
                    session.Events.Refusal(EgressEventType.Connection, connection, denial.Reason, session.Engine.Policy.Mode, "CONNECT", status: denial.Status, detail: denial.Error);
                    await WriteAsync(context, denial).ConfigureAwait(false);
                    context.Items[typeof(Denial)] = true;
                    return null;
            }
        }
    }

    private async Task HandleConnectAsync(ConnectionContext context, ClientConnection connection, ConnectRequest connect, ConnectionDelegate next)
    {
        var engine = session.Engine;
        var mode = engine.Policy.Mode;
        connection.Host = connect.Host.Value;
        connection.Port = connect.Port;
        var decision = engine.Decide(connect.Host, connect.Port);
        var (tls, protocol) = ConnectionShape(decision.Rule, engine.Policy);
        connection.Scheme = protocol == RuleProtocol.Tcp ? "tcp" : "https";

        if (decision.Verdict == Verdict.Pending)
        {
            var outcome = await asks.AskAsync(connection, decision, context.ConnectionClosed).ConfigureAwait(false);
            decision = outcome switch
            {
                AskOutcome.Approved => decision with { Verdict = Verdict.Allow, Reason = DecisionReason.AskApproved },
                AskOutcome.Denied => decision with { Verdict = Verdict.Deny, Reason = DecisionReason.AskDenied },
                _ => decision with { Verdict = Verdict.Deny, Reason = DecisionReason.AskTimeout },
            };
        }

        if (decision.Verdict == Verdict.Deny && !decision.WouldDeny)
        {
            var denial = Denial.ForDecision(decision, connect.Host.Value, connect.Port, "CONNECT", null);
            session.Events.Decision(EgressEventType.Connection, connection, decision, "CONNECT", status: 403);
            await WriteAsync(context, denial).ConfigureAwait(false);
            return;
        }

        var resolved = await session.Resolver.ResolveAsync(connect.Host, engine, context.ConnectionClosed).ConfigureAwait(false);
        if (resolved.Refusal is { } refusal)
        {
            var denial = Denial.ForReason(403, refusal, connect.Host.Value, connect.Port, "CONNECT", null, resolved.Detail);
            session.Events.Refusal(EgressEventType.Connection, connection, denial.Reason, mode, "CONNECT", status: 403, detail: resolved.Detail, rule: decision.Rule);
            await WriteAsync(context, denial).ConfigureAwait(false);
            return;
        }

        if (!resolved.CanDial)
        {
            session.Events.Error(connection, "dns_failure", mode, resolved.Failure!, "CONNECT", status: 502);
            await WriteAsync(context, Denial.ForFault(502, "dns_failure", "airlock: " + resolved.Failure, connect.Host.Value, connect.Port, "CONNECT", null, "The destination's name did not resolve; this is not a policy decision.")).ConfigureAwait(false);
            return;
        }

        connection.ResolvedIp = resolved.Address!.ToString();
        connection.Tls = protocol == RuleProtocol.Tcp ? "none" : tls == TlsMode.Passthrough ? "passthrough" : "inspect";
        var relay = protocol == RuleProtocol.Tcp || tls == TlsMode.Passthrough;
        Socket? upstream = null;
        if (relay)
        {
            upstream = await DialAsync(context, connection, resolved.Address, connect, mode).ConfigureAwait(false);
            if (upstream is null)
            {
                return;
            }
        }

        using (upstream)
        {
            session.Events.Decision(EgressEventType.Connection, connection, decision, "CONNECT", status: 200);
            await context.Transport.Output.WriteAsync(Established, context.ConnectionClosed).ConfigureAwait(false);

            var hello = await PeekClientHelloAsync(context, connection).ConfigureAwait(false);
            if (hello.Status == ClientHelloParseStatus.Malformed)
            {
                session.Events.Refusal(EgressEventType.Connection, connection, DecisionReasons.Name(DecisionReason.MalformedRequest), mode, detail: "malformed TLS ClientHello");
                return;
            }

            var isTls = hello.Status == ClientHelloParseStatus.Parsed;
            if (isTls && hello.ServerName is { } sni && !SameName(sni, connect.Host))
            {
                if (relay)
                {
                    session.Events.Refusal(EgressEventType.Connection, connection, DecisionReasons.Name(DecisionReason.SniMismatch), mode, detail: $"SNI '{Printable(sni)}' in a tunnel to {connect.Host.Value}", rule: decision.Rule);
                    return;
                }

                // Complete the handshake for the name the client asked for, then answer every request with 403.
                var mismatch = new TunnelRefusal(DecisionReason.SniMismatch, $"SNI '{Printable(sni)}' in a tunnel to {connect.Host.Value}");
                await InterceptAsync(context, connection, connect, resolved.Address, sni, mismatch, next).ConfigureAwait(false);
                return;
            }

            if (relay)
            {
                if (!isTls && protocol != RuleProtocol.Tcp)
                {
                    session.Events.Refusal(EgressEventType.Connection, connection, DecisionReasons.Name(DecisionReason.ProtocolNotAllowed), mode, detail: "the tunnel did not start with TLS and the rule is not 'protocol: tcp'", rule: decision.Rule);
                    return;
                }

                await TcpRelay.RunAsync(context.Transport, upstream!, limits.TunnelLifetime, context.ConnectionClosed).ConfigureAwait(false);
                return;
            }

            if (!isTls)
            {
                if (!LooksLikeHttp(hello.Peeked))
                {
                    session.Events.Refusal(EgressEventType.Connection, connection, DecisionReasons.Name(DecisionReason.ProtocolNotAllowed), mode, detail: "the tunnel carries neither TLS nor HTTP and the rule is not 'protocol: tcp'", rule: decision.Rule);
                    return;
                }

                connection.Tls = "none";
                connection.Scheme = "http";
                context.Items[typeof(Tunnel)] = new Tunnel(connect.Host, connect.Port, "http", resolved.Address);
                await next(context).ConfigureAwait(false);
                return;
            }

            await InterceptAsync(context, connection, connect, resolved.Address, hello.ServerName, null, next).ConfigureAwait(false);
        }
    }

    private async Task InterceptAsync(ConnectionContext context, ClientConnection connection, ConnectRequest connect, IPAddress address, string? serverName, TunnelRefusal? refusal, ConnectionDelegate next)
    {
        var certificateName = serverName is not null && HostCanonicalizer.TryCanonicalize(serverName, out var sniHost, out _)
            ? sniHost.Value
            : connect.Host.Value;
        var stream = new DuplexPipeStream(context.Transport);
        var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
        await using (ssl.ConfigureAwait(false))
        {
            using var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(context.ConnectionClosed);
            handshakeTimeout.CancelAfter(limits.HeadTimeout);
            try
            {
                await ssl.AuthenticateAsServerAsync(
                    new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = certificates(certificateName),
                        ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
                        ClientCertificateRequired = false,
                    },
                    handshakeTimeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
            {
                session.Events.Error(connection, "client_tls", session.Engine.Policy.Mode, $"the TLS handshake with the client failed: {e.Message}");
                return;
            }

            var features = new TlsFeatures(ssl) { HostName = certificateName };
            context.Features.Set<ITlsConnectionFeature>(features);
            context.Features.Set<ITlsApplicationProtocolFeature>(features);
            context.Features.Set<ITlsHandshakeFeature>(features);
            context.Transport = new DuplexPipe(
                PipeReader.Create(ssl, new StreamPipeReaderOptions(leaveOpen: true)),
                PipeWriter.Create(ssl, new StreamPipeWriterOptions(leaveOpen: true)));
            context.Items[typeof(Tunnel)] = new Tunnel(connect.Host, connect.Port, "https", address, refusal);
            await next(context).ConfigureAwait(false);
        }
    }

    private async Task<Socket?> DialAsync(ConnectionContext context, ClientConnection connection, IPAddress address, ConnectRequest connect, PolicyMode mode)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.ConnectionClosed);
        timeout.CancelAfter(limits.ConnectTimeout);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(address, connect.Port), timeout.Token).ConfigureAwait(false);
            return socket;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            var (status, cause) = e is SocketException { SocketErrorCode: SocketError.ConnectionRefused }
                ? (502, "upstream_refused")
                : e is OperationCanceledException ? (504, "upstream_timeout") : (502, "upstream_error");
            session.Events.Error(connection, cause, mode, $"connecting to {address}:{connect.Port} failed: {e.Message}", "CONNECT", status: status);
            await WriteAsync(context, Denial.ForFault(status, cause, $"airlock: {cause}: {e.Message}", connect.Host.Value, connect.Port, "CONNECT", null, "The upstream could not be reached; this is not a policy decision.")).ConfigureAwait(false);
            return null;
        }
    }

    private async Task<PeekedHello> PeekClientHelloAsync(ConnectionContext context, ClientConnection connection)
    {
        var input = context.Transport.Input;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.ConnectionClosed);
        timeout.CancelAfter(limits.HeadTimeout);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                var status = ClientHello.TryParse(buffer, out var hello);
                if (status == ClientHelloParseStatus.Incomplete && !result.IsCompleted)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }

                // Peek only: leave every byte for whoever reads next (the relay, SslStream or Kestrel).
                var peeked = buffer.Slice(0, Math.Min(buffer.Length, 16)).ToArray();
                input.AdvanceTo(buffer.Start);
                return status == ClientHelloParseStatus.Incomplete
                    ? new PeekedHello(ClientHelloParseStatus.NotTls, null, peeked)
                    : new PeekedHello(status, hello?.ServerName, peeked);
            }
        }
        catch (OperationCanceledException) when (!context.ConnectionClosed.IsCancellationRequested)
        {
            session.Events.Error(connection, "head_timeout", session.Engine.Policy.Mode, "nothing arrived in the tunnel in time");
            return new PeekedHello(ClientHelloParseStatus.Malformed, null, []);
        }
    }

    private static (TlsMode Tls, RuleProtocol Protocol) ConnectionShape(EgressRule? rule, EgressPolicy policy) =>
        rule is { Kind: RuleKind.Allow } allow ? (allow.Tls, allow.Protocol) : (policy.Tls, RuleProtocol.Http);

    private static bool SameName(string serverName, CanonicalHost host) =>
        HostCanonicalizer.TryCanonicalize(serverName, out var canonical, out _) && canonical.Value == host.Value;

    private static bool LooksLikeHttp(byte[] peeked)
    {
        var end = Array.IndexOf(peeked, (byte)' ');
        if (end <= 0)
        {
            return false;
        }

        for (var i = 0; i < end; i++)
        {
            if (peeked[i] is < (byte)'A' or > (byte)'Z')
            {
                return false;
            }
        }

        return true;
    }

    private static string Printable(string text)
    {
        var builder = new StringBuilder(Math.Min(text.Length, 100));
        foreach (var c in text.AsSpan(0, Math.Min(text.Length, 100)))
        {
            builder.Append(char.IsControl(c) ? '?' : c);
        }

        return builder.ToString();
    }

    private static async Task WriteAsync(ConnectionContext context, Denial denial)
    {
        try
        {
            await context.Transport.Output.WriteAsync(denial.RawHttpResponse(), context.ConnectionClosed).ConfigureAwait(false);
            await context.Transport.Output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ConnectionResetException)
        {
            // The client is gone; the event has been written.
        }
    }

    private readonly record struct PeekedHello(ClientHelloParseStatus Status, string? ServerName, byte[] Peeked);
}
