using Airlock.Policy.Decisions;
using Airlock.Policy.Model;
using Airlock.Proxy.Events;
using Airlock.Proxy.Metrics;
using Airlock.Proxy.Resolution;

namespace Airlock.Proxy.Sessions;

/// <summary>
/// Everything one session's proxy shares across connections. The decision engine is swapped atomically on
/// hot reload: a connection or request reads <see cref="Engine"/> once and decides with that snapshot.
/// </summary>
internal sealed class ProxySession
{
    private EgressDecisionEngine _engine;

    public ProxySession(
        string id,
        EgressPolicy policy,
        DestinationResolver resolver,
        IEventSink events,
        Func<string, string?> secrets,
        TimeProvider time,
        ProxyMetrics metrics)
    {
        Id = id;
        _engine = EgressDecisionEngine.Compile(policy);
        Resolver = resolver;
        Events = new ProxyEvents(id, events, time, metrics);
        Secrets = secrets;
        Time = time;
        Events.Redactor = RedactorFor(policy);
    }

    public string Id { get; }

    public EgressDecisionEngine Engine => Volatile.Read(ref _engine);

    public DestinationResolver Resolver { get; }

    public ProxyEvents Events { get; }

    /// <summary>Looks up a secret for injection by name; null when the proxy has no such secret.</summary>
    public Func<string, string?> Secrets { get; }

    public TimeProvider Time { get; }

    /// <summary>Swaps in a new, already validated policy for new connections and requests.</summary>
    public void ReplacePolicy(EgressPolicy policy)
    {
        var engine = EgressDecisionEngine.Compile(policy);
        Events.Redactor = RedactorFor(policy);
        Volatile.Write(ref _engine, engine);
    }

    /// <summary>The policy's <c>redact</c> patterns plus the value of every secret its rules inject.</summary>
    private EventRedactor RedactorFor(EgressPolicy policy)
    {
        var redactor = new EventRedactor(policy.Redact);
        var names = policy.Egress.SelectMany(r => r.Inject).SelectMany(i => i.Value.SecretNames).Distinct(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (Secrets(name) is { } value)
            {
                redactor.AddSecret(value);
            }
        }

        return redactor;
    }
}
