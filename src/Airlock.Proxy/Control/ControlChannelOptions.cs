using System.Reflection;

namespace Airlock.Proxy.Control;

/// <summary>Settings of a <see cref="ControlChannel"/>. Immutable; validated when the channel is built.</summary>
public sealed record ControlChannelOptions
{
    /// <summary>The session this proxy serves; sent in <c>hello</c> and in every <c>ask</c>.</summary>
    public required string SessionId { get; init; }

    /// <summary>
    /// The file that keeps events while the control plane is unreachable. Created with mode 0600 (its
    /// directory, when missing, with 0700) and locked: two channels cannot share one spool.
    /// </summary>
    public required string SpoolPath { get; init; }

    /// <summary>The most the spool file may hold; events that do not fit are counted as overflow. Default 64 MiB.</summary>
    public long SpoolMaxBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// The most event bytes held in memory on their way to the socket; past it events go to the spool.
    /// Default 4 MiB.
    /// </summary>
    public int QueueMaxBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>The first reconnect delay (before jitter). Default 100 ms.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest reconnect delay. Default 10 s.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one connection attempt may take. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one write may stall (a plane that stops reading) before the connection is dropped. Default 30 s.</summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>On dispose, how long queued and spooled events may take to reach a connected plane before the rest is left in the spool. Default 2 s.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The <c>proxy_version</c> sent in <c>hello</c>. Default: this assembly's informational version.</summary>
    public string ProxyVersion { get; init; } = DefaultProxyVersion;

    private static string DefaultProxyVersion =>
        typeof(ControlChannelOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? "unknown";
}
