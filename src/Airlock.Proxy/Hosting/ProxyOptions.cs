using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Airlock.Policy.Model;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;
using Airlock.Proxy.Metrics;

namespace Airlock.Proxy.Hosting;

/// <summary>Everything one proxy instance (one session) is started with.</summary>
public sealed record ProxyOptions
{
    /// <summary>The validated policy to enforce.</summary>
    public required EgressPolicy Policy { get; init; }

    /// <summary>The session id written into every event.</summary>
    public required string SessionId { get; init; }

    /// <summary>Leaf certificates for interception, by canonical host (minted from the session CA).</summary>
    public required Func<string, SslStreamCertificateContext> LeafCertificates { get; init; }

    /// <summary>Where events go.</summary>
    public required IEventSink Events { get; init; }

    /// <summary>The explicit front door (HTTP proxy and CONNECT); port 0 picks a free port.</summary>
    public IPEndPoint? Listen { get; init; }

    /// <summary>The transparent front door, for connections redirected by nftables/iptables.</summary>
    public IPEndPoint? TransparentListen { get; init; }

    /// <summary>The explicit front door on a unix socket (the local sandbox bridge).</summary>
    public string? UnixSocketPath { get; init; }

    /// <summary>Names resolved to these addresses instead of DNS (the address checks still apply).</summary>
    public IReadOnlyDictionary<string, IPAddress[]> Resolve { get; init; } = new Dictionary<string, IPAddress[]>();

    /// <summary>Ports to dial instead of the requested one for overridden names (offline demos and tests).</summary>
    public IReadOnlyDictionary<string, int> ResolvePorts { get; init; } = new Dictionary<string, int>();

    /// <summary>Extra roots trusted for upstream TLS besides the system's (corporate roots, tests).</summary>
    public X509Certificate2Collection UpstreamRoots { get; init; } = [];

    /// <summary>Secrets for <c>inject</c>, by name; never given to the sandbox.</summary>
    public Func<string, string?> Secrets { get; init; } = _ => null;

    /// <summary>Limits and timeouts.</summary>
    public ProxyLimits Limits { get; init; } = ProxyLimits.Default;

    /// <summary>Where counters and histograms are kept (served at <c>/metrics</c> on <see cref="MetricsListen"/>).</summary>
    public ProxyMetrics Metrics { get; init; } = new();

    /// <summary>Where Prometheus metrics are served, if anywhere.</summary>
    public IPEndPoint? MetricsListen { get; init; }

    /// <summary>The control plane to dial out to (events, asks, policy updates), if any.</summary>
    public ControlEndpoint? Control { get; init; }

    /// <summary>Where events wait while the control plane is away (default: a 0700 directory under the temp path).</summary>
    public string? ControlSpoolPath { get; init; }

    /// <summary>Where the proxy's own diagnostics go (the control channel's connection problems).</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory LoggerFactory { get; init; } = Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;

    /// <summary>Time source (tests substitute it).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
