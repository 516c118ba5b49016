using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Airlock.Kubernetes.Exec;
using Airlock.Kubernetes.Lifecycle;
using Airlock.Kubernetes.Objects;
using Airlock.Policy.Loading;
using Airlock.Proxy.Certificates;
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

    /// <summary>pod or sandbox (claims need the control plane to hand a warm pod its session's policy).</summary>
    public WorkloadKind Workload { get; init; } = WorkloadKind.Pod;

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

/// <summary>
/// The Kubernetes driver: a sandbox is the objects <see cref="SandboxObjects"/> builds for it, applied by
/// <see cref="SandboxLifecycle"/> (in order, owned by the workload, rolled back on any failure); exec and files
/// go through the exec API; events are the proxy's NDJSON on its container's log. Its session CA is made here,
/// put in the proxy's Secret, and forgotten.
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
            throw new SandboxException("claims on a warm pool need the control plane to hand the warm pod its session's policy; use --workload pod or sandbox");
        }

        var id = "sb-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));
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
                        Topology = options.Topology,
                        Workload = options.Workload,
                        NetworkPolicy = options.NetworkPolicy,
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
        }
        catch (Exception e) when (e is KubernetesApiException or SandboxCreateException or HttpRequestException)
        {
            throw new SandboxException($"sandbox {id} could not be created (everything made for it was deleted): {e.Message}", e);
        }

        return await GetAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new SandboxException($"sandbox {id} was created but cannot be found");
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
        foreach (var (apiVersion, plural) in new[] { ("v1", "pods"), ("agents.x-k8s.io/v1beta1", "sandboxes") })
        {
            var selector = $"{KubernetesLabels.ManagedBy}={KubernetesLabels.ManagedByValue},{KubernetesLabels.Role}={KubernetesLabels.RoleAgent}";
            foreach (var item in await _rest.ListAsync(ClusterObject.CollectionPathOf(apiVersion, plural, options.Namespace), selector, cancellationToken).ConfigureAwait(false))
            {
                if (Describe(item) is { } info && (plural == "pods" ? options.Workload == WorkloadKind.Pod : options.Workload == WorkloadKind.Sandbox))
                {
                    workloads.Add(info);
                }
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
        // The proxy writes its events as NDJSON on its standard output: its container's log.
        var names = SandboxObjectNames.For(id);
        var pod = options.Topology == SandboxTopology.ProxyPod ? names.Proxy : names.Workload;
        await RequirePodAsync(id, cancellationToken).ConfigureAwait(false);
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

    private string WorkloadPath(string id) => ClusterObject.CollectionPathOf(
        options.Workload == WorkloadKind.Pod ? "v1" : "agents.x-k8s.io/v1beta1",
        options.Workload == WorkloadKind.Pod ? "pods" : "sandboxes",
        options.Namespace) + "/" + SandboxObjectNames.For(id).Workload;

    /// <summary>The pod the workload runs in (an agent-sandbox Sandbox's pod carries the Sandbox's name).</summary>
    private async Task<string> RequirePodAsync(string id, CancellationToken cancellationToken)
    {
        if (await GetAsync(id, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new SandboxException($"no sandbox '{id}' in namespace {options.Namespace}");
        }

        return SandboxObjectNames.For(id).Workload;
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

    private static bool IsWellFormed(string id) =>
        id is { Length: > 3 and <= 40 } && id.StartsWith("sb-", StringComparison.Ordinal) && id[3..].All(char.IsAsciiHexDigitLower);
}
