using System.Collections.Concurrent;
using Airlock.Policy.Decisions;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;

namespace Airlock.Proxy.Sessions;

/// <summary>Holds a connection that matched an ask rule until the control plane answers.</summary>
internal interface IAskBroker
{
    Task<AskOutcome> AskAsync(ClientConnection connection, EgressDecision decision, CancellationToken cancellationToken);
}

/// <summary>Used when the proxy has no control channel: nobody can answer, so an ask is a timeout at once.</summary>
internal sealed class NoControlPlane : IAskBroker
{
    public Task<AskOutcome> AskAsync(ClientConnection connection, EgressDecision decision, CancellationToken cancellationToken) =>
        Task.FromResult(AskOutcome.Timeout);
}

/// <summary>
/// Asks the control plane over the control channel, after writing an <c>ask</c> event. An answer "always for
/// this session" is remembered for the host and port, so later connections are not held again.
/// </summary>
internal sealed class ControlPlaneAsks(ControlChannel channel, ProxyEvents events) : IAskBroker
{
    /// <summary>How long an ask rule without a <c>timeout</c> waits.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<(string Host, int Port), AskOutcome> _sessionAnswers = new();

    public async Task<AskOutcome> AskAsync(ClientConnection connection, EgressDecision decision, CancellationToken cancellationToken)
    {
        var key = (connection.Host ?? string.Empty, connection.Port ?? 0);
        if (_sessionAnswers.TryGetValue(key, out var remembered))
        {
            return remembered;
        }

        var rule = decision.Rule!;
        events.Decision(EgressEventType.Ask, connection, decision);
        var answer = await channel.AskAsync(
            new AskRequest
            {
                Conn = connection.Id,
                Host = key.Item1,
                Port = key.Item2,
                Rule = new AskRule(rule.Index, rule.KindName, rule.Name),
            },
            rule.Timeout ?? DefaultTimeout,
            cancellationToken).ConfigureAwait(false);
        if (answer.Scope == AskScope.Session && answer.Outcome != AskOutcome.Timeout)
        {
            _sessionAnswers[key] = answer.Outcome;
        }

        return answer.Outcome;
    }
}
