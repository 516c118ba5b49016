using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using Airlock.Policy.Model;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;
using Airlock.Proxy.Forwarding;
using Airlock.Proxy.Metrics;
using Airlock.Proxy.FrontDoors;
using Airlock.Proxy.Resolution;
using Airlock.Proxy.Sessions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Airlock.Proxy.Hosting;

/// <summary>
/// A running egress proxy for one session: Kestrel with the front doors as connection middleware, the
/// request handler, and YARP's forwarder over a client that dials only classified addresses.
/// </summary>
public sealed class ProxyServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ProxySession _session;
    private readonly HttpMessageInvoker _upstream;
    private readonly ControlChannel? _control;

    private ProxyServer(WebApplication app, ProxySession session, HttpMessageInvoker upstream, ControlChannel? control)
    {
        _app = app;
        _session = session;
        _upstream = upstream;
        _control = control;
    }

    /// <summary>The bound TCP port of the explicit front door (useful with port 0), or null.</summary>
    public int? Port { get; private set; }

    /// <summary>The bound TCP port of the transparent front door, or null.</summary>
    public int? TransparentPort { get; private set; }

    /// <summary>The bound TCP port of the metrics listener, or null.</summary>
    public int? MetricsPort { get; private set; }

    /// <summary>The policy currently enforced.</summary>
    public EgressPolicy Policy => _session.Engine.Policy;

    /// <summary>Starts a proxy.</summary>
    /// <param name="options">What to enforce and where to listen.</param>
    /// <param name="cancellationToken">Cancels start-up.</param>
    public static async Task<ProxyServer> StartAsync(ProxyOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Listen is null && options.UnixSocketPath is null && options.TransparentListen is null)
        {
            throw new ArgumentException("the proxy needs a listen address", nameof(options));
        }

        var limits = options.Limits;
        var resolver = new DestinationResolver(options.Resolve, OwnAddresses(options.Listen), limits.ConnectTimeout, ports: options.ResolvePorts);
        ProxySession? session = null;
        ControlChannel? control = null;
        var events = options.Events;
        if (options.Control is { } endpoint)
        {
            var spool = options.ControlSpoolPath ?? Path.Combine(Path.GetTempPath(), $"airlock-{options.SessionId}", "control-spool.ndjson");
            control = new ControlChannel(
                endpoint,
                new ControlChannelOptions { SessionId = options.SessionId, SpoolPath = spool },
                new ProxyControlHandler(() => session!),
                options.LoggerFactory.CreateLogger<ControlChannel>(),
                options.Time);
            events = new FanOutEventSink(options.Events, new ControlEventSink(control));
        }

        session = new ProxySession(options.SessionId, options.Policy, resolver, events, options.Secrets, options.Time, options.Metrics);
        IAskBroker asks = control is null ? new NoControlPlane() : new ControlPlaneAsks(control, session.Events);
        control?.Start();
        var badRequests = new BadRequestEvents(session);
        var steps = new TunnelSteps(session, options.LeafCertificates, asks, limits);
        var frontDoor = new ExplicitFrontDoor(steps, badRequests);
        var transparent = new TransparentFrontDoor(steps, badRequests);
        var upstream = UpstreamClient.Create(options.UpstreamRoots, limits.ConnectTimeout);

        var builder = WebApplication.CreateSlimBuilder(HostingDefaults.Options());
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(badRequests);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel.BadRequests", LogLevel.Debug);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = limits.ShutdownTimeout);
        builder.Services.AddHttpForwarder();

        // Kestrel runs connection middleware and request handling on the thread that completed the socket
        // read instead of queuing it to the thread pool; see InlineSocketCompletions for why that is safe here.
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        ListenOptions? explicitListen = null, transparentListen = null, metricsListen = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // An absolute-form target sets the Host; the request handler then refuses it unless it names the tunnel's host.
            kestrel.AllowHostHeaderOverride = true;
            kestrel.Limits.MaxConcurrentConnections = limits.MaxConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = limits.MaxConnections;
            kestrel.Limits.MaxRequestHeadersTotalSize = limits.MaxRequestHeadBytes;
            kestrel.Limits.MaxRequestHeaderCount = limits.MaxHeaderCount;
            kestrel.Limits.RequestHeadersTimeout = limits.HeadTimeout;
            kestrel.Limits.KeepAliveTimeout = limits.IdleTimeout;

            // Bodies are streamed, never buffered: no size cap here, but slow senders are still cut off.
            kestrel.Limits.MaxRequestBodySize = null;
            if (options.Listen is { } endpoint)
            {
                kestrel.Listen(endpoint, listen => Configure(explicitListen = listen, frontDoor.OnConnectionAsync));
            }

            if (options.TransparentListen is { } transparentEndpoint)
            {
                kestrel.Listen(transparentEndpoint, listen => Configure(transparentListen = listen, transparent.OnConnectionAsync));
            }

            if (options.MetricsListen is { } metricsEndpoint)
            {
                kestrel.Listen(metricsEndpoint, listen =>
                {
                    metricsListen = listen;
                    listen.Protocols = HttpProtocols.Http1;
                });
            }

            if (options.UnixSocketPath is { } path)
            {
                kestrel.ListenUnixSocket(path, listen => Configure(listen, frontDoor.OnConnectionAsync));
            }
        });

        var app = builder.Build();
        var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
        var handler = new ProxyRequestHandler(session, forwarder, upstream, new ForwarderRequestConfig { ActivityTimeout = limits.UpstreamActivityTimeout }, asks);
        app.Run(context => context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(typeof(ClientConnection)) == true
            ? handler.HandleAsync(context)
            : ServeMetricsAsync(context, options.Metrics));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);

        return new ProxyServer(app, session, upstream, control)
        {
            Port = explicitListen?.IPEndPoint?.Port,
            TransparentPort = transparentListen?.IPEndPoint?.Port,
            MetricsPort = metricsListen?.IPEndPoint?.Port,
        };
    }

    /// <summary>Swaps in a new, validated policy for new connections and requests.</summary>
    /// <param name="policy">The new policy.</param>
    public void ReplacePolicy(EgressPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _session.ReplacePolicy(policy);
    }

    /// <summary>Stops accepting, lets connections finish within the shutdown timeout, then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _upstream.Dispose();
        if (_control is not null)
        {
            await _control.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The metrics listener: <c>/metrics</c> in Prometheus text, <c>/healthz</c>.</summary>
    private static async Task ServeMetricsAsync(HttpContext context, ProxyMetrics metrics)
    {
        switch (context.Request.Path.Value)
        {
            case "/metrics":
                context.Response.ContentType = PrometheusText.ContentType;
                var text = new StringWriter(CultureInfo.InvariantCulture);
                metrics.WriteTo(text);
                await context.Response.WriteAsync(text.ToString()).ConfigureAwait(false);
                break;
            case "/healthz":
                await context.Response.WriteAsync("ok\n").ConfigureAwait(false);
                break;
            default:
                context.Response.StatusCode = 404;
                break;
        }
    }

    private static void Configure(ListenOptions listen, Func<ConnectionContext, ConnectionDelegate, Task> frontDoor)
    {
        listen.Protocols = HttpProtocols.Http1AndHttp2;
        listen.Use(next => context => frontDoor(context, next));
    }

    private static HashSet<IPAddress> OwnAddresses(IPEndPoint? listen)
    {
        var own = new HashSet<IPAddress>();
        if (listen is not null && !listen.Address.Equals(IPAddress.Any) && !listen.Address.Equals(IPAddress.IPv6Any))
        {
            own.Add(listen.Address);
        }

        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                {
                    own.Add(unicast.Address);
                }
            }
        }
        catch (NetworkInformationException)
        {
            // Without the interface list the block list still covers loopback and private ranges.
        }

        return own;
    }
}
