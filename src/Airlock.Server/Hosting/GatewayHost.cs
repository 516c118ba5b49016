using System.Net;
using Airlock.Kubernetes.Driver;
using Airlock.Proxy.Control;
using Airlock.Sandboxes;
using Airlock.Sandboxes.Local;
using Airlock.Server.Api;
using Airlock.Server.Configuration;
using Airlock.Server.Dashboard;
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

    private readonly WebApplication _app;
    private readonly ControlPlaneListener _control;
    private readonly IServerStore _store;
    private readonly EventIngest _ingest;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _background = [];
    private readonly SemaphoreSlim _probing = new(1, 1);
    private (DateTimeOffset At, string? Problem) _readiness = (DateTimeOffset.MinValue, "not probed yet");

    private GatewayHost(WebApplication app, ControlPlaneListener control, IServerStore store, EventIngest ingest, ISandboxDriver driver, SessionEventHub events, ServerConfig config)
    {
        _app = app;
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

        var builder = WebApplication.CreateSlimBuilder();
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
        var events = new SessionEventHub();
        var feed = new EventFeed();
        var ingest = new EventIngest(store, events, feed, logger);
        ControlPlaneListener? control = null;
        GatewayHost host;
        try
        {
            control = ControlPlaneListener.Start(controlListen, ingest, logger: logger);
            var driver = CreateDriver(config, options, control, events);
            host = new GatewayHost(app, control, store, ingest, driver, events, config);
            new GatewayApi(
                store,
                driver,
                feed,
                new GatewayApiOptions(Path.Combine(options.LocalDriver.StateDirectory, "workdirs"), config.Kubernetes.DefaultTtl),
                logger).Map(app);
        }
        catch
        {
            if (control is not null)
            {
                await control.DisposeAsync().ConfigureAwait(false);
            }

            await ingest.DisposeAsync().ConfigureAwait(false);
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        host.MapEndpoints();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        host.ApiAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        host.StartBackground(logger);
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

    private void StartBackground(ILogger logger)
    {
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

        // No list of live sessions yet: sessions are collected when past their TTL or idle, never as orphans.
        var reconciler = new SandboxReconciler(kubernetes, _ => Task.FromResult<IReadOnlySet<string>?>(null), Config.Kubernetes.ReconcileInterval, logger);
        _background.Add(Task.Run(() => reconciler.RunAsync(_stopping.Token)));
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

        await _control.DisposeAsync().ConfigureAwait(false);
        await _ingest.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _probing.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "airlock serve: API on {Api}, control channel on {Control}, driver {Driver}")]
        public static partial void Started(ILogger logger, Uri api, IPEndPoint control, string driver);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Sent claimed pod {Pod}'s proxy its session's policy again")]
        public static partial void PolicyRestored(ILogger logger, string pod);

        [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Could not restore the session policy of {Pod}'s proxy: {Error}")]
        public static partial void PolicyRestoreFailed(ILogger logger, string pod, string error);
    }
}
