using System.Globalization;
using System.Net.Sockets;
using System.Security.Authentication;
using Airlock.Policy.Decisions;
using Airlock.Policy.Hosts;
using Airlock.Policy.Http;
using Airlock.Policy.Model;
using Airlock.Proxy.Control;
using Airlock.Proxy.Denials;
using Airlock.Proxy.Events;
using Airlock.Proxy.Sessions;
using Airlock.Proxy.Tunnels;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;

namespace Airlock.Proxy.Forwarding;

/// <summary>
/// Handles every HTTP request Kestrel parsed: requests inside an intercepted (or plain) tunnel, and
/// absolute-form requests to the explicit front door. Each request is decided (connection rule, then the
/// rule's HTTP rules), its Host checked against the tunnel's name, then forwarded or refused with a readable
/// 403, and exactly one event is written for it.
/// </summary>
internal sealed class ProxyRequestHandler(
    ProxySession session,
    IHttpForwarder forwarder,
    HttpMessageInvoker upstream,
    ForwarderRequestConfig requestConfig,
    IAskBroker asks)
{
    public async Task HandleAsync(HttpContext context)
    {
        var items = context.Features.Get<IConnectionItemsFeature>()!.Items;
        var connection = (ClientConnection)items[typeof(ClientConnection)]!;
        var rawTarget = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        var method = context.Request.Method;
        var headers = context.Request.Headers;
        if (headers.ContainsKey("Transfer-Encoding") && (headers.ContainsKey("Content-Length") || headers.ContainsKey("X-Content-Length")))
        {
            // Kestrel frames such a request by Transfer-Encoding and renames Content-Length to X-Content-Length; the
            // smuggling shape is refused rather than repaired.
            await RefuseAsync(context, connection, EgressEventType.Request, Denial.ForReason(400, DecisionReason.MalformedRequest, connection.Host, connection.Port, method, Trim(rawTarget), "both Content-Length and Transfer-Encoding"), session.Engine.Policy.Mode).ConfigureAwait(false);
            return;
        }

        if (items.TryGetValue(typeof(Tunnel), out var tunnel) && tunnel is Tunnel inside)
        {
            await HandleInTunnelAsync(context, connection, inside, method, rawTarget).ConfigureAwait(false);
        }
        else
        {
            await HandleAbsoluteFormAsync(context, connection, method, rawTarget).ConfigureAwait(false);
        }
    }

    private async Task HandleInTunnelAsync(HttpContext context, ClientConnection connection, Tunnel tunnel, string method, string rawTarget)
    {
        var engine = session.Engine;
        var mode = engine.Policy.Mode;
        var pathAndQuery = rawTarget;
        if (tunnel.Refusal is { } refusal)
        {
            await WriteAsync(context, new Denial(403, $"airlock: egress to {tunnel.Host.Value}:{tunnel.Port} denied ({refusal.Reason}): {refusal.Detail}", refusal.Reason, tunnel.Host.Value, tunnel.Port, method, pathAndQuery, refusal.Rule, refusal.Hint)).ConfigureAwait(false);
            return;
        }

        // The Host (or :authority) and any absolute-form target must name the tunnel's host: no domain fronting.
        if (IsAbsoluteForm(rawTarget))
        {
            if (!TrySplitAbsolute(rawTarget, out _, out var targetHost, out var targetPort, out pathAndQuery)
                || !SameAuthority(targetHost, targetPort, tunnel))
            {
                await RefuseAsync(context, connection, EgressEventType.Request, Denial.ForReason(403, DecisionReason.HostMismatch, tunnel.Host.Value, tunnel.Port, method, pathAndQuery, $"the request targets '{Trim(rawTarget)}' inside a tunnel to {tunnel.Host.Value}"), mode).ConfigureAwait(false);
                return;
            }
        }

        var hostHeader = context.Request.Host;
        if (!hostHeader.HasValue || !SameAuthority(hostHeader.Host, hostHeader.Port, tunnel))
        {
            await RefuseAsync(context, connection, EgressEventType.Request, Denial.ForReason(403, DecisionReason.HostMismatch, tunnel.Host.Value, tunnel.Port, method, pathAndQuery, $"Host '{Trim(hostHeader.Value ?? string.Empty)}' inside a tunnel to {tunnel.Host.Value}"), mode).ConfigureAwait(false);
            return;
        }

        var connectionDecision = engine.Decide(tunnel.Host, tunnel.Port);
        if (connectionDecision.Verdict == Verdict.Pending && tunnel.Connection is { Reason: DecisionReason.AskApproved } approved)
        {
            // The control plane approved this tunnel when it opened; its requests do not ask again.
            connectionDecision = approved;
        }

        var decision = engine.DecideRequest(connectionDecision, method, pathAndQuery);
        await DecideAndForwardAsync(context, connection, tunnel, decision, method, pathAndQuery).ConfigureAwait(false);
    }

    private async Task HandleAbsoluteFormAsync(HttpContext context, ClientConnection connection, string method, string rawTarget)
    {
        var engine = session.Engine;
        var mode = engine.Policy.Mode;
        if (!IsAbsoluteForm(rawTarget) || !TrySplitAbsolute(rawTarget, out var scheme, out var rawHost, out var port, out var pathAndQuery))
        {
            await RefuseAsync(context, connection, EgressEventType.Request, Denial.ForReason(400, DecisionReason.MalformedRequest, null, null, method, Trim(rawTarget), "this is an egress proxy: send absolute-form requests (http://host/path) or CONNECT"), mode).ConfigureAwait(false);
            return;
        }

        connection.Scheme = scheme;
        connection.Port = port;
        if (!HostCanonicalizer.TryCanonicalize(rawHost, out var host, out var hostError))
        {
            connection.Host = Trim(rawHost);
            var malformed = engine.Decide(rawHost, port);
            await RefuseAsync(context, connection, EgressEventType.Request, Denial.ForReason(400, DecisionReason.MalformedHost, connection.Host, port, method, pathAndQuery, hostError), mode, malformed.Rule).ConfigureAwait(false);
            return;
        }

        connection.Host = host.Value;
        var connectionDecision = engine.Decide(host, port);
        if (connectionDecision.Verdict == Verdict.Pending)
        {
            connectionDecision = await asks.AskAsync(connection, connectionDecision, context.RequestAborted).ConfigureAwait(false) switch
            {
                AskOutcome.Allow => connectionDecision with { Verdict = Verdict.Allow, Reason = DecisionReason.AskApproved },
                AskOutcome.Deny => connectionDecision with { Verdict = Verdict.Deny, Reason = DecisionReason.AskDenied },
                _ => connectionDecision with { Verdict = Verdict.Deny, Reason = DecisionReason.AskTimeout },
            };
        }

        var decision = engine.DecideRequest(connectionDecision, method, pathAndQuery);
        if (decision.Verdict == Verdict.Deny && !decision.WouldDeny || decision.Verdict == Verdict.Pending)
        {
            await DenyAsync(context, connection, decision, method, pathAndQuery).ConfigureAwait(false);
            return;
        }

        var resolved = await session.Resolver.ResolveAsync(host, engine, context.RequestAborted).ConfigureAwait(false);
        if (resolved.Refusal is { } refusal)
        {
            await RefuseAsync(context, connection, EgressEventType.Request, Denial.ForReason(403, refusal, host.Value, port, method, pathAndQuery, resolved.Detail), mode, decision.Rule).ConfigureAwait(false);
            return;
        }

        if (!resolved.CanDial)
        {
            await FaultAsync(context, connection, 502, "dns_failure", resolved.Failure!, method, pathAndQuery, mode).ConfigureAwait(false);
            return;
        }

        connection.ResolvedIp = resolved.Address!.ToString();
        var tunnel = new Tunnel(host, port, scheme, resolved.Address, DialPort: resolved.DialPort);
        await DecideAndForwardAsync(context, connection, tunnel, decision, method, pathAndQuery).ConfigureAwait(false);
    }

    private async Task DecideAndForwardAsync(HttpContext context, ClientConnection connection, Tunnel tunnel, EgressDecision decision, string method, string pathAndQuery)
    {
        if (decision.Reason == DecisionReason.MalformedRequest)
        {
            // Malformed targets are refused even in audit mode.
            await RefuseAsync(context, connection, EgressEventType.Request, Denial.ForReason(400, DecisionReason.MalformedRequest, tunnel.Host.Value, tunnel.Port, method, Trim(pathAndQuery)), decision.Mode, decision.Rule).ConfigureAwait(false);
            return;
        }

        if (decision.Verdict == Verdict.Pending || decision.Verdict == Verdict.Deny && !decision.WouldDeny)
        {
            await DenyAsync(context, connection, decision, method, pathAndQuery).ConfigureAwait(false);
            return;
        }

        if (decision.IsAllowed && IsReadOnly(decision.Rule) && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
        {
            // A read-only rule is not a channel for uploads: a GET or HEAD with a body is refused.
            var readOnly = decision with { Verdict = Verdict.Deny, Reason = DecisionReason.NoMatchingHttpRule };
            if (!readOnly.WouldDeny)
            {
                await DenyAsync(context, connection, readOnly, method, pathAndQuery).ConfigureAwait(false);
                return;
            }

            decision = readOnly;
        }

        string? normalized = null;
        if (decision.Rule is { Http.IsDefaultOrEmpty: false })
        {
            // The rule's HTTP rules were matched on the normalised target: send exactly that upstream.
            normalized = RequestPath.TryParse(pathAndQuery, out var path, out _) ? path.PathAndQuery : null;
        }

        var injections = AirlockTransformer.Render(decision.IsAllowed ? decision.Rule : null, session.Secrets);
        if (injections is null)
        {
            await FaultAsync(context, connection, 502, "secret_unavailable", "a secret this rule injects was not given to the proxy", method, pathAndQuery, decision.Mode).ConfigureAwait(false);
            return;
        }

        var destination = string.Create(CultureInfo.InvariantCulture, $"{tunnel.Scheme}://{tunnel.Host.UriHost}:{tunnel.Port}");
        var started = session.Time.GetTimestamp();
        var metrics = session.Events.Metrics;
        var error = await forwarder.SendAsync(
            context,
            destination,
            upstream,
            requestConfig,
            new AirlockTransformer(tunnel.DialAddress!, tunnel.DialPort, normalized, injections, _ => metrics.ObserveUpstreamLatency(session.Time.GetElapsedTime(started)))).ConfigureAwait(false);

        if (error == ForwarderError.None)
        {
            session.Events.Decision(EgressEventType.Request, connection, decision, method, pathAndQuery, context.Response.StatusCode);
            return;
        }

        var (status, cause, detail) = Classify(error, context.GetForwarderErrorFeature()?.Exception);
        session.Events.Decision(EgressEventType.Request, connection, decision, method, pathAndQuery, status);
        if (status == 499)
        {
            return;
        }

        if (status == 400)
        {
            await RefuseAsync(context, connection, EgressEventType.Request, Denial.ForReason(400, DecisionReason.MalformedRequest, connection.Host, connection.Port, method, Trim(pathAndQuery), detail), decision.Mode).ConfigureAwait(false);
            return;
        }

        await FaultAsync(context, connection, status, cause, detail, method, pathAndQuery, decision.Mode).ConfigureAwait(false);
    }

    private async Task DenyAsync(HttpContext context, ClientConnection connection, EgressDecision decision, string method, string pathAndQuery)
    {
        var denial = Denial.ForDecision(decision, connection.Host ?? string.Empty, connection.Port, method, pathAndQuery);
        session.Events.Decision(EgressEventType.Request, connection, decision, method, pathAndQuery, denial.Status);
        await WriteAsync(context, denial).ConfigureAwait(false);
    }

    private async Task RefuseAsync(HttpContext context, ClientConnection connection, EgressEventType type, Denial denial, PolicyMode mode, EgressRule? rule = null)
    {
        session.Events.Refusal(type, connection, denial.Reason, mode, denial.Method, denial.Path, denial.Status, denial.Error, rule);
        await WriteAsync(context, denial).ConfigureAwait(false);
    }

    private async Task FaultAsync(HttpContext context, ClientConnection connection, int status, string cause, string detail, string method, string pathAndQuery, PolicyMode mode)
    {
        session.Events.Error(connection, cause, mode, detail, method, pathAndQuery, status);
        var hint = status == 504
            ? "The upstream did not answer in time; this is not a policy decision."
            : "The upstream could not be reached or failed; this is not a policy decision.";
        await WriteAsync(context, Denial.ForFault(status, cause, $"airlock: {cause}: {detail}", connection.Host, connection.Port, method, pathAndQuery, hint)).ConfigureAwait(false);
    }

    private static async Task WriteAsync(HttpContext context, Denial denial)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = denial.Status;
        context.Response.ContentType = "application/json";
        context.Response.Headers[Denial.DecisionHeader] = denial.DecisionValue;
        context.Response.Headers[Denial.ReasonHeader] = denial.Reason;
        var body = denial.JsonBody();
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body).ConfigureAwait(false);
    }

    private static (int Status, string Cause, string Detail) Classify(ForwarderError error, Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is BadHttpRequestException bad)
            {
                return (400, "malformed_request", $"the request body is malformed: {bad.Message}");
            }
        }

        if (error is ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.RequestBodyClient
            or ForwarderError.ResponseBodyCanceled or ForwarderError.ResponseBodyClient or ForwarderError.UpgradeRequestCanceled
            or ForwarderError.UpgradeRequestClient or ForwarderError.UpgradeResponseCanceled or ForwarderError.UpgradeResponseClient)
        {
            return (499, "client_closed", "the client went away");
        }

        if (error == ForwarderError.RequestTimedOut)
        {
            return (504, "upstream_timeout", "the upstream did not answer in time");
        }

        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case AuthenticationException:
                    return (502, "upstream_tls", $"TLS with the upstream failed: {e.Message}");
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused }:
                    return (502, "upstream_refused", "the upstream refused the connection");
                case SocketException { SocketErrorCode: SocketError.ConnectionReset }:
                    return (502, "upstream_reset", "the upstream reset the connection");
                case SocketException { SocketErrorCode: SocketError.TimedOut }:
                case TimeoutException:
                    return (504, "upstream_timeout", "connecting to the upstream timed out");
            }
        }

        return (502, "upstream_error", $"forwarding failed ({error})");
    }

    /// <summary>Whether every HTTP rule of <paramref name="rule"/> allows only methods without a request body.</summary>
    private static bool IsReadOnly(EgressRule? rule) =>
        rule is { Http.IsDefaultOrEmpty: false }
        && rule.Http.All(h => !h.Methods.IsDefaultOrEmpty && h.Methods.All(m => m is "GET" or "HEAD" or "OPTIONS"));

    private static bool IsAbsoluteForm(string target) =>
        target.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || target.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    private static bool TrySplitAbsolute(string target, out string scheme, out string host, out int port, out string pathAndQuery)
    {
        var schemeEnd = target.IndexOf("://", StringComparison.Ordinal);
        scheme = target[..schemeEnd].ToLowerInvariant();
        var rest = target[(schemeEnd + 3)..];
        var slash = rest.IndexOfAny(['/', '?']);
        var authority = slash < 0 ? rest : rest[..slash];
        pathAndQuery = slash < 0 ? "/" : rest[slash..];
        if (pathAndQuery.StartsWith('?'))
        {
            pathAndQuery = "/" + pathAndQuery;
        }

        port = scheme == "https" ? 443 : 80;
        host = authority;
        if (authority.Contains('@', StringComparison.Ordinal))
        {
            return false;
        }

        var portStart = authority.StartsWith('[') ? authority.IndexOf("]:", StringComparison.Ordinal) + 1 : authority.LastIndexOf(':');
        if (portStart > 0)
        {
            host = authority[..portStart];
            if (!int.TryParse(authority.AsSpan(portStart + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                return false;
            }
        }

        return host.Length > 0;
    }

    private static bool SameAuthority(string host, int? port, Tunnel tunnel)
    {
        if (port is { } explicitPort && explicitPort != tunnel.Port)
        {
            return false;
        }

        return HostCanonicalizer.TryCanonicalize(host, out var canonical, out _) && canonical.Value == tunnel.Host.Value;
    }

    private static string Trim(string text) => text.Length <= 200 ? text : text[..200] + "…";
}
