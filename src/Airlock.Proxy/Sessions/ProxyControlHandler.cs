using Airlock.Policy.Loading;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;

namespace Airlock.Proxy.Sessions;

/// <summary>
/// Applies <c>policy.update</c> messages: the text is validated like a policy file; a valid policy is swapped in
/// atomically for new connections and requests, an invalid one is rejected with its errors and the old one stays.
/// Either way a <c>policy</c> event records it.
/// </summary>
internal sealed class ProxyControlHandler(Func<ProxySession> session) : IControlHandler
{
    private string? _version;

    public string? PolicyVersion => Volatile.Read(ref _version);

    public ValueTask<PolicyUpdateResult> OnPolicyUpdateAsync(string version, string policyText, CancellationToken cancellationToken)
    {
        var current = session();
        var loaded = PolicyLoader.Parse(policyText, $"policy {version}");
        var connection = new ClientConnection("control", null, current.Time.GetUtcNow());
        if (loaded.Policy is null)
        {
            var errors = loaded.Errors.Select(e => e.ToString()).ToList();
            current.Events.Refusal(EgressEventType.Policy, connection, "policy_rejected", current.Engine.Policy.Mode, detail: $"policy {version} rejected: {string.Join("; ", errors)}");
            return ValueTask.FromResult(PolicyUpdateResult.Rejected(errors));
        }

        current.ReplacePolicy(loaded.Policy);
        Volatile.Write(ref _version, version);
        current.Events.Policy(connection, $"policy {version} applied", loaded.Policy.Mode);
        return ValueTask.FromResult(PolicyUpdateResult.Accepted);
    }
}

/// <summary>Sends every event to the control plane as its NDJSON line.</summary>
internal sealed class ControlEventSink(ControlChannel channel) : IEventSink
{
    public void Publish(EgressEvent egressEvent)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        EventJson.Write(buffer, egressEvent);
        channel.SendEvent(buffer.WrittenMemory);
    }
}
