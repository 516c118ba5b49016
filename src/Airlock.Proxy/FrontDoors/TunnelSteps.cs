using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Airlock.Policy.Decisions;
using Airlock.Policy.Hosts;
using Airlock.Policy.Model;
using Airlock.Proxy.Control;
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

/// <summary>What the first bytes of a tunnel turned out to be.</summary>
/// <param name="Status">TLS ClientHello parsed, not TLS, or malformed.</param>
/// <param name="ServerName">The SNI, when TLS carried one.</param>
/// <param name="Peeked">The first bytes (to recognise plain HTTP).</param>
internal readonly record struct PeekedHello(ClientHelloParseStatus Status, string? ServerName, byte[] Peeked)
{
    public bool IsTls => Status == ClientHelloParseStatus.Parsed;
}

/// <summary>
/// The steps both front doors take once a destination is named: deciding (with asks), resolving and
/// classifying, dialling, peeking, relaying and intercepting. Refusals are written before any tunnel exists
/// as raw HTTP responses; refusals inside a tunnel are answered by the request handler.
/// </summary>
internal sealed class TunnelSteps(ProxySession session, Func<string, SslStreamCertificateContext> certificates, IAskBroker asks, ProxyLimits limits)
{
    public ProxySession Session => session;

    public ProxyLimits Limits => limits;

    /// <summary>
    /// Runs one client connection through a front door: counts its bytes, lets Kestrel's own refusals be recorded
    /// on it, and writes its one <c>close</c> event however it ends.
    /// </summary>
    public async Task RunConnectionAsync(
        ConnectionContext context,
        ConnectionDelegate next,
        BadRequestEvents badRequests,
        Func<ConnectionContext, ClientConnection, ConnectionDelegate, Task> handle)
    {
        var connection = new ClientConnection(session.Events.NewConnectionId(), context.RemoteEndPoint?.ToString(), session.Time.GetUtcNow());
        var counting = new CountingDuplexPipe(context.Transport);
        context.Transport = counting;
        context.Items[typeof(ClientConnection)] = connection;
        badRequests.Track(context.ConnectionId, connection);
        try
        {
            await handle(context, connection, next).ConfigureAwait(false);
        }
        finally
        {
            badRequests.Forget(context.ConnectionId);
            session.Events.Close(connection, session.Engine.Policy.Mode, counting.BytesIn, counting.BytesOut);
        }
    }

    /// <summary>Decides a connection; ask rules wait for the control plane here.</summary>
    public async Task<EgressDecision> DecideAsync(EgressDecisionEngine engine, ClientConnection connection, CanonicalHost host, int port, CancellationToken cancellationToken)
    {
        var decision = engine.Decide(host, port);
        if (decision.Verdict != Verdict.Pending)
        {
            return decision;
        }

        var outcome = await asks.AskAsync(connection, decision, cancellationToken).ConfigureAwait(false);
        return outcome switch
        {
            AskOutcome.Allow => decision with { Verdict = Verdict.Allow, Reason = DecisionReason.AskApproved },
            AskOutcome.Deny => decision with { Verdict = Verdict.Deny, Reason = DecisionReason.AskDenied },
            _ => decision with { Verdict = Verdict.Deny, Reason = DecisionReason.AskTimeout },
        };
    }

    /// <summary>How an allowed connection is carried: the rule's TLS mode and protocol (policy default without a rule).</summary>
    public static (TlsMode Tls, RuleProtocol Protocol) Shape(EgressRule? rule, EgressPolicy policy) =>
        rule is { Kind: RuleKind.Allow } allow ? (allow.Tls, allow.Protocol) : (policy.Tls, RuleProtocol.Http);

    public async Task<Socket?> DialAsync(ConnectionContext context, ClientConnection connection, IPAddress address, CanonicalHost host, int port, PolicyMode mode, bool answerWithHttp)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.ConnectionClosed);
        timeout.CancelAfter(limits.ConnectTimeout);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(address, port), timeout.Token).ConfigureAwait(false);
            return socket;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            var (status, cause) = e switch
            {
                SocketException { SocketErrorCode: SocketError.ConnectionRefused } => (502, "upstream_refused"),
                OperationCanceledException => (504, "upstream_timeout"),
                _ => (502, "upstream_error"),
            };
            session.Events.Error(connection, cause, mode, $"connecting to {address}:{port} failed: {e.Message}", status: status);
            if (answerWithHttp)
            {
                await WriteRawAsync(context, Denial.ForFault(status, cause, $"airlock: {cause}: {e.Message}", host.Value, port, "CONNECT", null, "The upstream could not be reached; this is not a policy decision.")).ConfigureAwait(false);
            }

            return null;
        }
    }

    /// <summary>Peeks the first bytes of a tunnel without consuming them.</summary>
    public async Task<PeekedHello> PeekAsync(ConnectionContext context, ClientConnection connection)
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

                // Peek only: every byte stays for whoever reads next (the relay, SslStream or Kestrel).
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

    /// <summary>Terminates TLS with a leaf for <paramref name="certificateName"/> and hands the connection to Kestrel's HTTP pipeline.</summary>
    public async Task InterceptAsync(ConnectionContext context, ClientConnection connection, string certificateName, Tunnel tunnel, ConnectionDelegate next)
    {
        var ssl = new SslStream(new DuplexPipeStream(context.Transport), leaveInnerStreamOpen: false);
        await using (ssl.ConfigureAwait(false))
        {
            using var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(context.ConnectionClosed);
            handshakeTimeout.CancelAfter(limits.HeadTimeout);
            var started = session.Time.GetTimestamp();
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
            catch (Exception e) when (e is IOException or AuthenticationException or OperationCanceledException)
            {
                session.Events.Error(connection, "client_tls", session.Engine.Policy.Mode, $"the TLS handshake with the client failed: {e.Message}");
                return;
            }

            session.Events.Metrics.ObserveHandshake(session.Time.GetElapsedTime(started));
            var features = new TlsFeatures(ssl) { HostName = certificateName };
            context.Features.Set<ITlsConnectionFeature>(features);
            context.Features.Set<ITlsApplicationProtocolFeature>(features);
            context.Features.Set<ITlsHandshakeFeature>(features);
            context.Transport = new DuplexPipe(
                PipeReader.Create(ssl, new StreamPipeReaderOptions(leaveOpen: true)),
                PipeWriter.Create(ssl, new StreamPipeWriterOptions(leaveOpen: true)));
            context.Items[typeof(Tunnel)] = tunnel;
            await next(context).ConfigureAwait(false);
        }
    }

    /// <summary>Records a refusal of a whole connection and returns it for in-band answers.</summary>
    public TunnelRefusal Refuse(ClientConnection connection, EgressEventType type, string reason, string detail, EgressRule? rule, string hint, PolicyMode mode)
    {
        session.Events.Refusal(type, connection, reason, mode, detail: detail, rule: rule);
        return new TunnelRefusal(reason, detail, rule, hint);
    }

    public static bool SameName(string serverName, CanonicalHost host) =>
        HostCanonicalizer.TryCanonicalize(serverName, out var canonical, out _) && canonical.Value == host.Value;

    public static bool LooksLikeHttp(byte[] peeked)
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

    public static string Printable(string text)
    {
        var builder = new StringBuilder(Math.Min(text.Length, 100));
        foreach (var c in text.AsSpan(0, Math.Min(text.Length, 100)))
        {
            builder.Append(char.IsControl(c) ? '?' : c);
        }

        return builder.ToString();
    }

    public static async Task WriteRawAsync(ConnectionContext context, Denial denial)
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
}
