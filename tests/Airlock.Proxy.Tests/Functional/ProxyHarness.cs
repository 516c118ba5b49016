using System.Globalization;
using System.Net;
using System.Text;
using Airlock.Policy.Loading;
using Airlock.Proxy.Certificates;
using Airlock.Proxy.Events;
using Airlock.Proxy.Hosting;
using Airlock.Proxy.Tests.Infrastructure;

namespace Airlock.Proxy.Tests.Functional;

/// <summary>
/// A real proxy in front of a real <see cref="FakeOrigin"/>: session CA, NDJSON events in a temp file, names
/// resolved to the origin's loopback address with <c>--resolve</c>-style overrides. Policy text may use
/// <c>{https}</c> and <c>{http}</c> for the origin's ports.
/// </summary>
internal sealed class ProxyHarness : IAsyncDisposable
{
    private readonly string _directory;
    private readonly NdjsonEventSink _events;
    private readonly SessionCertificateAuthority _ca;
    private IReadOnlyList<EgressEvent>? _recorded;

    private ProxyHarness(string directory, NdjsonEventSink events, SessionCertificateAuthority ca, ProxyServer server, FakeOrigin origin)
    {
        _directory = directory;
        _events = events;
        _ca = ca;
        Server = server;
        Origin = origin;
    }

    public ProxyServer Server { get; }

    public FakeOrigin Origin { get; }

    public int Port => Server.Port!.Value;

    public string ProxyUrl => $"http://127.0.0.1:{Port}";

    /// <summary>The session CA certificate (PEM) clients trust.</summary>
    public string CaPemPath => Path.Combine(_directory, "session-ca.pem");

    public X509Certificate2Wrapper SessionCa => new(_ca.Certificate);

    public string EventsPath => Path.Combine(_directory, "events.ndjson");

    public static async Task<ProxyHarness> StartAsync(FakeOrigin origin, string policyYaml, Func<ProxyOptions, ProxyOptions>? configure = null, params string[] extraNames)
    {
        var text = policyYaml
            .Replace("{https}", origin.HttpsPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{http}", origin.HttpPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var loaded = PolicyLoader.Parse(text, "test-policy.yaml");
        Assert.True(loaded.Policy is not null, string.Join('\n', loaded.Diagnostics));

        var directory = Directory.CreateTempSubdirectory("airlock-proxy-test-").FullName;
        var ca = SessionCertificateAuthority.Create("test", TimeSpan.FromHours(1));
        ca.WriteCertificate(Path.Combine(directory, "session-ca.pem"));
        var events = NdjsonEventSink.Open(Path.Combine(directory, "events.ndjson"));
        var leaves = new LeafCertificateCache(ca);
        var resolve = new Dictionary<string, IPAddress[]>(StringComparer.Ordinal);
        foreach (var name in new[] { "api.test", "other.test", "a.origin.test" }.Concat(extraNames))
        {
            resolve[name] = [origin.Address];
        }

        var options = new ProxyOptions
        {
            Policy = loaded.Policy!,
            SessionId = "test-session",
            LeafCertificates = leaves.GetContext,
            Events = events,
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Resolve = resolve,
            UpstreamRoots = [TestCertificates.Root],
            Secrets = name => name == "TOKEN" ? "s3cret-token-value" : null,
        };
        var server = await ProxyServer.StartAsync(configure?.Invoke(options) ?? options);
        return new ProxyHarness(directory, events, ca, server, origin);
    }

    /// <summary>Runs real curl through the proxy, trusting the session CA.</summary>
    public Task<CurlResult> CurlAsync(params string[] args) =>
        Curl.RunAsync(["--proxy", ProxyUrl, "--cacert", CaPemPath, "--max-time", "20", .. args]);

    public string HttpsUrl(string pathAndQuery, string host = "api.test") =>
        $"https://{host}:{Origin.HttpsPort}{pathAndQuery}";

    public string HttpUrl(string pathAndQuery, string host = "api.test") =>
        $"http://{host}:{Origin.HttpPort}{pathAndQuery}";

    /// <summary>Stops the proxy and returns every event it wrote, read back from the NDJSON file.</summary>
    public async Task<IReadOnlyList<EgressEvent>> EventsAsync()
    {
        if (_recorded is null)
        {
            await Server.DisposeAsync();
            await _events.DisposeAsync();
            var lines = await File.ReadAllLinesAsync(EventsPath, Encoding.UTF8);
            _recorded = [.. lines.Where(l => l.Length > 0).Select(l => EventJson.Parse(Encoding.UTF8.GetBytes(l)))];
        }

        return _recorded;
    }

    public async ValueTask DisposeAsync()
    {
        await EventsAsync();
        _ca.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>Keeps the CA certificate accessible to tests without exposing the CA.</summary>
internal sealed record X509Certificate2Wrapper(System.Security.Cryptography.X509Certificates.X509Certificate2 Certificate);
