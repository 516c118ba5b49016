using System.Globalization;
using System.Text.Json.Nodes;

namespace Airlock.Kubernetes.Lifecycle;

/// <summary>Why a sandbox's objects could not be created; the objects made so far have been deleted.</summary>
public sealed class SandboxCreateException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SandboxCreateException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public SandboxCreateException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public SandboxCreateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A session the reconciler deleted.</summary>
/// <param name="Session">Its id.</param>
/// <param name="Reason">Why: unknown to the control plane, past its TTL, or idle.</param>
public sealed record CollectedSession(string Session, string Reason);

/// <summary>
/// Creates, deletes and collects a sandbox's objects in a cluster. Creation goes in the given order (the
/// builders put NetworkPolicies first, so the deny is in place before any pod exists; Secrets before the pods
/// that mount them), then every other object gets an owner reference to the workload, so the cluster's garbage
/// collector is the backstop; then it waits for the workload to be ready. Any failure at any step deletes
/// everything created so far, with a fresh cancellation token, tolerating NotFound, and the caller gets the
/// original error.
/// </summary>
public sealed class SandboxLifecycle(KubernetesRest rest, TimeProvider? timeProvider = null)
{
    private static readonly TimeSpan RollbackTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    /// <summary>Creates the objects in order, adds owner references to <paramref name="workload"/>, and waits for it to be ready.</summary>
    /// <param name="objects">Every object of the sandbox, in create order; <paramref name="workload"/> among them.</param>
    /// <param name="workload">The object the others are owned by, whose readiness ends the wait (a Pod, Sandbox or SandboxClaim).</param>
    /// <param name="readyTimeout">How long to wait for readiness.</param>
    /// <param name="cancellationToken">Cancels creation (what was created is still rolled back).</param>
    /// <returns>The objects as the server stored them.</returns>
    /// <exception cref="KubernetesApiException">The server refused a step (the original error, after the rollback).</exception>
    /// <exception cref="SandboxCreateException">The workload did not become ready in time, or failed.</exception>
    public async Task<IReadOnlyList<JsonObject>> CreateAsync(IReadOnlyList<ClusterObject> objects, ClusterObject workload, TimeSpan readyTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(objects);
        ArgumentNullException.ThrowIfNull(workload);
        if (!objects.Contains(workload))
        {
            throw new ArgumentException("the workload must be one of the objects", nameof(workload));
        }

        var created = new List<(ClusterObject Object, JsonObject Stored)>();

        // A create that was cancelled or timed out may still have happened on the server: roll back every attempt.
        var attempted = new List<ClusterObject>();
        try
        {
            foreach (var obj in objects)
            {
                attempted.Add(obj);
                try
                {
                    created.Add((obj, await rest.CreateAsync(obj, cancellationToken).ConfigureAwait(false)));
                }
                catch (KubernetesApiException)
                {
                    // The server answered no: nothing was created (and a 409 names someone else's object: never delete it).
                    attempted.Remove(obj);
                    throw;
                }
            }

            var owner = created.Single(c => c.Object == workload).Stored;
            var reference = new JsonObject
            {
                ["apiVersion"] = workload.ApiVersion,
                ["kind"] = workload.Kind,
                ["name"] = workload.Name,
                ["uid"] = (string?)owner["metadata"]?["uid"] ?? throw new SandboxCreateException($"{workload.Description} came back without a uid"),
                ["blockOwnerDeletion"] = true,
            };
            foreach (var (obj, _) in created.Where(c => c.Object != workload))
            {
                await rest.PatchAsync(obj.Path, new JsonObject { ["metadata"] = new JsonObject { ["ownerReferences"] = new JsonArray(reference.DeepClone()) } }, cancellationToken).ConfigureAwait(false);
            }

            await WaitReadyAsync(workload, readyTimeout, cancellationToken).ConfigureAwait(false);
            return [.. created.Select(c => c.Stored)];
        }
        catch (Exception e) when (e is KubernetesApiException or SandboxCreateException or OperationCanceledException or HttpRequestException)
        {
            await RollBackAsync(attempted).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Deletes objects (foreground), each independently: one that is missing or refused never stops the others.</summary>
    /// <returns>How many were there to delete.</returns>
    /// <exception cref="AggregateException">Some deletions failed for another reason than NotFound (after trying all).</exception>
    public async Task<int> DeleteAsync(IEnumerable<ClusterObject> objects, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(objects);
        var deleted = 0;
        var failures = new List<Exception>();
        foreach (var obj in objects)
        {
            try
            {
                deleted += await rest.DeleteAsync(obj.Path, cancellationToken).ConfigureAwait(false) ? 1 : 0;
            }
            catch (Exception e) when (e is KubernetesApiException or HttpRequestException)
            {
                failures.Add(e);
            }
        }

        return failures.Count == 0 ? deleted : throw new AggregateException($"{failures.Count} deletions failed", failures);
    }

    /// <summary>
    /// Deletes every object of a session found by its label, whatever the caller still remembers of it (after a
    /// control-plane restart, say): workloads first, NetworkPolicies last, so the deny outlives the pods.
    /// </summary>
    public async Task<int> DeleteSessionAsync(string @namespace, string sessionId, CancellationToken cancellationToken)
    {
        var found = await FindAsync(@namespace, $"{KubernetesLabels.ManagedBy}={KubernetesLabels.ManagedByValue},{KubernetesLabels.Session}={sessionId}", cancellationToken).ConfigureAwait(false);
        return await DeleteAsync(found, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes the objects of sessions that are over: unknown to the control plane (orphans), past their
    /// <see cref="KubernetesAnnotations.ExpiresAt"/>, or idle longer than their
    /// <see cref="KubernetesAnnotations.IdleTimeoutSeconds"/>. Recreates nothing.
    /// </summary>
    /// <param name="namespace">Where to look.</param>
    /// <param name="liveSessions">Sessions the control plane still runs; null when it keeps no list (then only expiry and idleness collect).</param>
    /// <param name="lastActivity">When a session last sent egress (given its id and its objects); null, or a null answer: idleness is not judged.</param>
    /// <param name="cancellationToken">Cancels the pass.</param>
    /// <returns>The sessions whose objects were deleted, with why.</returns>
    public async Task<IReadOnlyList<CollectedSession>> CollectAsync(
        string @namespace,
        IReadOnlySet<string>? liveSessions,
        Func<string, IReadOnlyList<ClusterObject>, DateTimeOffset?>? lastActivity,
        CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var objects = await FindAsync(@namespace, $"{KubernetesLabels.ManagedBy}={KubernetesLabels.ManagedByValue}", cancellationToken).ConfigureAwait(false);
        var collected = new List<CollectedSession>();
        foreach (var session in objects.GroupBy(o => (string?)o.Body["metadata"]?["labels"]?[KubernetesLabels.Session] ?? string.Empty))
        {
            var members = session.ToList();
            string? why = session.Key.Length == 0 ? null // A warm pool's objects carry no session: the pool owns them.
                : liveSessions is not null && !liveSessions.Contains(session.Key) ? "unknown to the control plane"
                : members.Any(o => Expired(o, now)) ? "past its TTL"
                : Idle(members, lastActivity?.Invoke(session.Key, members), now) is { } idle ? $"idle for {idle.TotalMinutes:0} min"
                : null;
            if (why is null)
            {
                continue;
            }

            await DeleteAsync(members, cancellationToken).ConfigureAwait(false);
            collected.Add(new CollectedSession(session.Key, why));
        }

        return collected;
    }

    private static bool Expired(ClusterObject obj, DateTimeOffset now) =>
        (string?)obj.Body["metadata"]?["annotations"]?[KubernetesAnnotations.ExpiresAt] is { } text
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expires)
        && expires <= now;

    /// <summary>How long a session has been idle past its idle timeout; null when it is not (or cannot be judged).</summary>
    private static TimeSpan? Idle(List<ClusterObject> members, DateTimeOffset? lastActivity, DateTimeOffset now)
    {
        if (lastActivity is null)
        {
            return null;
        }

        var timeout = members
            .Select(o => long.TryParse((string?)o.Body["metadata"]?["annotations"]?[KubernetesAnnotations.IdleTimeoutSeconds], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? seconds : (long?)null)
            .FirstOrDefault(s => s is > 0);
        var created = members
            .Select(o => DateTimeOffset.TryParse((string?)o.Body["metadata"]?["creationTimestamp"], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : (DateTimeOffset?)null)
            .Where(t => t is not null)
            .DefaultIfEmpty(null)
            .Max();
        var since = created is { } c && c > lastActivity.Value ? c : lastActivity.Value;
        return timeout is { } limit && now - since > TimeSpan.FromSeconds(limit) ? now - since : null;
    }

    /// <summary>Every managed object matching a selector, workloads first and NetworkPolicies last.</summary>
    private async Task<List<ClusterObject>> FindAsync(string @namespace, string selector, CancellationToken cancellationToken)
    {
        var found = new List<ClusterObject>();
        foreach (var (apiVersion, kind, plural) in ClusterObject.ManagedKinds.Reverse())
        {
            IReadOnlyList<JsonObject> items;
            try
            {
                items = await rest.ListAsync(ClusterObject.CollectionPathOf(apiVersion, plural, @namespace), selector, cancellationToken).ConfigureAwait(false);
            }
            catch (KubernetesApiException e) when ((e.IsNotFound || e.Status == System.Net.HttpStatusCode.Forbidden) && apiVersion.Contains("agents.x-k8s.io/", StringComparison.Ordinal))
            {
                // The agent-sandbox CRDs are not installed, or this control plane may not use them (its Role has no
                // rules for them, so it cannot have created any): there are none of its objects of that kind.
                continue;
            }

            foreach (var item in items)
            {
                item["apiVersion"] ??= apiVersion;
                item["kind"] ??= kind;
                found.Add(ClusterObject.From(item));
            }
        }

        return found;
    }

    private async Task WaitReadyAsync(ClusterObject workload, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + timeout;
        var last = "not seen yet";
        while (true)
        {
            if (await rest.GetAsync(workload.Path, cancellationToken).ConfigureAwait(false) is { } current)
            {
                var (ready, failed, detail) = Readiness(current);
                if (ready)
                {
                    return;
                }

                if (failed)
                {
                    throw new SandboxCreateException($"{workload.Description} failed: {detail}");
                }

                last = detail;
            }

            if (_time.GetUtcNow() >= deadline)
            {
                throw new SandboxCreateException($"{workload.Description} was not ready after {timeout.TotalSeconds:0} s: {last}");
            }

            await Task.Delay(PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A workload is ready when its <c>Ready</c> condition is True (Pods, agent-sandbox Sandboxes and claims alike;
    /// a Sandbox has no phase). A Pod that ended (Failed, Succeeded) never will be.
    /// </summary>
    internal static (bool Ready, bool Failed, string Detail) Readiness(JsonObject obj)
    {
        var status = obj["status"] as JsonObject;
        var phase = (string?)status?["phase"];
        var conditions = (status?["conditions"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var ready = conditions.FirstOrDefault(c => (string?)c["type"] == "Ready");
        var detail = string.Join("; ", conditions.Select(c => $"{c["type"]}={c["status"]}{(c["reason"] is { } reason ? $" ({reason}{(c["message"] is { } message ? ": " + message : string.Empty)})" : string.Empty)}"));
        detail = (phase is null ? string.Empty : $"phase {phase}; ") + (detail.Length == 0 ? "no conditions yet" : detail);
        return ((string?)ready?["status"] == "True", phase is "Failed" or "Succeeded", detail);
    }

    private async Task RollBackAsync(IEnumerable<ClusterObject> created)
    {
        using var rollback = new CancellationTokenSource(RollbackTimeout);
        foreach (var obj in created.Reverse())
        {
            try
            {
                await rest.DeleteAsync(obj.Path, rollback.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KubernetesApiException or HttpRequestException or OperationCanceledException)
            {
                // Best effort: the owner reference (if it was set) and the collector catch what is left.
            }
        }
    }
}
