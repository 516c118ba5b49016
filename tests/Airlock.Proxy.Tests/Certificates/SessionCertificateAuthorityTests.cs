using System.Net;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Airlock.Proxy.Certificates;
using static Airlock.Proxy.Tests.Certificates.TestCertificates;

namespace Airlock.Proxy.Tests.Certificates;

// File modes are part of the contract; the proxy runs on Linux.
[UnsupportedOSPlatform("windows")]
public class SessionCertificateAuthorityTests
{
    private static readonly TimeSpan Skew = TimeSpan.FromMinutes(5);

    [Fact]
    public void Create_makes_a_P256_CA_with_the_specified_name_extensions_and_validity()
    {
        var time = ManualTimeProvider.NearNow();
        var now = time.GetUtcNow();
        using var ca = SessionCertificateAuthority.Create("s-123", TimeSpan.FromHours(8), time);
        var certificate = ca.Certificate;

        Assert.Equal("CN=Airlock session s-123 CA, O=Airlock", certificate.Subject);
        Assert.Equal(certificate.Subject, certificate.Issuer);
        Assert.False(certificate.HasPrivateKey);
        Assert.Equal("1.2.840.10045.4.3.2", certificate.SignatureAlgorithm.Value); // ecdsa-with-SHA256
        using (var publicKey = certificate.GetECDsaPublicKey())
        {
            Assert.NotNull(publicKey);
            Assert.Equal(256, publicKey.KeySize);
        }

        var basicConstraints = Extension<X509BasicConstraintsExtension>(certificate);
        Assert.True(basicConstraints.Critical);
        Assert.True(basicConstraints.CertificateAuthority);
        Assert.True(basicConstraints.HasPathLengthConstraint);
        Assert.Equal(0, basicConstraints.PathLengthConstraint);

        var keyUsage = Extension<X509KeyUsageExtension>(certificate);
        Assert.True(keyUsage.Critical);
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, keyUsage.KeyUsages);

        Assert.False(Extension<X509SubjectKeyIdentifierExtension>(certificate).SubjectKeyIdentifierBytes.IsEmpty);

        Assert.Equal(now - Skew, ca.NotBefore);
        Assert.Equal(now + TimeSpan.FromHours(8) + Skew, ca.NotAfter);
        Assert.Equal(ca.NotAfter.UtcDateTime, certificate.NotAfter.ToUniversalTime());

        var serial = certificate.SerialNumberBytes.Span;
        Assert.Equal(16, serial.Length);
        Assert.InRange(serial[0], 0x01, 0x7F);

        Assert.StartsWith("-----BEGIN CERTIFICATE-----", ca.CertificatePem, StringComparison.Ordinal);
        using var fromPem = X509Certificate2.CreateFromPem(ca.CertificatePem);
        Assert.Equal(certificate.Thumbprint, fromPem.Thumbprint);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("a\nb")]
    [InlineData("0123456789012345678901234567890123456789012345")] // 46 characters: the CN would exceed 64
    public void Create_refuses_unusable_session_ids(string sessionId) =>
        Assert.ThrowsAny<ArgumentException>(() => SessionCertificateAuthority.Create(sessionId, TimeSpan.FromHours(1)));

    [Fact]
    public void Create_puts_session_ids_with_name_syntax_into_the_common_name_verbatim()
    {
        using var ca = SessionCertificateAuthority.Create("a,O=Evil+CN=x", TimeSpan.FromHours(1));
        var commonName = ca.Certificate.SubjectName.EnumerateRelativeDistinguishedNames()
            .Single(name => name.GetSingleElementType().Value == "2.5.4.3")
            .GetSingleElementValue();
        Assert.Equal("Airlock session a,O=Evil+CN=x CA", commonName);
    }

    [Theory]
    [InlineData("api.example.com")]
    [InlineData("a_b.example.com")]
    [InlineData("xn--bcher-kva.example")]
    [InlineData("localhost")]
    [InlineData("10.1.2.3")]
    [InlineData("2001:db8::1")]
    [InlineData("::1")]
    public void IssueLeaf_mints_a_server_certificate_that_chains_to_the_CA_and_matches_the_host(string host)
    {
        var time = ManualTimeProvider.NearNow();
        var now = time.GetUtcNow();
        using var ca = SessionCertificateAuthority.Create("s", TimeSpan.FromDays(30), time);
        using var leaf = ca.IssueLeaf(host);

        Assert.True(leaf.HasPrivateKey);
        using (var privateKey = leaf.GetECDsaPrivateKey())
        {
            Assert.NotNull(privateKey);
            Assert.Equal(256, privateKey.KeySize);
        }

        Assert.Equal(ca.Certificate.Subject, leaf.Issuer);
        var alternativeNames = Extension<X509SubjectAlternativeNameExtension>(leaf);
        if (IPAddress.TryParse(host, out var address))
        {
            Assert.Equal(address, Assert.Single(alternativeNames.EnumerateIPAddresses()));
            Assert.Empty(alternativeNames.EnumerateDnsNames());
        }
        else
        {
            Assert.Equal(host, Assert.Single(alternativeNames.EnumerateDnsNames()));
            Assert.Empty(alternativeNames.EnumerateIPAddresses());
        }

        Assert.True(leaf.MatchesHostname(host, allowWildcards: false, allowCommonName: false));
        Assert.False(leaf.MatchesHostname("other.example", allowWildcards: false, allowCommonName: false));

        var usages = Extension<X509EnhancedKeyUsageExtension>(leaf).EnhancedKeyUsages;
        Assert.Equal(ServerAuthentication, Assert.Single(usages.Cast<Oid>()).Value);

        var keyUsage = Extension<X509KeyUsageExtension>(leaf);
        Assert.True(keyUsage.Critical);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, keyUsage.KeyUsages);

        Assert.False(Extension<X509BasicConstraintsExtension>(leaf).CertificateAuthority);

        var authorityKey = Extension<X509AuthorityKeyIdentifierExtension>(leaf).KeyIdentifier;
        Assert.NotNull(authorityKey);
        var caKey = Extension<X509SubjectKeyIdentifierExtension>(ca.Certificate).SubjectKeyIdentifierBytes;
        Assert.Equal(caKey.ToArray(), authorityKey.Value.ToArray());
        var leafKey = Extension<X509SubjectKeyIdentifierExtension>(leaf).SubjectKeyIdentifierBytes;
        Assert.NotEqual(caKey.ToArray(), leafKey.ToArray());

        Assert.Equal((now - Skew).UtcDateTime, leaf.NotBefore.ToUniversalTime());
        Assert.Equal((now + SessionCertificateAuthority.LeafLifetime).UtcDateTime, leaf.NotAfter.ToUniversalTime());

        var (valid, status, length) = BuildChain(leaf, ca.Certificate, now);
        Assert.True(valid, status);
        Assert.Equal(2, length);
    }

    [Fact]
    public void A_leaf_never_outlives_a_short_lived_CA()
    {
        var time = ManualTimeProvider.NearNow();
        using var ca = SessionCertificateAuthority.Create("short", TimeSpan.FromHours(1), time);

        using var first = ca.IssueLeaf("api.example.com");
        Assert.Equal(ca.NotAfter.UtcDateTime, first.NotAfter.ToUniversalTime());

        time.Advance(TimeSpan.FromMinutes(50));
        using var later = ca.IssueLeaf("api.example.com");
        Assert.Equal(ca.NotAfter.UtcDateTime, later.NotAfter.ToUniversalTime());
        Assert.True(BuildChain(later, ca.Certificate, ca.NotAfter - TimeSpan.FromSeconds(1)).Valid);
        Assert.False(BuildChain(later, ca.Certificate, ca.NotAfter + TimeSpan.FromSeconds(1)).Valid);
    }

    [Fact]
    public void An_expired_CA_issues_nothing()
    {
        var time = ManualTimeProvider.NearNow();
        using var ca = SessionCertificateAuthority.Create("s", TimeSpan.FromHours(1), time);
        time.Set(ca.NotAfter);

        var error = Assert.Throws<CertificateAuthorityException>(() => ca.IssueLeaf("api.example.com"));
        Assert.Contains("expired", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("API.example.com")]
    [InlineData("api.example.com.")]
    [InlineData("[::1]")]
    [InlineData("127.1")]
    [InlineData("0:0::1")]
    [InlineData("bücher.example")]
    [InlineData("")]
    [InlineData("a b")]
    public void IssueLeaf_refuses_hosts_that_are_not_canonical(string host)
    {
        using var ca = SessionCertificateAuthority.Create("s", TimeSpan.FromHours(1));
        Assert.Throws<ArgumentException>(() => ca.IssueLeaf(host));
    }

    [Fact]
    public void Serial_numbers_are_random()
    {
        using var first = SessionCertificateAuthority.Create("s", TimeSpan.FromHours(1));
        using var second = SessionCertificateAuthority.Create("s", TimeSpan.FromHours(1));
        var leaves = Enumerable.Range(0, 20).Select(_ => first.IssueLeaf("api.example.com")).ToList();
        var serials = leaves.Select(leaf => leaf.SerialNumber)
            .Append(first.Certificate.SerialNumber)
            .Append(second.Certificate.SerialNumber)
            .ToList();

        Assert.Equal(serials.Count, serials.Distinct(StringComparer.Ordinal).Count());
        Assert.All(leaves, leaf => Assert.Equal(16, leaf.SerialNumberBytes.Length));
        leaves.ForEach(leaf => leaf.Dispose());
    }

    [Fact]
    public void Written_files_load_back_and_the_key_file_is_0600()
    {
        using var directory = new TemporaryDirectory();
        using var ca = SessionCertificateAuthority.Create("s", TimeSpan.FromDays(1));
        var certificatePath = directory.File("session.crt");
        var keyPath = directory.File("session.key");

        // A key file that already exists with a loose mode is replaced, not rewritten in place.
        File.WriteAllText(keyPath, "old");
        File.SetUnixFileMode(keyPath, (UnixFileMode)0b110_110_110);

        ca.WriteCertificate(certificatePath);
        ca.WriteKey(keyPath);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
        var certificateMode = File.GetUnixFileMode(certificatePath);
        Assert.True(certificateMode.HasFlag(UnixFileMode.UserRead));
        Assert.Equal(UnixFileMode.None, certificateMode & (UnixFileMode)0b001_011_011); // no execute, no write by others
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(keyPath), StringComparison.Ordinal);
        Assert.Equal(["session.crt", "session.key"], Directory.GetFiles(directory.Path).Select(Path.GetFileName).Order());

        using var loaded = SessionCertificateAuthority.Load(certificatePath, keyPath);
        Assert.Equal(ca.Certificate.Thumbprint, loaded.Certificate.Thumbprint);
        Assert.Equal(ca.NotAfter, loaded.NotAfter);
        Assert.False(loaded.Certificate.HasPrivateKey);

        using var leaf = loaded.IssueLeaf("api.example.com");
        Assert.True(BuildChain(leaf, ca.Certificate, DateTimeOffset.UtcNow).Valid);
    }

    [Theory]
    [InlineData(KeyKind.EcPkcs8, "1.2.840.10045.4.3.2")]
    [InlineData(KeyKind.EcSec1, "1.2.840.10045.4.3.2")]
    [InlineData(KeyKind.EcP384Pkcs8, "1.2.840.10045.4.3.3")]
    [InlineData(KeyKind.RsaPkcs1, "1.2.840.113549.1.1.11")]
    [InlineData(KeyKind.RsaPkcs8, "1.2.840.113549.1.1.11")]
    public void Load_accepts_corporate_CAs_in_the_usual_key_formats(KeyKind kind, string leafSignatureAlgorithm)
    {
        using var directory = new TemporaryDirectory();
        var (certificatePem, keyPem) = MakeAuthority(kind);
        File.WriteAllText(directory.File("ca.crt"), certificatePem);
        File.WriteAllText(directory.File("ca.key"), keyPem);

        using var ca = SessionCertificateAuthority.LoadFromDirectory(directory.Path);
        using var leaf = ca.IssueLeaf("pypi.org");

        Assert.Equal("CN=Corp Root, O=Corp", leaf.Issuer);
        Assert.Equal(leafSignatureAlgorithm, leaf.SignatureAlgorithm.Value);
        Assert.True(BuildChain(leaf, ca.Certificate, DateTimeOffset.UtcNow).Valid);
    }

    public enum LoadFault
    {
        MissingCertificate,
        MissingKey,
        CertificateNotPem,
        TwoCertificates,
        KeyNotPem,
        EncryptedKey,
        OtherCAsKey,
        RsaKeyForEcCertificate,
        TwoKeys,
        NotACertificateAuthority,
        NoCertificateSigning,
        Expired,
        NotYetValid,
        ShortRsaKey,
    }

    [Theory]
    [InlineData(LoadFault.MissingCertificate, "ca.crt' does not exist")]
    [InlineData(LoadFault.MissingKey, "ca.key' does not exist")]
    [InlineData(LoadFault.CertificateNotPem, "contains no PEM certificate")]
    [InlineData(LoadFault.TwoCertificates, "contains 2 certificates")]
    [InlineData(LoadFault.KeyNotPem, "contains no private key")]
    [InlineData(LoadFault.EncryptedKey, "is encrypted")]
    [InlineData(LoadFault.OtherCAsKey, "does not belong to the CA certificate")]
    [InlineData(LoadFault.RsaKeyForEcCertificate, "does not belong to the CA certificate")]
    [InlineData(LoadFault.TwoKeys, "contains 2 private keys")]
    [InlineData(LoadFault.NotACertificateAuthority, "is not a CA certificate")]
    [InlineData(LoadFault.NoCertificateSigning, "keyCertSign")]
    [InlineData(LoadFault.Expired, "expired at")]
    [InlineData(LoadFault.NotYetValid, "is not valid until")]
    [InlineData(LoadFault.ShortRsaKey, "at least 2048 bits")]
    public void Load_explains_what_is_wrong(LoadFault fault, string expected)
    {
        using var directory = new TemporaryDirectory();
        var (certificatePem, keyPem) = MakeAuthority(KeyKind.EcPkcs8);
        var (otherCertificatePem, otherKeyPem) = MakeAuthority(KeyKind.EcPkcs8);
        var now = DateTimeOffset.UtcNow;
        switch (fault)
        {
            case LoadFault.MissingCertificate:
                certificatePem = null;
                break;
            case LoadFault.MissingKey:
                keyPem = null;
                break;
            case LoadFault.CertificateNotPem:
                certificatePem = "hello";
                break;
            case LoadFault.TwoCertificates:
                certificatePem += "\n" + otherCertificatePem;
                break;
            case LoadFault.KeyNotPem:
                keyPem = certificatePem;
                break;
            case LoadFault.EncryptedKey:
                using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
                {
                    keyPem = key.ExportEncryptedPkcs8PrivateKeyPem(
                        "secret", new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000));
                }

                break;
            case LoadFault.OtherCAsKey:
                keyPem = otherKeyPem;
                break;
            case LoadFault.RsaKeyForEcCertificate:
                keyPem = MakeAuthority(KeyKind.RsaPkcs8).Key;
                break;
            case LoadFault.TwoKeys:
                keyPem += "\n" + otherKeyPem;
                break;
            case LoadFault.NotACertificateAuthority:
                (certificatePem, keyPem) = MakeAuthority(KeyKind.EcPkcs8, isAuthority: false, usage: X509KeyUsageFlags.DigitalSignature);
                break;
            case LoadFault.NoCertificateSigning:
                (certificatePem, keyPem) = MakeAuthority(KeyKind.EcPkcs8, usage: X509KeyUsageFlags.CrlSign);
                break;
            case LoadFault.Expired:
                (certificatePem, keyPem) = MakeAuthority(KeyKind.EcPkcs8, notBefore: now.AddDays(-10), notAfter: now.AddDays(-1));
                break;
            case LoadFault.NotYetValid:
                (certificatePem, keyPem) = MakeAuthority(KeyKind.EcPkcs8, notBefore: now.AddDays(1), notAfter: now.AddDays(10));
                break;
            case LoadFault.ShortRsaKey:
                (certificatePem, keyPem) = MakeAuthority(KeyKind.Rsa1024);
                break;
        }

        if (certificatePem is not null)
        {
            File.WriteAllText(directory.File("ca.crt"), certificatePem);
        }

        if (keyPem is not null)
        {
            File.WriteAllText(directory.File("ca.key"), keyPem);
        }

        var error = Assert.Throws<CertificateAuthorityException>(() => SessionCertificateAuthority.LoadFromDirectory(directory.Path));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains(directory.Path, error.Message, StringComparison.Ordinal);
        if (keyPem is not null)
        {
            Assert.DoesNotContain(keyPem.Split('\n')[1], error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Load_refuses_a_CA_that_expired_by_the_given_clock()
    {
        using var directory = new TemporaryDirectory();
        var time = ManualTimeProvider.NearNow();
        using (var ca = SessionCertificateAuthority.LoadOrCreateInDirectory(directory.Path, "s", TimeSpan.FromHours(1), time))
        {
            time.Set(ca.NotAfter);
        }

        var error = Assert.Throws<CertificateAuthorityException>(() => SessionCertificateAuthority.LoadFromDirectory(directory.Path, time));
        Assert.Contains("expired at", error.Message, StringComparison.Ordinal);
        Assert.Contains("delete ca.crt and ca.key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_CA_directory_is_created_once_and_loaded_afterwards()
    {
        using var parent = new TemporaryDirectory();
        var directory = parent.File("ca");

        string thumbprint;
        using (var created = SessionCertificateAuthority.LoadOrCreateInDirectory(directory, "first", TimeSpan.FromHours(2)))
        {
            thumbprint = created.Certificate.Thumbprint;
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(directory, "ca.key")));
        Assert.True(File.GetUnixFileMode(Path.Combine(directory, "ca.crt")).HasFlag(UnixFileMode.UserRead));
        Assert.Equal(["ca.crt", "ca.key"], Directory.GetFiles(directory).Select(Path.GetFileName).Order());

        using var loaded = SessionCertificateAuthority.LoadOrCreateInDirectory(directory, "second", TimeSpan.FromHours(2));
        Assert.Equal(thumbprint, loaded.Certificate.Thumbprint);
        Assert.Contains("first", loaded.Certificate.Subject, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ca.crt", "has ca.crt but no ca.key")]
    [InlineData("ca.key", "has ca.key but no ca.crt")]
    public void A_CA_directory_with_half_a_CA_is_an_error(string present, string expected)
    {
        using var directory = new TemporaryDirectory();
        File.WriteAllText(directory.File(present), "x");

        var error = Assert.Throws<CertificateAuthorityException>(
            () => SessionCertificateAuthority.LoadOrCreateInDirectory(directory.Path, "s", TimeSpan.FromHours(1)));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(directory.Path));
    }

    [Fact]
    public void A_CA_directory_others_can_write_is_refused()
    {
        using var directory = new TemporaryDirectory();
        File.SetUnixFileMode(directory.Path, (UnixFileMode)0b111_111_111);

        var error = Assert.Throws<CertificateAuthorityException>(
            () => SessionCertificateAuthority.LoadOrCreateInDirectory(directory.Path, "s", TimeSpan.FromHours(1)));
        Assert.Contains("writable by group or others", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(directory.Path));
    }

    [Fact]
    public void A_disposed_CA_issues_nothing()
    {
        var ca = SessionCertificateAuthority.Create("s", TimeSpan.FromHours(1));
        ca.Dispose();
        ca.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ca.IssueLeaf("api.example.com"));
    }
}
