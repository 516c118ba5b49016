using Airlock.Policy.Decisions;

namespace Airlock.Proxy.Sessions;

/// <summary>How an ask ended.</summary>
internal enum AskOutcome
{
    /// <summary>The control plane approved the connection.</summary>
    Approved,

    /// <summary>The control plane refused it.</summary>
    Denied,

    /// <summary>Nobody answered within the rule's timeout (or no control plane is connected).</summary>
    TimedOut,
}

/// <summary>Holds a connection that matched an ask rule until the control plane answers.</summary>
internal interface IAskBroker
{
    Task<AskOutcome> AskAsync(ClientConnection connection, EgressDecision decision, CancellationToken cancellationToken);
}

/// <summary>Used when the proxy has no control channel: nobody can answer, so an ask is a timeout at once.</summary>
internal sealed class NoControlPlane : IAskBroker
{
    public Task<AskOutcome> AskAsync(ClientConnection connection, EgressDecision decision, CancellationToken cancellationToken) =>
        Task.FromResult(AskOutcome.TimedOut);
}
