using System.Collections.Immutable;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Airlock.Policy.Model;
using Airlock.Proxy.Certificates;
using Airlock.Proxy.Events;
using Airlock.Proxy.Hosting;

namespace Airlock.Sandboxes.Local;

/// <summary>What a local sandbox's session is made of: its policy, its proxy's options, where its files go.</summary>
internal sealed record LocalSessionOptions
{
    public required string SessionId { get; init; }

    public required EgressPolicy Policy { get; init; }

    /// <summary>A directory of the session's own (0700); its <c>public</c> subdirectory is what the sandbox sees.</summary>
    public required string SessionDirectory { get; init; }

    /// <summary>How long the session CA must stay valid.</summary>
    public required TimeSpan Lifetime { get; init; }

    public required IEventSink Events { get; init; }

    public Func<string, string?> Secrets { get; init; } = _ => null;

    public IReadOnlyDictionary<string, IPAddress[]> Resolve { get; init; } = new Dictionary<string, IPAddress[]>();

    public IReadOnlyDictionary<string, int> ResolvePorts { get; init; } = new Dictionary<string, int>();

    public X509Certificate2Collection UpstreamRoots { get; init; } = [];
}

/// <summary>
/// The host side of one local sandbox: a session CA held in memory, the public files the sandbox gets
/// (the CA certificate and the system bundle with it added), and the session's proxy on a unix socket beside
/// them. <c>airlock run</c> and the long-lived sandboxes of <see cref="LocalSandboxDriver"/> both start one.
/// </summary>
internal sealed class LocalSession : IAsyncDisposable
{
    private readonly SessionCertificateAuthority _ca;
    private readonly ProxyServer _proxy;

    private LocalSession(SessionCertificateAuthority ca, ProxyServer proxy, string publicDirectory)
    {
        _ca = ca;
        _proxy = proxy;
        PublicDirectory = publicDirectory;
    }

    /// <summary>The host directory mounted read-only at <see cref="SandboxLayout.RunDirectory"/>.</summary>
    public string PublicDirectory { get; }

    public static async Task<LocalSession> StartAsync(LocalSessionOptions options, CancellationToken cancellationToken)
    {
        var publicDirectory = Directory.CreateDirectory(Path.Combine(options.SessionDirectory, "public")).FullName;
        var ca = SessionCertificateAuthority.Create(options.SessionId, options.Lifetime);
        try
        {
            await WritePublicFilesAsync(publicDirectory, ca, cancellationToken).ConfigureAwait(false);
            var leaves = new LeafCertificateCache(ca);
            var proxy = await ProxyServer.StartAsync(
                new ProxyOptions
                {
                    Policy = options.Policy,
                    SessionId = options.SessionId,
                    LeafCertificates = leaves.GetContext,
                    Events = options.Events,
                    UnixSocketPath = Path.Combine(publicDirectory, "proxy.sock"),
                    Resolve = options.Resolve,
                    ResolvePorts = options.ResolvePorts,
                    UpstreamRoots = options.UpstreamRoots,
                    Secrets = options.Secrets,
                },
                cancellationToken).ConfigureAwait(false);
            return new LocalSession(ca, proxy, publicDirectory);
        }
        catch
        {
            ca.Dispose();
            throw;
        }
    }

    /// <summary>The <c>bwrap</c> arguments for a sandbox of this session running the airlock verb <paramref name="inside"/>.</summary>
    /// <param name="policy">The policy (its file system section).</param>
    /// <param name="workDirectory">The workdir.</param>
    /// <param name="environment">The command's environment (the proxy variables are added).</param>
    /// <param name="airlockCommand">How to start the airlock binary on the host (its last element is the binary).</param>
    /// <param name="inside">The airlock verb and arguments to run inside, e.g. <c>sandbox-init -- CMD</c>.</param>
    public ImmutableArray<string> BubblewrapArguments(
        EgressPolicy policy,
        string workDirectory,
        ImmutableDictionary<string, string> environment,
        ImmutableArray<string> airlockCommand,
        IEnumerable<string> inside)
    {
        // The binary's own directory may be hidden inside (a private /tmp): mount it at a fixed place.
        var binary = airlockCommand[^1];
        return BubblewrapCommand.Arguments(new BubblewrapSpec
        {
            BinaryDirectory = Path.GetDirectoryName(binary),
            Filesystem = policy.Filesystem,
            WorkDirectory = Path.GetFullPath(workDirectory),
            Home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
            PublicDirectory = PublicDirectory,
            Environment = BaseEnvironment().SetItems(environment),
            Command = [.. airlockCommand[..^1], $"{SandboxLayout.BinaryDirectory}/{Path.GetFileName(binary)}", .. inside],
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _proxy.DisposeAsync().ConfigureAwait(false);
        _ca.Dispose();
    }

    private static async Task WritePublicFilesAsync(string publicDirectory, SessionCertificateAuthority ca, CancellationToken cancellationToken)
    {
        ca.WriteCertificate(Path.Combine(publicDirectory, "ca.pem"));
        var system = SandboxLayout.SystemBundlePaths.FirstOrDefault(File.Exists);
        var bundle = system is null ? string.Empty : await File.ReadAllTextAsync(system, cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(publicDirectory, "ca-bundle.pem"), bundle.TrimEnd() + "\n" + ca.CertificatePem.TrimEnd() + "\n", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The little of the host environment a command needs to behave (never credentials).</summary>
    private static ImmutableDictionary<string, string> BaseEnvironment()
    {
        var environment = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var name in new[] { "PATH", "LANG", "LC_ALL", "TERM", "TZ", "HOME", "USER" })
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                environment[name] = value;
            }
        }

        environment.TryAdd("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        return environment.ToImmutable();
    }
}
