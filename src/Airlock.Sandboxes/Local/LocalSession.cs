using System.Collections.Immutable;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Airlock.Policy.Model;
using Airlock.Proxy.Certificates;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;
using Airlock.Proxy.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

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

    /// <summary>The control plane the proxy dials, if any (events also still go to <see cref="Events"/>).</summary>
    public ControlEndpoint? Control { get; init; }

    /// <summary>Where events wait while the control plane is away: a file in a 0700 directory of the session's.</summary>
    public string? ControlSpoolPath { get; init; }

    /// <summary>Where the proxy's own diagnostics go (the control channel's connection problems).</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}

/// <summary>
/// The host side of one local sandbox: a session CA held in memory, the public files the sandbox gets
/// (the CA certificate and the system bundle with it added), and the session's proxy on a unix socket beside
/// them. <c>airlock run</c> and the long-lived sandboxes of <see cref="LocalSandboxDriver"/> both start one.
/// </summary>
internal sealed class LocalSession : IAsyncDisposable
{
    private readonly SessionCertificateAuthority _ca;
    private readonly Task<ProxyServer> _proxy;

    private LocalSession(SessionCertificateAuthority ca, Task<ProxyServer> proxy, string publicDirectory)
    {
        _ca = ca;
        _proxy = proxy;
        PublicDirectory = publicDirectory;
    }

    /// <summary>The host directory mounted read-only at <see cref="SandboxLayout.RunDirectory"/>.</summary>
    public string PublicDirectory { get; }

    /// <summary>Completes when the proxy listens on its socket; faults if it cannot start.</summary>
    public Task ProxyStarted => _proxy;

    /// <summary>Starts a session and returns once its proxy listens.</summary>
    public static async Task<LocalSession> StartAsync(LocalSessionOptions options, CancellationToken cancellationToken)
    {
        var session = Begin(options);
        try
        {
            await session._proxy.WaitAsync(cancellationToken).ConfigureAwait(false);
            return session;
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Creates the session CA and the public files, and starts the proxy without waiting for it
    /// (<see cref="ProxyStarted"/>): the sandbox can start at once, because its bridge waits for the socket.
    /// </summary>
    public static LocalSession Begin(LocalSessionOptions options)
    {
        var publicDirectory = Directory.CreateDirectory(Path.Combine(options.SessionDirectory, "public")).FullName;
        var ca = SessionCertificateAuthority.Create(options.SessionId, options.Lifetime);
        try
        {
            WritePublicFiles(publicDirectory, ca);
            var leaves = new LeafCertificateCache(ca);
            var proxyOptions = new ProxyOptions
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
                Control = options.Control,
                ControlSpoolPath = options.ControlSpoolPath,
                LoggerFactory = options.LoggerFactory,
            };

            // Off the caller's thread: much of the start is synchronous (building the host), and the caller has a
            // sandbox to start meanwhile.
            var proxy = Task.Run(() => ProxyServer.StartAsync(proxyOptions, CancellationToken.None));
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

    /// <summary>Waits for the proxy's start to end, stops the proxy if it started, and forgets the CA.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            // A start failure is the owner's to observe through ProxyStarted; here only what started is stopped.
            await ((Task)_proxy).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (_proxy.IsCompletedSuccessfully)
            {
                await _proxy.Result.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _ca.Dispose();
        }
    }

    private static void WritePublicFiles(string publicDirectory, SessionCertificateAuthority ca)
    {
        ca.WriteCertificate(Path.Combine(publicDirectory, "ca.pem"));
        var bundle = Path.Combine(publicDirectory, "ca-bundle.pem");

        // The system bundle is copied by the kernel (a few hundred KB that this process need not read): the session
        // CA goes after it, with a newline first in case the bundle lacks a final one (PEM allows blank lines).
        if (SandboxLayout.SystemBundlePaths.FirstOrDefault(File.Exists) is { } system)
        {
            File.Copy(system, bundle);
        }

        File.AppendAllText(bundle, "\n" + ca.CertificatePem.TrimEnd() + "\n");
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
