using System.Threading.Channels;
using Airlock.Proxy.Control;
using Airlock.Server.Sessions;
using Airlock.Server.Store;
using Microsoft.Extensions.Logging;

namespace Airlock.Server.Approvals;

/// <summary>How a decision on an approval went.</summary>
public enum DecideOutcome
{
    /// <summary>Recorded and sent to the proxy (or queued for when it reconnects).</summary>
    Decided,

    /// <summary>No such approval.</summary>
    Unknown,

    /// <summary>It was decided or timed out before.</summary>
    AlreadyClosed,
}

/// <summary>
/// Held <c>ask</c> decisions: each ask a proxy sends is recorded once (a proxy repeats its asks on every
/// reconnection), offered to people through the API and the dashboard, and answered back to the proxy. A decision
/// made while the proxy was away is sent again when it asks again. Asks nobody answers are marked timed out when
/// they expire (the proxy denies them by itself). Approving "for this session" also amends the session's policy,
/// so the decision outlives the proxy's memory.
/// </summary>
public sealed partial class ApprovalDesk : IAsyncDisposable
{
    private readonly IServerStore _store;
    private readonly ControlPlaneListener _control;
    private readonly SessionPolicies _policies;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly List<Channel<ApprovalRecord>> _watchers = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _expiry;

    /// <summary>Starts the expiry sweep.</summary>
    public ApprovalDesk(IServerStore store, ControlPlaneListener control, SessionPolicies policies, ILogger logger, TimeSpan? sweepInterval = null)
    {
        _store = store;
        _control = control;
        _policies = policies;
        _logger = logger;
        _expiry = Task.Run(() => SweepAsync(sweepInterval ?? TimeSpan.FromSeconds(1)));
    }

    /// <summary>A proxy asks (for the first time, or again after reconnecting).</summary>
    public async ValueTask OnAskAsync(ProxyAsk ask, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ask);
        var now = DateTimeOffset.UtcNow;
        var inserted = await _store.InsertApprovalAsync(
            new NewApproval
            {
                Id = ask.AskId,
                Session = ask.Session,
                Host = ask.Host,
                Port = ask.Port,
                Rule = ask.Rule.Name,
                RequestedAt = now,
                ExpiresAt = now + TimeSpan.FromMilliseconds(Math.Max(0, ask.TimeoutMs)),
            },
            cancellationToken).ConfigureAwait(false);
        var record = await _store.GetApprovalAsync(ask.AskId, cancellationToken).ConfigureAwait(false);
        if (record is null || record.Session != ask.Session)
        {
            return;
        }

        if (inserted)
        {
            Log.Asked(_logger, ask.Session, ask.Host, ask.Port, ask.AskId);
            Publish(record);
        }
        else if (Answer(record) is { } answer)
        {
            // Decided while the proxy was away: tell it now.
            _control.TrySendDecision(record.Session, record.Id, answer);
        }
    }

    /// <summary>Approves or denies a pending approval, tells the proxy, and for a session-wide approval amends the policy.</summary>
    /// <param name="id">The approval (ask) id.</param>
    /// <param name="approve">True to approve.</param>
    /// <param name="scope">Once, or for the rest of the session.</param>
    /// <param name="decidedBy">Who decided (a token id).</param>
    /// <param name="cancellationToken">Gives up.</param>
    /// <returns>The outcome and the approval as it stands.</returns>
    public async Task<(DecideOutcome Outcome, ApprovalRecord? Approval)> DecideAsync(string id, bool approve, ApprovalScope scope, string decidedBy, CancellationToken cancellationToken)
    {
        if (!await _store.DecideApprovalAsync(id, approve, scope, decidedBy, cancellationToken).ConfigureAwait(false))
        {
            var current = await _store.GetApprovalAsync(id, cancellationToken).ConfigureAwait(false);
            if (current is { State: ApprovalState.Pending } && current.ExpiresAt <= DateTimeOffset.UtcNow)
            {
                await TimeOutAsync().ConfigureAwait(false);
                current = await _store.GetApprovalAsync(id, cancellationToken).ConfigureAwait(false);
            }

            return (current is null ? DecideOutcome.Unknown : DecideOutcome.AlreadyClosed, current);
        }

        var decided = await _store.GetApprovalAsync(id, CancellationToken.None).ConfigureAwait(false);
        if (decided is null)
        {
            return (DecideOutcome.Unknown, null);
        }

        Log.Decided(_logger, decided.Session, decided.Host, decided.Port, decided.State, scope, decidedBy);
        _control.TrySendDecision(decided.Session, decided.Id, Answer(decided)!.Value);
        Publish(decided);
        if (approve && scope == ApprovalScope.Session)
        {
            try
            {
                var amended = await _policies.AllowForSessionAsync(decided.Session, decided.Host, decided.Port, CancellationToken.None).ConfigureAwait(false);
                if (amended is { Outcome: not PolicyApplyOutcome.Active })
                {
                    Log.AmendNotActive(_logger, decided.Session, string.Join("; ", amended.Errors));
                }
            }
            catch (Exception e) when (e is ArgumentException or StoreException or System.Data.Common.DbException)
            {
                Log.AmendNotActive(_logger, decided.Session, e.Message);
            }
        }

        return (DecideOutcome.Decided, decided);
    }

    /// <summary>Every change from now on (a new ask, a decision, a timeout), until cancelled.</summary>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The changed approvals, as they change.</returns>
    public async IAsyncEnumerable<ApprovalRecord> WatchAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<ApprovalRecord>(new BoundedChannelOptions(1_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_gate)
        {
            _watchers.Add(channel);
        }

        try
        {
            await foreach (var record in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return record;
            }
        }
        finally
        {
            lock (_gate)
            {
                _watchers.Remove(channel);
            }
        }
    }

    private void Publish(ApprovalRecord record)
    {
        lock (_gate)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryWrite(record);
            }
        }
    }

    private static AskAnswer? Answer(ApprovalRecord record) => record switch
    {
        { State: ApprovalState.Approved } => new AskAnswer(AskOutcome.Allow, record.Scope == ApprovalScope.Session ? AskScope.Session : AskScope.Once),
        { State: ApprovalState.Denied } => new AskAnswer(AskOutcome.Deny, record.Scope == ApprovalScope.Session ? AskScope.Session : AskScope.Once),
        _ => null,
    };

    private async Task SweepAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                await TimeOutAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private async Task TimeOutAsync()
    {
        try
        {
            foreach (var expired in await _store.TimeOutExpiredApprovalsAsync(CancellationToken.None).ConfigureAwait(false))
            {
                Log.TimedOut(_logger, expired.Session, expired.Host, expired.Port);
                Publish(expired);
            }
        }
        catch (Exception e) when (e is StoreException or System.Data.Common.DbException)
        {
            Log.SweepFailed(_logger, e.Message);
        }
    }

    /// <summary>Stops the expiry sweep and ends every watcher's stream.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _expiry.ConfigureAwait(false);
        lock (_gate)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryComplete();
            }
        }

        _stopping.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 50, Level = LogLevel.Information, Message = "Session {Session} asks to reach {Host}:{Port} (approval {Id})")]
        public static partial void Asked(ILogger logger, string session, string host, int port, string id);

        [LoggerMessage(EventId = 51, Level = LogLevel.Information, Message = "Session {Session}: {Host}:{Port} {State} ({Scope}) by {DecidedBy}")]
        public static partial void Decided(ILogger logger, string session, string host, int port, ApprovalState state, ApprovalScope scope, string decidedBy);

        [LoggerMessage(EventId = 52, Level = LogLevel.Information, Message = "Session {Session}: nobody decided on {Host}:{Port} in time")]
        public static partial void TimedOut(ILogger logger, string session, string host, int port);

        [LoggerMessage(EventId = 53, Level = LogLevel.Warning, Message = "Session {Session}'s policy was not amended for a session-wide approval (the proxy still remembers it): {Error}")]
        public static partial void AmendNotActive(ILogger logger, string session, string error);

        [LoggerMessage(EventId = 54, Level = LogLevel.Warning, Message = "Could not time out expired approvals: {Error}")]
        public static partial void SweepFailed(ILogger logger, string error);
    }
}
