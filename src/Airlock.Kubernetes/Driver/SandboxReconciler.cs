using Airlock.Kubernetes.Lifecycle;
using Airlock.Sandboxes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Airlock.Kubernetes.Driver;

/// <summary>
/// Runs <see cref="KubernetesSandboxDriver.CollectAsync"/> periodically: sessions that are orphans, past their TTL or
/// idle are deleted; a pass that fails (the API server away) is logged and the next one runs on time. Nothing is
/// ever recreated.
/// </summary>
/// <param name="driver">The driver whose namespace is reconciled.</param>
/// <param name="liveSessions">The sessions the control plane runs now; a null answer disables orphan collection for that pass.</param>
/// <param name="interval">Time between passes.</param>
/// <param name="logger">Logs what was deleted and failed passes.</param>
/// <param name="time">The clock.</param>
public sealed partial class SandboxReconciler(
    KubernetesSandboxDriver driver,
    Func<CancellationToken, Task<IReadOnlySet<string>?>> liveSessions,
    TimeSpan interval,
    ILogger? logger = null,
    TimeProvider? time = null)
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly List<CollectedSession> _collected = [];

    /// <summary>How many passes failed since the start.</summary>
    public int FailedPasses { get; private set; }

    /// <summary>Every session deleted since the start.</summary>
    public IReadOnlyList<CollectedSession> Collected
    {
        get
        {
            lock (_collected)
            {
                return [.. _collected];
            }
        }
    }

    /// <summary>One pass now.</summary>
    public async Task<IReadOnlyList<CollectedSession>> RunOnceAsync(CancellationToken cancellationToken)
    {
        var live = await liveSessions(cancellationToken).ConfigureAwait(false);
        var collected = await driver.CollectAsync(live, cancellationToken).ConfigureAwait(false);
        foreach (var session in collected)
        {
            Log.Collected(_logger, session.Session, session.Reason);
        }

        lock (_collected)
        {
            _collected.AddRange(collected);
        }

        return collected;
    }

    /// <summary>Passes every <c>interval</c> until cancelled (the first one at once).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SandboxException or AggregateException or HttpRequestException)
            {
                FailedPasses++;
                Log.PassFailed(_logger, e.Message);
            }

            try
            {
                await Task.Delay(interval, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Deleted sandbox {Session}: {Reason}")]
        public static partial void Collected(ILogger logger, string session, string reason);

        [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "A reconciler pass failed (the next one runs on time): {Error}")]
        public static partial void PassFailed(ILogger logger, string error);
    }
}
