using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Airlock.Proxy.Tests.Certificates;

/// <summary>Chain checks and hand-made CAs (corporate-style, broken) for the certificate tests.</summary>
public static class TestCertificates
{
    public const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";

    public static T Extension<T>(X509Certificate2 certificate)
        where T : X509Extension =>
        Assert.Single(certificate.Extensions.OfType<T>());

    /// <summary>Builds the chain of <paramref name="leaf"/> trusting only <paramref name="root"/>, at <paramref name="at"/>.</summary>
    public static (bool Valid, string Status, int Length) BuildChain(
        X509Certificate2 leaf, X509Certificate2 root, DateTimeOffset at, X509Certificate2Collection? sent = null)
    {
        using var chain = new X509Chain();
        if (sent is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(sent);
        }

        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ServerAuthentication));
        var valid = chain.Build(leaf);
        var status = string.Join(", ", chain.ChainStatus.Select(s => $"{s.Status}: {s.StatusInformation}"));
        return (valid, status, chain.ChainElements.Count);
    }

    public enum KeyKind
    {
        EcPkcs8,
        EcSec1,
        EcP384Pkcs8,
        RsaPkcs1,
        RsaPkcs8,
        Rsa1024,
    }

    /// <summary>A corporate issuing CA under an offline root: the root, and the issuing CA as PEM certificate and key.</summary>
    public static (X509Certificate2 Root, string Certificate, string Key) MakeIntermediate()
    {
        var now = DateTimeOffset.UtcNow;
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rootRequest = new CertificateRequest("CN=Corp Offline Root, O=Corp", rootKey, HashAlgorithmName.SHA256);
        rootRequest.CertificateExtensions.Add(X509BasicConstraintsExtension.CreateForCertificateAuthority());
        rootRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, critical: true));
        var rootKeyIdentifier = new X509SubjectKeyIdentifierExtension(rootRequest.PublicKey, critical: false);
        rootRequest.CertificateExtensions.Add(rootKeyIdentifier);
        using var root = rootRequest.CreateSelfSigned(now.AddDays(-1), now.AddYears(2));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Corp Issuing CA, O=Corp", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(X509BasicConstraintsExtension.CreateForCertificateAuthority(pathLengthConstraint: 0));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(rootKeyIdentifier));
        using var issuing = request.Create(root, now.AddHours(-1), now.AddYears(1), RandomNumberGenerator.GetBytes(8));
        return (X509CertificateLoader.LoadCertificate(root.RawData), issuing.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>A CA made outside Airlock, as PEM certificate and key.</summary>
    public static (string Certificate, string Key) MakeAuthority(
        KeyKind kind,
        bool isAuthority = true,
        X509KeyUsageFlags usage = X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign,
        DateTimeOffset? notBefore = null,
        DateTimeOffset? notAfter = null)
    {
        using AsymmetricAlgorithm key = kind switch
        {
            KeyKind.EcPkcs8 or KeyKind.EcSec1 => ECDsa.Create(ECCurve.NamedCurves.nistP256),
            KeyKind.EcP384Pkcs8 => ECDsa.Create(ECCurve.NamedCurves.nistP384),
            KeyKind.Rsa1024 => RSA.Create(1024),
            _ => RSA.Create(2048),
        };
        var request = key switch
        {
            ECDsa ecdsa => new CertificateRequest("CN=Corp Root, O=Corp", ecdsa, HashAlgorithmName.SHA256),
            RSA rsa => new CertificateRequest("CN=Corp Root, O=Corp", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            _ => throw new InvalidOperationException(),
        };
        request.CertificateExtensions.Add(isAuthority
            ? X509BasicConstraintsExtension.CreateForCertificateAuthority()
            : X509BasicConstraintsExtension.CreateForEndEntity());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(notBefore ?? now.AddDays(-1), notAfter ?? now.AddYears(1));
        var keyPem = key switch
        {
            ECDsa ecdsa when kind == KeyKind.EcSec1 => ecdsa.ExportECPrivateKeyPem(),
            RSA rsa when kind is KeyKind.RsaPkcs1 or KeyKind.Rsa1024 => rsa.ExportRSAPrivateKeyPem(),
            _ => key.ExportPkcs8PrivateKeyPem(),
        };
        return (certificate.ExportCertificatePem(), keyPem);
    }
}
