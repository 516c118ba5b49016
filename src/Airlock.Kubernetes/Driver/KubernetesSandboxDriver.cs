using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Airlock.Kubernetes.Exec;
using Airlock.Kubernetes.Lifecycle;
using Airlock.Kubernetes.Objects;
using Airlock.Policy.Loading;
using Airlock.Proxy.Certificates;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;
using Airlock.Sandboxes;
using k8s;

namespace Airlock.Kubernetes.Driver;

/// <summary>What the Kubernetes driver needs besides a sandbox's own spec.</summary>
public sealed record KubernetesDriverOptions
{
    /// <summary>A configured client (kubeconfig, in-cluster, or explicit).</summary>
    public required k8s.Kubernetes Client { get; init; }

    /// <summary>The namespace sandboxes are created in.</summary>
    public required string Namespace { get; init; }

    /// <summary>The workload image.</summary>
    public required string Image { get; init; }

    /// <summary>The proxy image (the airlock binary, nft, tini, a CA bundle).</summary>
    public string ProxyImage { get; init; } = KubernetesSandboxSpec.DefaultProxyImage;

    /// <summary>sidecar or proxy-pod.</summary>
    public SandboxTopology Topology { get; init; } = SandboxTopology.Sidecar;

    /// <summary>pod, sandbox, or claim (from <see cref="WarmPool"/>; needs <see cref="ControlPlane"/> to hand the warm pod its session's policy).</summary>
    public WorkloadKind Workload { get; init; } = WorkloadKind.Pod;

    /// <summary>The <c>SandboxWarmPool</c> claims are made against.</summary>
    public string? WarmPool { get; init; }

    /// <summary>The control plane this driver runs in, which the proxies dial; null: none (events are read from the proxy's log, claims are refused).</summary>
    public KubernetesControlPlane? ControlPlane { get; init; }

    /// <summary>A sandbox with no egress for this long is collected by the reconciler.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>NetworkPolicy settings for every sandbox.</summary>
    public NetworkPolicySettings NetworkPolicy { get; init; } = NetworkPolicySettings.Default;

    /// <summary>How long to wait for a workload to be ready.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>The sandbox's default lifetime when its spec names none.</summary>
    public TimeSpan DefaultTimeToLive { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Where uploads and downloads may go inside the pod.</summary>
    public IReadOnlyList<string> FileRoots { get; init; } = PodFiles.DefaultRoots;

    /// <summary>The largest file a transfer carries.</summary>
    public long MaxTransferBytes { get; init; } = 256L * 1024 * 1024;
}

/// <summary>The control plane a driver runs in: where its sandboxes' proxies dial, and what they sent.</summary>
public sealed record KubernetesControlPlane
{
    /// <summary>What proxies dial, <c>HOST:PORT</c> (the control plane's Service).</summary>
    public required string Endpoint { get; init; }

    /// <summary>The control plane's pods, which the sandboxes' NetworkPolicies let the proxies reach.</summary>
    public required PeerSelector Pods { get; init; }

    /// <summary>The listener the proxies connect to (policy updates go out through it).</summary>
    public required ControlPlaneListener Listener { get; init; }

    /// <summary>The events the listener collected.</summary>
    public required IEgressEventSource Events { get; init; }

    /// <summary>How long a claimed warm pod's proxy has to take its session's policy.</summary>
    public TimeSpan PolicyTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// The Kubernetes driver: a sandbox is the objects <see cref="SandboxObjects"/> builds for it, applied by
/// <see cref="SandboxLifecycle"/> (in order, owned by the workload, rolled back on any failure); exec and files
/// go through the exec API. Events come from the control plane when the driver runs in one (the proxies dial it),
/// else from the proxy's NDJSON on its container's log. Its session CA is made here, put in the proxy's Secret, and
/// forgotten. A claim adopts a warm pool's pod, whose proxy started with a deny-all policy under its pod name as
/// its session; the driver sends it the session's policy through the control plane before the sandbox is ready.
/// </summary>
public sealed class KubernetesSandboxDriver(KubernetesDriverOptions options) : ISandboxDriver
{
    /// <summary>The name given to <c>--driver</c>.</summary>
    public const string DriverName = "kubernetes";

    private readonly KubernetesRest _rest = new(options.Client);
    private readonly PodExec _exec = new(options.Client);

    /// <inheritdoc />
    public string Name => DriverName;

    private SandboxLifecycle Lifecycle => new(_rest);

    /// <inheritdoc />
    public async Task<SandboxInfo> CreateAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (PolicyLoader.Parse(spec.PolicyText, spec.PolicySource) is { Policy: null } invalid)
        {
            throw new SandboxException(string.Join('\n', invalid.Diagnostics.Select(d => d.ToString())));
        }

        if (options.Workload == WorkloadKind.Claim)
        {
            if (options.ControlPlane is null)
            {
                throw new SandboxException("claims on a warm pool need the control plane (airlock serve) to hand the warm pod its session's policy; use --workload pod or sandbox");
            }

            if (spec.Secrets.Count > 0)
            {
                throw new SandboxException("a claimed warm-pool pod cannot take injection secrets: its proxy started before the session and holds none; use workload pod or sandbox for sessions with secrets");
            }
        }

        var id = spec.Id ?? SandboxIds.New();
        if (!SandboxIds.IsWellFormed(id))
        {
            throw new SandboxException($"'{id}' is not a sandbox id (sb- and lower-case hex digits)");
        }

        var ttl = spec.TimeToLive ?? options.DefaultTimeToLive;
        SandboxObjectSet set;
        using (var ca = SessionCertificateAuthority.Create(id, ttl + TimeSpan.FromHours(1)))
        {
            try
            {
                set = SandboxObjects.Build(
                    new KubernetesSandboxSpec
                    {
                        SessionId = id,
                        Namespace = options.Namespace,
                        PolicyText = spec.PolicyText,
                        Image = options.Image,
                        ProxyImage = options.ProxyImage,
                        CreatedAt = DateTimeOffset.UtcNow,
                        Ttl = ttl,
                        Env = spec.Environment.ToImmutableSortedDictionary(StringComparer.Ordinal),
                        InjectionSecrets = spec.Secrets.ToImmutableSortedDictionary(StringComparer.Ordinal),
                        IdleTimeout = options.IdleTimeout,
                        Topology = options.Topology,
                        Workload = options.Workload,
                        WarmPool = options.Workload == WorkloadKind.Claim ? options.WarmPool : null,
                        NetworkPolicy = options.NetworkPolicy,
                        ControlEndpoint = options.ControlPlane?.Endpoint,
                        ControlPlane = options.ControlPlane?.Pods,
                    },
                    new SessionCaMaterial(ca.CertificatePem, ca.ExportKeyPem()));
            }
            catch (SandboxSpecException e)
            {
                throw new SandboxException(e.Message, e);
            }
        }

        var objects = set.Objects.Select(o => ClusterObject.From(ManifestJson.ToJson(o))).ToList();
        try
        {
            await Lifecycle.CreateAsync(objects, objects[^1], options.ReadyTimeout, cancellationToken).ConfigureAwait(false);
            if (options.Workload == WorkloadKind.Claim)
            {
                await HandOverAsync(id, spec.PolicyText, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is KubernetesApiException or SandboxCreateException or HttpRequestException)
        {
            throw new SandboxException($"sandbox {id} could not be created (everything made for it was deleted): {e.Message}", e);
        }

        return await GetAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new SandboxException($"sandbox {id} was created but cannot be found");
    }

    /// <summary>
    /// Gives a claimed warm pod its session: the policy goes to the pod's proxy (which serves the pod's name as its
    /// session until then). A proxy that refuses it or never answers fails the create, and the claim is deleted.
    /// </summary>
    private async Task HandOverAsync(string id, string policyText, CancellationToken cancellationToken)
    {
        var plane = options.ControlPlane!;
        try
        {
            var pod = await FindAgentPodAsync(id, cancellationToken).ConfigureAwait(false)
                ?? throw new SandboxCreateException($"the warm pool '{options.WarmPool}' reported the claim ready, but no pod carries session {id}'s label");
            var result = await plane.Listener.UpdatePolicyAsync(pod, SessionPolicyVersion(id), policyText, plane.PolicyTimeout, cancellationToken).ConfigureAwait(false);
            if (!result.Ok)
            {
                throw new SandboxCreateException($"the claimed pod {pod}'s proxy refused the session's policy: {string.Join("; ", result.Errors)}");
            }
        }
        catch (Exception e) when (e is TimeoutException or SandboxCreateException or KubernetesApiException or HttpRequestException or OperationCanceledException)
        {
            using var rollback = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await Lifecycle.DeleteSessionAsync(options.Namespace, id, rollback.Token).ConfigureAwait(false);
            }
            catch (Exception cleanup) when (cleanup is KubernetesApiException or HttpRequestException or AggregateException or OperationCanceledException)
            {
                // The claim's shutdown time and the reconciler catch what is left.
            }

            throw e is SandboxCreateException ? e : new SandboxCreateException($"the claimed pod did not take session {id}'s policy: {e.Message}", e);
        }
    }

    /// <summary>
    /// When a claimed pod's proxy (re)connects still on the policy it started with (it restarted), sends it its
    /// session's policy again from the session's Secret: the claim survives control-plane restarts and proxy restarts.
    /// </summary>
    /// <param name="hello">What the proxy said.</param>
    /// <param name="cancellationToken">Gives up.</param>
    /// <returns>Whether a policy was sent and accepted.</returns>
    public async Task<bool> RestoreClaimedPolicyAsync(ProxyHello hello, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hello);
        if (options.ControlPlane is not { } plane || hello.PolicyVersion is not null)
        {
            return false;
        }

        var pod = await _rest.GetAsync(ClusterObject.CollectionPathOf("v1", "pods", options.Namespace) + "/" + hello.Session, cancellationToken).ConfigureAwait(false);
        if ((string?)pod?["metadata"]?["labels"]?[KubernetesLabels.Session] is not { } id || !IsWellFormed(id)
            || (string?)pod["metadata"]?["labels"]?[KubernetesLabels.Pool] is null)
        {
            return false;
        }

        var secret = await _rest.GetAsync(ClusterObject.CollectionPathOf("v1", "secrets", options.Namespace) + "/" + SandboxObjectNames.For(id).ProxySecret, cancellationToken).ConfigureAwait(false);
        if (SecretValue(secret, SandboxPods.PolicyKey) is not { } policy)
        {
            return false;
        }

        var result = await plane.Listener.UpdatePolicyAsync(hello.Session, SessionPolicyVersion(id), policy, plane.PolicyTimeout, cancellationToken).ConfigureAwait(false);
        return result.Ok;
    }

    /// <summary>
    /// One reconciler pass: deletes the objects of sessions that are unknown to the caller (orphans), past their TTL,
    /// or idle past their idle timeout (judged from the control plane's events; without a control plane, idleness is
    /// not judged). Recreates nothing.
    /// </summary>
    /// <param name="liveSessions">The sessions the caller still runs; null when it keeps no list (only TTL and idleness collect).</param>
    /// <param name="cancellationToken">Cancels the pass.</param>
    /// <returns>What was deleted, and why.</returns>
    public Task<IReadOnlyList<CollectedSession>> CollectAsync(IReadOnlySet<string>? liveSessions, CancellationToken cancellationToken)
    {
        Func<string, IReadOnlyList<ClusterObject>, DateTimeOffset?>? lastActivity = options.ControlPlane is { } plane
            ? (id, objects) => objects
                .Where(o => o.Kind == "Pod" && (string?)o.Body["metadata"]?["labels"]?[KubernetesLabels.Pool] is not null)
                .Select(o => plane.Events.LastActivity(o.Name)) // A claimed pod's proxy reports under its pod name.
                .Append(plane.Events.LastActivity(id))
                .Max()
            : null;
        return ClusterCallAsync(() => Lifecycle.CollectAsync(options.Namespace, liveSessions, lastActivity, cancellationToken));
    }

    private static string SessionPolicyVersion(string id) => id + "/1";

    private static string? SecretValue(JsonObject? secret, string key) =>
        (string?)secret?["stringData"]?[key] is { } text ? text
        : (string?)secret?["data"]?[key] is { } encoded ? System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(encoded))
        : null;

    /// <summary>The name of the pod labelled as the session's agent (a claimed warm pod gets the label from the claim).</summary>
    private async Task<string?> FindAgentPodAsync(string id, CancellationToken cancellationToken)
    {
        var selector = $"{KubernetesLabels.ManagedBy}={KubernetesLabels.ManagedByValue},{KubernetesLabels.Session}={id},{KubernetesLabels.Role}={KubernetesLabels.RoleAgent}";
        var pods = await _rest.ListAsync(ClusterObject.CollectionPathOf("v1", "pods", options.Namespace), selector, cancellationToken).ConfigureAwait(false);
        return pods.Select(p => (string?)p["metadata"]?["name"]).FirstOrDefault(n => n is not null);
    }

    /// <inheritdoc />
    public async Task<int> ExecAsync(string id, ExecRequest request, ExecStreams streams, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var pod = await RequirePodAsync(id, cancellationToken).ConfigureAwait(false);
        // The exec API takes no environment or working directory: env(1) and a shell's cd carry them (POSIX, busybox too).
        string[] withEnvironment = ["env", "--", .. request.Environment.Select(p => $"{p.Key}={p.Value}"), .. request.Command];
        IReadOnlyList<string> command = request.WorkingDirectory is { } cwd
            ? ["sh", "-c", "cd -- \"$1\" || exit 126; shift; exec \"$@\"", "sh", cwd, .. withEnvironment]
            : request.Environment.Count == 0 ? request.Command : withEnvironment;
        return await _exec.ExecAsync(options.Namespace, pod, SandboxPods.AgentContainer, command, streams, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task UploadAsync(string id, string path, Stream content, UnixFileMode mode, CancellationToken cancellationToken)
    {
        var pod = await RequirePodAsync(id, cancellationToken).ConfigureAwait(false);
        await Files.UploadAsync(options.Namespace, pod, SandboxPods.AgentContainer, path, content, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DownloadAsync(string id, string path, Stream destination, CancellationToken cancellationToken)
    {
        var pod = await RequirePodAsync(id, cancellationToken).ConfigureAwait(false);
        await Files.DownloadAsync(options.Namespace, pod, SandboxPods.AgentContainer, path, destination, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<SandboxInfo>> ListAsync(CancellationToken cancellationToken) => ClusterCallAsync(() => ListWorkloadsAsync(cancellationToken));

    /// <summary>A cluster that refuses or cannot be reached is a <see cref="SandboxException"/> with the server's words.</summary>
    private async Task<T> ClusterCallAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is KubernetesApiException or HttpRequestException)
        {
            throw new SandboxException($"the cluster ({options.Client.BaseUri}): {e.Message}", e);
        }
    }

    private async Task<IReadOnlyList<SandboxInfo>> ListWorkloadsAsync(CancellationToken cancellationToken)
    {
        var workloads = new List<SandboxInfo>();
        var (apiVersion, plural) = WorkloadCollection(options.Workload);

        // Pods carry the role; Sandboxes and claims are the workload object itself (a claim's role label is on its pod).
        var selector = $"{KubernetesLabels.ManagedBy}={KubernetesLabels.ManagedByValue}" + (options.Workload == WorkloadKind.Pod ? $",{KubernetesLabels.Role}={KubernetesLabels.RoleAgent}" : string.Empty);
        foreach (var item in await _rest.ListAsync(ClusterObject.CollectionPathOf(apiVersion, plural, options.Namespace), selector, cancellationToken).ConfigureAwait(false))
        {
            if (Describe(item) is { } info)
            {
                workloads.Add(info);
            }
        }

        return [.. workloads.OrderBy(w => w.CreatedAt)];
    }

    /// <inheritdoc />
    public Task<SandboxInfo?> GetAsync(string id, CancellationToken cancellationToken) => ClusterCallAsync(async () =>
        IsWellFormed(id) && await _rest.GetAsync(WorkloadPath(id), cancellationToken).ConfigureAwait(false) is { } workload
            ? Describe(workload)
            : null);

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        if (!IsWellFormed(id))
        {
            return false;
        }

        try
        {
            return await ClusterCallAsync(() => Lifecycle.DeleteSessionAsync(options.Namespace, id, cancellationToken)).ConfigureAwait(false) > 0;
        }
        catch (AggregateException e)
        {
            throw new SandboxException($"sandbox {id}: {string.Join("; ", e.InnerExceptions.Select(i => i.Message))}", e);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EgressEvent> EventsAsync(string id, bool follow, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var names = SandboxObjectNames.For(id);
        var workloadPod = await RequirePodAsync(id, cancellationToken).ConfigureAwait(false);
        if (options.ControlPlane is { } plane)
        {
            // The proxy sends its events to the control plane under its session: the id, or a claimed pod's name.
            var session = options.Workload == WorkloadKind.Claim ? workloadPod : id;
            await foreach (var egressEvent in plane.Events.EventsAsync(session, follow, cancellationToken).ConfigureAwait(false))
            {
                yield return egressEvent;
            }

            yield break;
        }

        // The proxy writes its events as NDJSON on its standard output: its container's log.
        var pod = options.Topology == SandboxTopology.ProxyPod ? names.Proxy : workloadPod;
        Stream log;
        try
        {
            log = await options.Client.CoreV1.ReadNamespacedPodLogAsync(pod, options.Namespace, container: SandboxPods.ProxyContainer, follow: follow, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (k8s.Autorest.HttpOperationException e)
        {
            throw new SandboxException($"sandbox {id}: cannot read its proxy's log: {e.Message}", e);
        }

        using var reader = new StreamReader(log);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            EgressEvent? egressEvent = null;
            try
            {
                egressEvent = line.StartsWith('{') ? EventJson.Parse(System.Text.Encoding.UTF8.GetBytes(line)) : null;
            }
            catch (JsonException)
            {
                // A log line that is not an event (the proxy's own start-up line).
            }

            if (egressEvent is not null)
            {
                yield return egressEvent;
            }
        }
    }

    private PodFiles Files => new(_exec, options.FileRoots, options.MaxTransferBytes);

    private string WorkloadPath(string id)
    {
        var (apiVersion, plural) = WorkloadCollection(options.Workload);
        return ClusterObject.CollectionPathOf(apiVersion, plural, options.Namespace) + "/" + SandboxObjectNames.For(id).Workload;
    }

    private static (string ApiVersion, string Plural) WorkloadCollection(WorkloadKind kind) => kind switch
    {
        WorkloadKind.Pod => ("v1", "pods"),
        WorkloadKind.Sandbox => (AgentSandboxApi.ApiVersion, "sandboxes"),
        _ => (AgentSandboxApi.ExtensionsApiVersion, "sandboxclaims"),
    };

    /// <summary>The pod the workload runs in (an agent-sandbox Sandbox's pod carries the Sandbox's name).</summary>
    private async Task<string> RequirePodAsync(string id, CancellationToken cancellationToken)
    {
        if (await GetAsync(id, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new SandboxException($"no sandbox '{id}' in namespace {options.Namespace}");
        }

        return options.Workload != WorkloadKind.Claim
            ? SandboxObjectNames.For(id).Workload
            : await ClusterCallAsync(() => FindAgentPodAsync(id, cancellationToken)).ConfigureAwait(false)
                ?? throw new SandboxException($"sandbox {id}: its claim has no pod (the warm pool has not handed one over)");
    }

    private static SandboxInfo? Describe(JsonObject workload)
    {
        var metadata = workload["metadata"];
        if ((string?)metadata?["labels"]?[KubernetesLabels.Session] is not { } id)
        {
            return null;
        }

        var (ready, _, _) = SandboxLifecycle.Readiness(workload);
        return new SandboxInfo
        {
            Id = id,
            Driver = DriverName,
            State = ready ? SandboxState.Running : SandboxState.Exited,
            CreatedAt = DateTimeOffset.TryParse((string?)metadata!["creationTimestamp"], System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var created) ? created : DateTimeOffset.MinValue,
            ExpiresAt = DateTimeOffset.TryParse((string?)metadata["annotations"]?[KubernetesAnnotations.ExpiresAt], System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var expires) ? expires : null,
            WorkDirectory = SandboxPods.WorkspacePath,
            PolicySource = $"{(string?)metadata["namespace"]}/{(string?)metadata["name"]}",
            EventsPath = $"kubectl logs -n {(string?)metadata["namespace"]} {(string?)metadata["name"]} -c {SandboxPods.ProxyContainer}",
        };
    }

    private static bool IsWellFormed(string id) => SandboxIds.IsWellFormed(id);
}
