namespace Airlock.Proxy;

/// <summary>Bounds that keep hostile or broken clients from holding the proxy's resources.</summary>
public sealed record ProxyLimits
{
    /// <summary>Most concurrent client connections.</summary>
    public long MaxConnections { get; init; } = 10_000;

    /// <summary>Longest request head (request line and headers) in bytes; longer gets 431.</summary>
    public int MaxRequestHeadBytes { get; init; } = 32 * 1024;

    /// <summary>Most header fields in one request.</summary>
    public int MaxHeaderCount { get; init; } = 100;

    /// <summary>Time for a request head (CONNECT or HTTP) or a TLS handshake to arrive (slowloris defence).</summary>
    public TimeSpan HeadTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Time to connect to an upstream.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Idle time after which a keep-alive client connection is closed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Time without upstream activity before a forwarded request fails with 504.</summary>
    public TimeSpan UpstreamActivityTimeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>Longest life of a relayed tunnel.</summary>
    public TimeSpan TunnelLifetime { get; init; } = TimeSpan.FromHours(12);

    /// <summary>How long graceful shutdown waits for connections to finish.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The defaults.</summary>
    public static ProxyLimits Default { get; } = new();
}
