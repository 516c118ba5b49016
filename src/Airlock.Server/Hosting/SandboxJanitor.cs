using Airlock.Sandboxes;
using Airlock.Server.Store;
using Microsoft.Extensions.Logging;
using StoredState = Airlock.Server.Store.SandboxState;

namespace Airlock.Server.Hosting;

/// <summary>What one pass changed.</summary>
/// <param name="Attached">Recorded sandboxes the driver still runs (their proxies reconnect and replay their spools by themselves).</param>
/// <param name="Gone">Recorded sandboxes the driver no longer runs (or that were left half-created by an earlier process), marked failed.</param>
/// <param name="Expired">Deleted for being past their TTL.</param>
/// <param name="Idle">Deleted for being idle past their idle timeout.</param>
/// <param name="Orphans">Sandboxes the driver ran that no live record owned, deleted.</param>
/// <param name="Finished">Deletions an earlier process started, finished.</param>
public sealed record JanitorPass(int Attached, int Gone, int Expired, int Idle, int Orphans, int Finished);

/// <summary>
/// Keeps the store and the driver in agreement, on start (the re-attach after a restart) and then periodically:
/// sandboxes still running are kept, dead ones are marked failed with the reason, ones past their TTL or idle
/// timeout are deleted, and sandboxes the driver runs without a live record (orphans) are deleted. Idleness is
/// never judged from a gap this gateway did not see: it counts from this process's start at the earliest, because
/// a proxy's spooled events arrive only after it reconnects.
/// </summary>
public sealed partial class SandboxJanitor(IServerStore store, ISandboxDriver driver, ILogger logger, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly DateTimeOffset _startedAt = (time ?? TimeProvider.System).GetUtcNow();

    /// <summary>Runs a pass now and then every <paramref name="interval"/> until cancelled; a failed pass is logged and the next one tries again.</summary>
    public async Task RunAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, _time);
        do
        {
            try
            {
                var pass = await PassAsync(cancellationToken).ConfigureAwait(false);
                if (pass != new JanitorPass(pass.Attached, 0, 0, 0, 0, 0))
                {
                    Log.Passed(logger, pass.Attached, pass.Gone, pass.Expired, pass.Idle, pass.Orphans, pass.Finished);
                }
            }
            catch (Exception e) when (e is SandboxException or StoreException or System.Data.Common.DbException or IOException)
            {
                Log.PassFailed(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>One pass.</summary>
    /// <exception cref="SandboxException">The driver cannot list its sandboxes.</exception>
    public async Task<JanitorPass> PassAsync(CancellationToken cancellationToken)
    {
        var running = (await driver.ListAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(s => s.Id, StringComparer.Ordinal);
        var now = _time.GetUtcNow();
        int attached = 0, gone = 0, expired = 0, idle = 0, orphans = 0, finished = 0;
        var owned = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var record in RecordsAsync([StoredState.Pending, StoredState.Ready, StoredState.Deleting], cancellationToken).ConfigureAwait(false))
        {
            running.TryGetValue(record.Id, out var live);
            if (record.State == StoredState.Deleting)
            {
                if (record.UpdatedAt >= Max(_startedAt, now - TimeSpan.FromMinutes(2)))
                {
                    owned.Add(record.Id); // this process is deleting it right now; one stuck for minutes is finished here
                    continue;
                }

                await RemoveAsync(record.Id, live, StoredState.Deleted, record.StateReason, cancellationToken).ConfigureAwait(false);
                finished++;
                continue;
            }

            if (record.State == StoredState.Pending)
            {
                if (record.CreatedAt >= _startedAt)
                {
                    owned.Add(record.Id); // this process is creating it right now
                }
                else
                {
                    await RemoveAsync(record.Id, live, StoredState.Failed, "the gateway stopped while the sandbox was being created", cancellationToken).ConfigureAwait(false);
                    gone++;
                }

                continue;
            }

            if (live is null || live.State != Airlock.Sandboxes.SandboxState.Running)
            {
                await RemoveAsync(record.Id, live, StoredState.Failed, live is null ? $"the {driver.Name} driver no longer runs the sandbox" : "the sandbox exited", cancellationToken).ConfigureAwait(false);
                gone++;
                continue;
            }

            if (record.ExpiresAt is { } expiresAt && expiresAt <= now)
            {
                await RemoveAsync(record.Id, live, StoredState.Deleted, $"expired: its time to live ended at {expiresAt:u}", cancellationToken).ConfigureAwait(false);
                expired++;
                continue;
            }

            var activeSince = Max(record.LastActivityAt ?? record.CreatedAt, _startedAt);
            if (record.IdleTimeoutSeconds is { } idleSeconds && now - activeSince >= TimeSpan.FromSeconds(idleSeconds))
            {
                await RemoveAsync(record.Id, live, StoredState.Deleted, $"idle: no egress and no command for {idleSeconds} s", cancellationToken).ConfigureAwait(false);
                idle++;
                continue;
            }

            owned.Add(record.Id);
            attached++;
        }

        foreach (var orphan in running.Keys.Where(id => !owned.Contains(id)))
        {
            // Records are read after the driver's list: a sandbox created in between has a record, so is owned.
            await driver.DeleteAsync(orphan, cancellationToken).ConfigureAwait(false);
            Log.OrphanRemoved(logger, orphan);
            orphans++;
        }

        return new JanitorPass(attached, gone, expired, idle, orphans, finished);
    }

    private async Task RemoveAsync(string id, SandboxInfo? live, StoredState final, string? reason, CancellationToken cancellationToken)
    {
        if (live is not null)
        {
            await store.UpdateSandboxStateAsync(id, StoredState.Deleting, reason, cancellationToken).ConfigureAwait(false);
            await driver.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        }

        await store.UpdateSandboxStateAsync(id, final, reason, CancellationToken.None).ConfigureAwait(false);
        Log.Removed(logger, id, final, reason ?? "deleted");
    }

    private async IAsyncEnumerable<SandboxRecord> RecordsAsync(StoredState[] states, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? after = null;
        do
        {
            var page = await store.ListSandboxesAsync(new SandboxQuery { States = states, After = after, Limit = SandboxQuery.MaxLimit }, cancellationToken).ConfigureAwait(false);
            foreach (var record in page.Items)
            {
                yield return record;
            }

            after = page.NextCursor;
        }
        while (after is not null);
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static partial class Log
    {
        [LoggerMessage(EventId = 60, Level = LogLevel.Information, Message = "Reconciled with the driver: {Attached} running, {Gone} gone, {Expired} expired, {Idle} idle, {Orphans} orphans removed, {Finished} deletions finished")]
        public static partial void Passed(ILogger logger, int attached, int gone, int expired, int idle, int orphans, int finished);

        [LoggerMessage(EventId = 61, Level = LogLevel.Warning, Message = "Reconciling with the driver failed (the next pass tries again): {Error}")]
        public static partial void PassFailed(ILogger logger, string error);

        [LoggerMessage(EventId = 62, Level = LogLevel.Information, Message = "Sandbox {Sandbox} is {State}: {Reason}")]
        public static partial void Removed(ILogger logger, string sandbox, StoredState state, string reason);

        [LoggerMessage(EventId = 63, Level = LogLevel.Warning, Message = "Deleted sandbox {Sandbox}: the driver ran it but no live record owns it")]
        public static partial void OrphanRemoved(ILogger logger, string sandbox);
    }
}
