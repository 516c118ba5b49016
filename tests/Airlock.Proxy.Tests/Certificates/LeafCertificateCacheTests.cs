using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Airlock.Proxy.Certificates;

namespace Airlock.Proxy.Tests.Certificates;

public class LeafCertificateCacheTests
{
    [Fact]
    public void One_host_gets_one_leaf_and_hosts_get_their_own()
    {
        using var ca = SessionCertificateAuthority.Create("s", TimeSpan.FromDays(1));
        var cache = new LeafCertificateCache(ca);

        var first = cache.GetContext("api.example.com");
        Assert.Same(first, cache.GetContext("api.example.com"));
        Assert.Same(first.TargetCertificate, cache.Get("api.example.com"));
        Assert.True(first.TargetCertificate.MatchesHostname("api.example.com"));

        var other = cache.GetContext("10.0.0.1");
        Assert.NotSame(first, other);
        Assert.True(other.TargetCertificate.MatchesHostname("10.0.0.1"));
        Assert.Equal(2, cache.Count);
    }

    [Fact]
    public async Task Concurrent_callers_for_one_host_mint_once()
    {
        using var ca = SessionCertificateAuthority.Create("s", TimeSpan.FromDays(1));
        var cache = new LeafCertificateCache(ca);
        using var start = new ManualResetEventSlim();

        var callers = Enumerable.Range(0, 16)
            .Select(_ => Task.Run(() =>
            {
                start.Wait();
                return cache.GetContext("api.example.com");
            }))
            .ToArray();
        start.Set();
        var contexts = await Task.WhenAll(callers);

        Assert.All(contexts, context => Assert.Same(contexts[0], context));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void A_leaf_is_reminted_within_an_hour_of_expiry()
    {
        var time = ManualTimeProvider.NearNow();
        using var ca = SessionCertificateAuthority.Create("s", TimeSpan.FromDays(30), time);
        var cache = new LeafCertificateCache(ca);
        var first = cache.Get("api.example.com");

        time.Advance(SessionCertificateAuthority.LeafLifetime - TimeSpan.FromMinutes(61));
        Assert.Same(first, cache.Get("api.example.com"));

        time.Advance(TimeSpan.FromMinutes(2));
        var renewed = cache.Get("api.example.com");
        Assert.NotSame(first, renewed);
        Assert.True(renewed.NotAfter > first.NotAfter);
        Assert.Same(renewed, cache.Get("api.example.com"));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void A_leaf_that_already_ends_with_its_CA_is_not_reminted()
    {
        var time = ManualTimeProvider.NearNow();
        using var ca = SessionCertificateAuthority.Create("s", TimeSpan.FromMinutes(30), time);
        var cache = new LeafCertificateCache(ca);
        var first = cache.Get("api.example.com");
        Assert.Equal(ca.NotAfter.UtcDateTime, first.NotAfter.ToUniversalTime());

        time.Advance(TimeSpan.FromMinutes(20));
        Assert.Same(first, cache.Get("api.example.com"));
    }

    [Fact]
    public void A_failed_mint_is_not_cached()
    {
        var time = ManualTimeProvider.NearNow();
        using var ca = SessionCertificateAuthority.Create("s", TimeSpan.FromHours(1), time);
        var cache = new LeafCertificateCache(ca);
        var start = time.GetUtcNow();

        time.Set(ca.NotAfter + TimeSpan.FromMinutes(1));
        Assert.Throws<CertificateAuthorityException>(() => cache.GetContext("api.example.com"));
        Assert.Equal(0, cache.Count);

        time.Set(start);
        Assert.NotNull(cache.GetContext("api.example.com"));
        Assert.Throws<ArgumentException>(() => cache.GetContext("API.example.com"));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void The_cache_stays_bounded_and_keeps_what_is_used()
    {
        using var ca = SessionCertificateAuthority.Create("s", TimeSpan.FromDays(1));
        var cache = new LeafCertificateCache(ca, capacity: 5);
        var hot = cache.GetContext("hot.example");

        for (var i = 0; i < 20; i++)
        {
            cache.GetContext($"host{i}.example");
            Assert.Same(hot, cache.GetContext("hot.example"));
            Assert.InRange(cache.Count, 1, 5);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Capacity_must_be_positive(int capacity)
    {
        using var ca = SessionCertificateAuthority.Create("s", TimeSpan.FromDays(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LeafCertificateCache(ca, capacity: capacity));
    }

    public enum Issuer
    {
        SessionCA,
        CorporateIssuingCA,
    }

    [Theory]
    [InlineData("api.example.com", Issuer.SessionCA)]
    [InlineData("pypi.org", Issuer.SessionCA)]
    [InlineData("api.example.com", Issuer.CorporateIssuingCA)]
    public async Task A_client_trusting_only_the_root_completes_a_real_handshake_with_h2(string host, Issuer issuer)
    {
        using var directory = new TemporaryDirectory();
        X509Certificate2 root;
        SessionCertificateAuthority ca;
        if (issuer == Issuer.SessionCA)
        {
            ca = SessionCertificateAuthority.Create("s", TimeSpan.FromHours(1));
            root = X509CertificateLoader.LoadCertificate(ca.Certificate.RawData);
        }
        else
        {
            (root, var certificatePem, var keyPem) = TestCertificates.MakeIntermediate();
            File.WriteAllText(directory.File("ca.crt"), certificatePem);
            File.WriteAllText(directory.File("ca.key"), keyPem);
            ca = SessionCertificateAuthority.LoadFromDirectory(directory.Path);
        }

        using var trusted = root;
        using var authority = ca;
        var cache = new LeafCertificateCache(ca);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var (serverTcp, clientTcp) = await ConnectedPair();
        using var serverConnection = serverTcp;
        using var clientConnection = clientTcp;
        await using var server = new SslStream(serverTcp.GetStream());
        await using var client = new SslStream(clientTcp.GetStream());

        string? serverName = null;
        var serverHandshake = server.AuthenticateAsServerAsync(
            (_, hello, _, _) =>
            {
                serverName = hello.ServerName;
                return ValueTask.FromResult(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = cache.GetContext(hello.ServerName),
                    ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
                });
            },
            null,
            timeout.Token);

        var chain = (Valid: false, Status: "callback not called", Length: 0);
        var sentIssuingCA = false;
        await client.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = host,
                ApplicationProtocols = [SslApplicationProtocol.Http2],
                RemoteCertificateValidationCallback = (_, certificate, sent, _) =>
                {
                    var leaf = (X509Certificate2)certificate!;
                    var extra = sent!.ChainPolicy.ExtraStore;
                    sentIssuingCA = extra.Any(c => c.Thumbprint == ca.Certificate.Thumbprint);
                    chain = TestCertificates.BuildChain(leaf, trusted, DateTimeOffset.UtcNow, extra);
                    return chain.Valid && leaf.MatchesHostname(host, allowWildcards: false, allowCommonName: false);
                },
            },
            timeout.Token);
        await serverHandshake;

        Assert.Equal(host, serverName);
        Assert.True(chain.Valid, chain.Status);
        Assert.Equal(SslApplicationProtocol.Http2, client.NegotiatedApplicationProtocol);
        Assert.Equal(SslApplicationProtocol.Http2, server.NegotiatedApplicationProtocol);
        Assert.Equal(cache.Get(host).Thumbprint, Assert.IsType<X509Certificate2>(client.RemoteCertificate).Thumbprint);

        // A self-signed session CA is a root: clients must already trust it, so it is not sent. A corporate
        // issuing CA is sent, so clients that trust only the corporate root can build the chain.
        var intermediates = cache.GetContext(host).IntermediateCertificates;
        if (issuer == Issuer.SessionCA)
        {
            Assert.Equal(2, chain.Length);
            Assert.Empty(intermediates);
            Assert.False(sentIssuingCA);
        }
        else
        {
            Assert.Equal(3, chain.Length);
            Assert.Equal(ca.Certificate.Thumbprint, Assert.Single(intermediates).Thumbprint);
            Assert.True(sentIssuingCA);
        }

        await client.WriteAsync("ping"u8.ToArray(), timeout.Token);
        var received = new byte[4];
        await server.ReadExactlyAsync(received, timeout.Token);
        Assert.Equal("ping"u8.ToArray(), received);
    }

    [Fact]
    public async Task A_client_that_does_not_trust_the_CA_refuses_the_leaf()
    {
        using var ca = SessionCertificateAuthority.Create("s", TimeSpan.FromHours(1));
        var cache = new LeafCertificateCache(ca);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var (serverTcp, clientTcp) = await ConnectedPair();
        using var serverConnection = serverTcp;
        using var clientConnection = clientTcp;
        await using var server = new SslStream(serverTcp.GetStream());
        await using var client = new SslStream(clientTcp.GetStream());

        var serverHandshake = server.AuthenticateAsServerAsync(
            new SslServerAuthenticationOptions { ServerCertificateContext = cache.GetContext("api.example.com") }, timeout.Token);
        await Assert.ThrowsAsync<AuthenticationException>(
            () => client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "api.example.com" }, timeout.Token));
        client.Close();

        // With TLS 1.3 the server may finish before the client rejects; either outcome is fine here.
        await serverHandshake.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private static async Task<(TcpClient Server, TcpClient Client)> ConnectedPair()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var client = new TcpClient();
            var connecting = client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
            var server = await listener.AcceptTcpClientAsync();
            await connecting;
            return (server, client);
        }
        finally
        {
            listener.Stop();
        }
    }
}
