using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Airlock.Proxy.Tests.Infrastructure;

namespace Airlock.Proxy.Tests.InfrastructureTests;

public class TestCertificatesTests
{
    [Fact]
    public void Root_is_one_CA_for_the_whole_run()
    {
        var roots = Enumerable.Range(0, 8).AsParallel().Select(_ => TestCertificates.Root).Distinct().ToList();

        var root = Assert.Single(roots);
        Assert.True(root.HasPrivateKey);
        Assert.True(root.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
    }

    [Fact]
    public void Issued_leaf_carries_the_names_and_ips_as_SANs_for_server_auth()
    {
        using var leaf = TestCertificates.IssueServer("api.test", "*.origin.test", "127.0.0.2", "::1");

        var san = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["api.test", "*.origin.test"], san.EnumerateDnsNames());
        Assert.Equal(["127.0.0.2", "::1"], san.EnumerateIPAddresses().Select(ip => ip.ToString()));
        Assert.Contains(leaf.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>(), oid => oid.Value == "1.3.6.1.5.5.7.3.1");
        Assert.False(leaf.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal(TestCertificates.Root.SubjectName.Name, leaf.IssuerName.Name);
        Assert.True(leaf.HasPrivateKey);
    }

    [Fact]
    public void TrustOnly_accepts_a_leaf_of_the_root_and_nothing_else()
    {
        using var other = TestCertificates.CreateCertificateAuthority("Other CA");
        using var ours = TestCertificates.IssueServer("api.test");
        using var theirs = TestCertificates.Issue(other, "api.test");
        var trustOurs = TestCertificates.TrustOnly(TestCertificates.Root);

        // What the platform reports for a private root: chain errors only.
        Assert.True(trustOurs(this, ours, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(trustOurs(this, theirs, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(trustOurs(this, ours, null, SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(trustOurs(this, null, null, SslPolicyErrors.RemoteCertificateNotAvailable));
        Assert.True(TestCertificates.TrustOnly(other)(this, theirs, null, SslPolicyErrors.RemoteCertificateChainErrors));
    }

    [Fact]
    public void Root_PEM_file_holds_the_root_certificate_without_its_key()
    {
        var pem = File.ReadAllText(TestCertificates.RootPemPath);

        Assert.StartsWith("-----BEGIN CERTIFICATE-----", pem, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", pem, StringComparison.Ordinal);
        using var loaded = X509Certificate2.CreateFromPem(pem);
        Assert.Equal(TestCertificates.Root.Thumbprint, loaded.Thumbprint);
        Assert.Same(TestCertificates.RootPemPath, TestCertificates.RootPemPath);
    }
}
