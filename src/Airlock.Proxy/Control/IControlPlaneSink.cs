using Airlock.Proxy.Events;

namespace Airlock.Proxy.Control;

/// <summary>The first line of every connection from a proxy.</summary>
/// <param name="Session">The session the proxy serves (for a warm-pool pod, its pod name until claimed).</param>
/// <param name="ProxyVersion">The proxy's version.</param>
/// <param name="PolicyVersion">The version of the policy it enforces now; null for the one it started with.</param>
/// <param name="SpoolOverflow">Events the proxy could not keep while disconnected, cumulative.</param>
public sealed record ProxyHello(string Session, string? ProxyVersion, string? PolicyVersion, long SpoolOverflow);

/// <summary>A connection a proxy holds until the control plane decides (<c>ask.request</c>).</summary>
/// <param name="Session">The proxy's session.</param>
/// <param name="AskId">What the <c>decision</c> must name.</param>
/// <param name="Conn">The held connection's id (the <c>conn</c> of its events).</param>
/// <param name="Host">The destination host.</param>
/// <param name="Port">The destination port.</param>
/// <param name="Rule">The rule that asked.</param>
/// <param name="TimeoutMs">How long the proxy still waits before it denies.</param>
public sealed record ProxyAsk(string Session, string AskId, string Conn, string Host, int Port, AskRule Rule, long TimeoutMs);

/// <summary>
/// Where a <see cref="ControlPlaneListener"/> delivers what proxies send. Calls for one connection come one at a
/// time and in order. Events are acknowledged to the proxy once <see cref="WhenStoredAsync"/> says they are
/// stored; until then the proxy keeps them and resends them on its next connection, so the sink de-duplicates by
/// event id.
/// </summary>
public interface IControlPlaneSink
{
    /// <summary>A proxy connected and said hello.</summary>
    ValueTask OnConnectedAsync(ProxyHello hello, CancellationToken cancellationToken);

    /// <summary>An event from a proxy (possibly one already delivered: de-duplicate by <see cref="EgressEvent.Id"/>).</summary>
    ValueTask OnEventAsync(string session, EgressEvent egressEvent, CancellationToken cancellationToken);

    /// <summary>A proxy holds a connection and waits for <see cref="ControlPlaneListener.TrySendDecision"/>; the same ask comes again on every reconnection until answered.</summary>
    ValueTask OnAskAsync(ProxyAsk ask, CancellationToken cancellationToken);

    /// <summary>A proxy's connection ended.</summary>
    ValueTask OnDisconnectedAsync(string session, string reason);

    /// <summary>
    /// Completes when every event this sink has taken so far is stored durably; the listener then acknowledges them
    /// to their proxies (<c>events.ack</c>), which until then keep them to resend. A sink that keeps events only in
    /// memory has nothing to wait for.
    /// </summary>
    ValueTask WhenStoredAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>Egress events of a session, as a control plane collected them.</summary>
public interface IEgressEventSource
{
    /// <summary>The session's events so far, in arrival order; with <paramref name="follow"/>, then new ones as they come, until cancelled.</summary>
    IAsyncEnumerable<EgressEvent> EventsAsync(string session, bool follow, CancellationToken cancellationToken);

    /// <summary>
    /// When the session last showed egress: its newest event's arrival or, when none arrived, when this source began
    /// observing (so a control plane that just restarted never judges a session idle from a gap it did not see).
    /// </summary>
    DateTimeOffset LastActivity(string session);
}
