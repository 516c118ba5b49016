using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Airlock.Proxy.Tests.Infrastructure;

/// <summary>
/// A test root CA, made once per test run on first use, and server leaves it signs. Clients trust it
/// explicitly (custom root trust), never through "accept any certificate".
/// </summary>
public static class TestCertificates
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1", "Server Authentication");

    private static readonly Lazy<X509Certificate2> LazyRoot = new(CreateRoot, LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly Lazy<string> LazyRootPemPath = new(WriteRootPem, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The test root CA, with its private key (ECDSA P-256).</summary>
    public static X509Certificate2 Root => LazyRoot.Value;

    /// <summary>
    /// A PEM file holding <see cref="Root"/> only (no key), written once per run and deleted at exit:
    /// for <c>curl --cacert</c> and the proxy's <c>--upstream-ca</c>.
    /// </summary>
    public static string RootPemPath => LazyRootPemPath.Value;

    /// <summary>
    /// Issues a server leaf signed by <see cref="Root"/>, with the private key. Each argument that parses
    /// as an IP address becomes an IP SAN, anything else a DNS SAN (wildcards such as <c>*.origin.test</c> allowed).
    /// The subject CN is the first name.
    /// </summary>
    public static X509Certificate2 IssueServer(params string[] namesOrIps) => Issue(Root, namesOrIps);

    /// <summary>Issues a server leaf signed by <paramref name="issuer"/> (a CA certificate with its key), for negative tests with another root.</summary>
    public static X509Certificate2 Issue(X509Certificate2 issuer, params string[] namesOrIps)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(namesOrIps);
        if (namesOrIps.Length == 0)
        {
            throw new ArgumentException("a server certificate needs at least one name or IP", nameof(namesOrIps));
        }

        var san = new SubjectAlternativeNameBuilder();
        foreach (var nameOrIp in namesOrIps)
        {
            if (IPAddress.TryParse(nameOrIp, out var ip))
            {
                san.AddIpAddress(ip);
            }
            else
            {
                san.AddDnsName(nameOrIp);
            }
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + namesOrIps[0]), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth], false));
        request.CertificateExtensions.Add(san.Build(critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));

        var now = DateTimeOffset.UtcNow;
        var notAfter = now.AddDays(7) < issuer.NotAfter ? now.AddDays(7) : new DateTimeOffset(issuer.NotAfter.ToUniversalTime());
        using var signed = request.Create(issuer, now.AddHours(-1), notAfter, SerialNumber());
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>Creates a fresh CA (not <see cref="Root"/>), for tests that need an untrusted issuer.</summary>
    public static X509Certificate2 CreateCertificateAuthority(string commonName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + commonName + ", O=Airlock tests"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));

        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
    }

    /// <summary>
    /// A validation callback that accepts a server certificate only if it chains to exactly
    /// <paramref name="trustedRoot"/> for server authentication and matches the host name the client asked for.
    /// For <see cref="SslClientAuthenticationOptions"/>, <c>ClientWebSocket.Options</c> and <see cref="SocketsHttpHandler"/>.
    /// </summary>
    public static RemoteCertificateValidationCallback TrustOnly(X509Certificate2 trustedRoot)
    {
        ArgumentNullException.ThrowIfNull(trustedRoot);
        return (_, certificate, presented, errors) => ChainsTo(trustedRoot, certificate, presented, errors);
    }

    /// <summary>
    /// A handler that trusts only <paramref name="trustedRoot"/>, ignores proxy environment variables
    /// and does not follow redirects. With <paramref name="connectTo"/>, every connection goes to that
    /// address on the URI's port whatever the host name (like curl's <c>--resolve</c>), so SNI and Host
    /// stay the names under test. Do not combine <paramref name="connectTo"/> with a proxy: it would
    /// redirect the proxy connection too.
    /// </summary>
    public static SocketsHttpHandler CreateHandler(X509Certificate2 trustedRoot, IPAddress? connectTo = null)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            SslOptions = { RemoteCertificateValidationCallback = TrustOnly(trustedRoot) },
        };
        if (connectTo is not null)
        {
            handler.ConnectCallback = (context, cancellationToken) =>
                ConnectAsync(new IPEndPoint(connectTo, context.DnsEndPoint.Port), cancellationToken);
        }

        return handler;
    }

    private static bool ChainsTo(X509Certificate2 trustedRoot, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        // Name mismatch and "no certificate" stay fatal; only the platform's chain verdict is replaced.
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(trustedRoot);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(ServerAuth);
        if (presented is not null)
        {
            // Intermediates the server sent help path building; they are never anchors.
            foreach (var element in presented.ChainElements.Skip(1))
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        var leaf = certificate as X509Certificate2;
        using var owned = leaf is null ? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()) : null;
        return chain.Build(leaf ?? owned!);
    }

    private static async ValueTask<Stream> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static X509Certificate2 CreateRoot() => CreateCertificateAuthority($"Airlock Test Root {Environment.ProcessId}");

    private static string WriteRootPem()
    {
        var path = Path.Combine(Path.GetTempPath(), $"airlock-test-root-{Environment.ProcessId}-{Guid.NewGuid():N}.pem");
        File.WriteAllText(path, Root.ExportCertificatePem() + "\n");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => File.Delete(path);
        return path;
    }

    private static byte[] SerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // positive
        return serial;
    }
}
