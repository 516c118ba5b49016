using System.Net;
using Airlock.Kubernetes.Driver;
using Airlock.Proxy.Control;
using Airlock.Sandboxes;
using Airlock.Sandboxes.Local;
using Airlock.Server.Api;
using Airlock.Server.Approvals;
using Airlock.Server.Configuration;
using Airlock.Server.Dashboard;
using Airlock.Server.Sessions;
using Airlock.Server.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Airlock.Server.Hosting;

/// <summary>What the gateway needs from the program that hosts it.</summary>
public sealed record GatewayHostOptions
{
    /// <summary>How the local driver starts sandboxes (the <c>airlock</c> binary, the state directory).</summary>
    public required LocalDriverOptions LocalDriver { get; init; }

    /// <summary>How often the gateway reconciles its records with the driver (TTL, idle timeout, dead sandboxes, orphans).</summary>
    public TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A token (<c>airlock token generate</c>) imported as an admin token on start when the store lacks its id: the
    /// first admin token of a deployment whose store nobody can reach with <c>airlock token create</c>
    /// (<c>AIRLOCK_BOOTSTRAP_ADMIN_TOKEN</c>).
    /// </summary>
    public string? BootstrapAdminToken { get; init; }

    /// <summary>Where log lines go; the console when null.</summary>
    public Action<ILoggingBuilder>? Logging { get; init; }
}

/// <summary>
/// The running gateway: the HTTP API (Kestrel), the control plane the sandboxes' proxies dial
/// (<see cref="ControlPlaneListener"/>), the sandbox driver and, for Kubernetes, the reconciler.
/// </summary>
public sealed partial class GatewayHost : IAsyncDisposable
{
    private static readonly TimeSpan ReadinessCacheTime = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ReadinessProbeTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan PolicyAckTimeout = TimeSpan.FromSeconds(15);

    private readonly WebApplication _app;
    private readonly ControlPlaneListener _control;
    private readonly IServerStore _store;
    private readonly EventIngest _ingest;
    private readonly ApprovalDesk _approvals;
    private System.Threading.RateLimiting.PartitionedRateLimiter<string>? _limiter;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _background = [];
    private readonly SemaphoreSlim _probing = new(1, 1);
    private (DateTimeOffset At, string? Problem) _readiness = (DateTimeOffset.MinValue, "not probed yet");

    private GatewayHost(WebApplication app, ControlPlaneListener control, IServerStore store, EventIngest ingest, ApprovalDesk approvals, ISandboxDriver driver, SessionEventHub events, ServerConfig config)
    {
        _app = app;
        _approvals = approvals;
        _control = control;
        _store = store;
        _ingest = ingest;
        Driver = driver;
        Events = events;
        Config = config;
    }

    /// <summary>The settings it runs with.</summary>
    public ServerConfig Config { get; }

    /// <summary>The sandbox driver.</summary>
    public ISandboxDriver Driver { get; }

    /// <summary>What the proxies sent, in memory (the store keeps it durably).</summary>
    public SessionEventHub Events { get; }

    /// <summary>The durable store.</summary>
    public IServerStore Store => _store;

    /// <summary>Events committed to the store since the start.</summary>
    public long StoredEvents => _ingest.Stored;

    /// <summary>The API's base address (the port chosen when 0 was asked).</summary>
    public Uri ApiAddress { get; private set; } = null!;

    /// <summary>Where the control channel listens.</summary>
    public IPEndPoint ControlAddress => (IPEndPoint)_control.LocalEndPoint;

    /// <summary>Starts the control plane, the driver and the API.</summary>
    /// <exception cref="SandboxException">The driver cannot be set up (a kubeconfig that cannot be read).</exception>
    /// <exception cref="StoreException">The store cannot be opened (its message says why).</exception>
    /// <exception cref="System.Net.Sockets.SocketException">An address is taken.</exception>
    public static async Task<GatewayHost> StartAsync(ServerConfig config, GatewayHostOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        if (!ServerConfigLoader.TryParseListen(config.Listen, out var listen) || !ServerConfigLoader.TryParseListen(config.ControlListen, out var controlListen))
        {
            throw new ArgumentException("listen and control listen must be IP:PORT", nameof(config));
        }

        var builder = WebApplication.CreateSlimBuilder(Airlock.Proxy.Hosting.HostingDefaults.Options());
        builder.Logging.ClearProviders();
        if (options.Logging is { } logging)
        {
            logging(builder.Logging);
        }
        else
        {
            // Logs go to standard error; standard output is the caller's (one line with the bound addresses).
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
            builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        }

        // Problem Details' own source-generated JSON: without it, under NativeAOT every problem (401, 400, 404) is an empty 500.
        builder.Services.AddProblemDetails();
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
            json.SerializerOptions.TypeInfoResolverChain.Insert(1, ExecJsonContext.Default);
            json.SerializerOptions.TypeInfoResolverChain.Insert(2, PolicyJsonContext.Default);
            json.SerializerOptions.TypeInfoResolverChain.Insert(3, ApprovalJsonContext.Default);
        });
        builder.Services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Airlock gateway";
            document.Info.Description = "Sandboxes whose egress goes through a policy-enforcing proxy: create them, watch what they reach.";
            return Task.CompletedTask;
        }));
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 16 * 1024 * 1024;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.Listen(listen);
        });
        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Airlock.Gateway");

        var store = await ServerStore.OpenAsync(config.Store ?? ServerStore.DefaultUrl(), cancellationToken).ConfigureAwait(false);
        if (options.BootstrapAdminToken is { Length: > 0 } bootstrap)
        {
            try
            {
                if (await store.ImportTokenAsync(bootstrap.Trim(), Auth.TokenScope.Admin, "bootstrap (AIRLOCK_BOOTSTRAP_ADMIN_TOKEN)", cancellationToken).ConfigureAwait(false))
                {
                    Log.BootstrapImported(logger);
                }
            }
            catch (ArgumentException e)
            {
                await store.DisposeAsync().ConfigureAwait(false);
                throw new StoreException($"the bootstrap admin token is not usable: {e.Message}", e);
            }
        }

        var events = new SessionEventHub();
        var feed = new EventFeed();
        var ingest = new EventIngest(store, events, feed, logger);
        ControlPlaneListener? control = null;
        ApprovalDesk? approvals = null;
        var limiter = System.Threading.RateLimiting.PartitionedRateLimiter.Create<string, string>(key =>
            System.Threading.RateLimiting.RateLimitPartition.GetTokenBucketLimiter(key, _ => new System.Threading.RateLimiting.TokenBucketRateLimiterOptions
            {
                TokenLimit = config.RequestBurst,
                TokensPerPeriod = config.RequestsPerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
        GatewayHost host;
        try
        {
            control = ControlPlaneListener.Start(controlListen, ingest, logger: logger);
            var driver = CreateDriver(config, options, control, events);
            var policies = new SessionPolicies(store, control, PolicyAckTimeout, logger);
            approvals = new ApprovalDesk(store, control, policies, logger);
            ingest.Asks = approvals.OnAskAsync;
            host = new GatewayHost(app, control, store, ingest, approvals, driver, events, config) { _limiter = limiter };
            new GatewayApi(
                store,
                driver,
                feed,
                policies,
                approvals,
                new GatewayApiOptions(Path.Combine(options.LocalDriver.StateDirectory, "workdirs"), config.Kubernetes.DefaultTtl, limiter),
                logger).Map(app);
        }
        catch
        {
            if (approvals is not null)
            {
                await approvals.DisposeAsync().ConfigureAwait(false);
            }

            if (control is not null)
            {
                await control.DisposeAsync().ConfigureAwait(false);
            }

            await ingest.DisposeAsync().ConfigureAwait(false);
            await store.DisposeAsync().ConfigureAwait(false);
            limiter.Dispose();
            throw;
        }

        host.MapEndpoints();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        host.ApiAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        host.StartBackground(logger, options.ReconcileInterval);
        Log.Started(logger, host.ApiAddress, host.ControlAddress, host.Driver.Name);
        return host;
    }

    private static ISandboxDriver CreateDriver(ServerConfig config, GatewayHostOptions options, ControlPlaneListener control, SessionEventHub events)
    {
        if (config.Driver == GatewayDriver.Local)
        {
            // The sandboxes' proxies run on this machine: they dial the listener over loopback when it listens on any address.
            var bound = (IPEndPoint)control.LocalEndPoint;
            var dial = bound.Address.Equals(IPAddress.Any) || bound.Address.Equals(IPAddress.IPv6Any) ? IPAddress.Loopback : bound.Address;
            return new LocalSandboxDriver(options.LocalDriver with { Control = ControlEndpoint.Tcp(dial.ToString(), bound.Port) });
        }

        var k = config.Kubernetes;
        return new KubernetesSandboxDriver(new KubernetesDriverOptions
        {
            Client = KubernetesClients.Create(k.Kubeconfig),
            Namespace = k.Namespace!,
            Image = k.Image!,
            ProxyImage = k.ProxyImage,
            Topology = k.Topology,
            Workload = k.Workload,
            WarmPool = k.WarmPool,
            NetworkPolicy = k.NetworkPolicy,
            ReadyTimeout = k.ReadyTimeout,
            DefaultTimeToLive = k.DefaultTtl,
            IdleTimeout = k.IdleTimeout,
            ControlPlane = config.ControlEndpoint is { } endpoint && k.ControlPlane is { } pods
                ? new KubernetesControlPlane { Endpoint = endpoint, Pods = pods, Listener = control, Events = events }
                : null,
        });
    }

    private void MapEndpoints()
    {
        _app.MapOpenApi("/openapi.json");
        _app.MapDashboard();
        _app.MapGet("/healthz", () => Results.Text("ok\n"));
        _app.MapGet("/readyz", async (CancellationToken cancellationToken) =>
            await ProblemAsync(cancellationToken).ConfigureAwait(false) is { } problem
                ? Results.Text($"not ready: {problem}\n", statusCode: StatusCodes.Status503ServiceUnavailable)
                : Results.Text("ready\n"));
    }

    /// <summary>Why the gateway cannot serve now, or null: the driver answers (for Kubernetes, the API server), probed at most every few seconds.</summary>
    private async Task<string?> ProblemAsync(CancellationToken cancellationToken)
    {
        await _probing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (DateTimeOffset.UtcNow - _readiness.At < ReadinessCacheTime)
            {
                return _readiness.Problem;
            }

            string? problem = null;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            timeout.CancelAfter(ReadinessProbeTimeout);
            try
            {
                await _store.PingAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
            {
                problem = $"the {_store.Kind} store: {e.Message}";
            }

            try
            {
                if (problem is null)
                {
                    await Driver.ListAsync(timeout.Token).ConfigureAwait(false);
                }
            }
            catch (SandboxException e)
            {
                problem = $"the {Driver.Name} driver: {e.Message}";
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                problem = $"the {Driver.Name} driver did not answer within {ReadinessProbeTimeout.TotalSeconds:0} s";
            }

            _readiness = (DateTimeOffset.UtcNow, problem);
            return problem;
        }
        finally
        {
            _probing.Release();
        }
    }

    private void StartBackground(ILogger logger, TimeSpan reconcileInterval)
    {
        // First pass at once: after a restart, sandboxes still running are re-attached, dead ones marked, orphans removed.
        var janitor = new SandboxJanitor(_store, Driver, logger);
        _background.Add(Task.Run(() => janitor.RunAsync(reconcileInterval, _stopping.Token)));
        if (Driver is not KubernetesSandboxDriver kubernetes)
        {
            return;
        }

        // A claimed warm pod's proxy that restarted comes back on the pool's deny-all policy: give it its session's.
        Events.Connected += hello => _background.Add(Task.Run(async () =>
        {
            try
            {
                if (await kubernetes.RestoreClaimedPolicyAsync(hello, _stopping.Token).ConfigureAwait(false))
                {
                    Log.PolicyRestored(logger, hello.Session);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.PolicyRestoreFailed(logger, hello.Session, e.Message);
            }
        }));

        // Objects of sessions the store does not know as pending or ready (half-created ones included) are orphans.
        var reconciler = new SandboxReconciler(kubernetes, LiveSessionsAsync, Config.Kubernetes.ReconcileInterval, logger);
        _background.Add(Task.Run(() => reconciler.RunAsync(_stopping.Token)));
    }

    private async Task<IReadOnlySet<string>?> LiveSessionsAsync(CancellationToken cancellationToken)
    {
        var live = new HashSet<string>(StringComparer.Ordinal);
        string? after = null;
        do
        {
            var page = await _store.ListSandboxesAsync(new SandboxQuery { States = [Airlock.Server.Store.SandboxState.Pending, Airlock.Server.Store.SandboxState.Ready], After = after, Limit = SandboxQuery.MaxLimit }, cancellationToken).ConfigureAwait(false);
            live.UnionWith(page.Items.Select(s => s.Id));
            after = page.NextCursor;
        }
        while (after is not null);
        return live;
    }

    /// <summary>Stops the API, the reconciler and the control plane (the proxies spool until the next start).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        using (var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            await _app.StopAsync(grace.Token).ConfigureAwait(false);
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_background.ToArray()).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await _approvals.DisposeAsync().ConfigureAwait(false);
        await _control.DisposeAsync().ConfigureAwait(false);
        await _ingest.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _probing.Dispose();
        _limiter?.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "airlock serve: API on {Api}, control channel on {Control}, driver {Driver}")]
        public static partial void Started(ILogger logger, Uri api, IPEndPoint control, string driver);

        [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Imported the bootstrap admin token")]
        public static partial void BootstrapImported(ILogger logger);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Sent claimed pod {Pod}'s proxy its session's policy again")]
        public static partial void PolicyRestored(ILogger logger, string pod);

        [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Could not restore the session policy of {Pod}'s proxy: {Error}")]
        public static partial void PolicyRestoreFailed(ILogger logger, string pod, string error);
    }
}
