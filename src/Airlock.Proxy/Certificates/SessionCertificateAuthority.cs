using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Airlock.Policy.Hosts;

namespace Airlock.Proxy.Certificates;

/// <summary>
/// The certificate authority of one session: it signs the leaf certificates the proxy presents when it
/// intercepts TLS. Created fresh per session (ECDSA P-256) or loaded from PEM files (ECDSA or RSA, for a
/// corporate CA). The private key stays inside this object except when written with <see cref="WriteKey"/>.
/// </summary>
/// <remarks>
/// Leaves are returned with an ephemeral private key, which <see cref="System.Net.Security.SslStream"/> accepts
/// on Linux and macOS; the proxy runs on Linux. Thread-safe: <see cref="IssueLeaf"/> may be called concurrently.
/// </remarks>
public sealed class SessionCertificateAuthority : IDisposable
{
    /// <summary>The certificate's file name inside a CA directory.</summary>
    public const string CertificateFileName = "ca.crt";

    /// <summary>The private key's file name inside a CA directory.</summary>
    public const string KeyFileName = "ca.key";

    /// <summary>The longest session id that fits a CA common name (RFC 5280 allows 64 characters).</summary>
    public const int MaxSessionIdLength = 64 - 19;

    /// <summary>How far certificates reach into the past and the CA into the future, for clocks that disagree.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>The longest a leaf lives; a leaf never outlives its CA.</summary>
    public static readonly TimeSpan LeafLifetime = TimeSpan.FromDays(7);

    private const UnixFileMode KeyFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode CertificateFileMode = KeyFileMode | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode DirectoryMode = KeyFileMode | UnixFileMode.UserExecute;
    private const UnixFileMode GroupOrOtherWrite = UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;
    private const int SerialNumberLength = 16;
    private const int MaxPemFileBytes = 1 << 20;
    private const int MaxCommonNameLength = 64;
    private const int MinRsaKeySize = 2048;
    private const string ServerAuthenticationOid = "1.3.6.1.5.5.7.3.1";
    private const string EcPublicKeyOid = "1.2.840.10045.2.1";
    private const string RsaPublicKeyOid = "1.2.840.113549.1.1.1";

    private readonly AsymmetricAlgorithm key;
    private readonly X509SignatureGenerator signer;
    private readonly HashAlgorithmName signatureHash;
    private readonly X509AuthorityKeyIdentifierExtension? authorityKeyIdentifier;
    private readonly Lock signing = new();
    private volatile bool disposed;

    private SessionCertificateAuthority(X509Certificate2 certificate, AsymmetricAlgorithm key, TimeProvider timeProvider)
    {
        Debug.Assert(!certificate.HasPrivateKey, "The exposed certificate carries no private key.");
        Certificate = certificate;
        this.key = key;
        TimeProvider = timeProvider;
        (signer, signatureHash) = key switch
        {
            ECDsa ecdsa => (X509SignatureGenerator.CreateForECDsa(ecdsa), HashForCurve(ecdsa.KeySize)),
            RSA rsa => (X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1), HashAlgorithmName.SHA256),
            _ => throw new UnreachableException("Only ECDSA and RSA keys are loaded."),
        };

        NotBefore = ToUtc(certificate.NotBefore);
        NotAfter = ToUtc(certificate.NotAfter);
        CertificatePem = certificate.ExportCertificatePem();

        // A CA without a subject key identifier (rare, old corporate CAs) gets leaves without an AKI:
        // validators then match issuers by name, which is what they do for such CAs anyway.
        var subjectKeyIdentifier = certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault();
        authorityKeyIdentifier = subjectKeyIdentifier is null
            ? null
            : X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(subjectKeyIdentifier);
    }

    /// <summary>The CA certificate, without its private key: what clients in the sandbox are told to trust.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The CA certificate in PEM (<c>-----BEGIN CERTIFICATE-----</c>).</summary>
    public string CertificatePem { get; }

    /// <summary>When the CA becomes valid (UTC).</summary>
    public DateTimeOffset NotBefore { get; }

    /// <summary>When the CA expires (UTC); no leaf is valid after it.</summary>
    public DateTimeOffset NotAfter { get; }

    /// <summary>The clock used for validity periods.</summary>
    internal TimeProvider TimeProvider { get; }

    /// <summary>
    /// Creates a new self-signed ECDSA P-256 CA for a session: <c>CN=Airlock session &lt;id&gt; CA, O=Airlock</c>,
    /// basic constraints CA with path length 0 and key usage keyCertSign and cRLSign (both critical), a subject key
    /// identifier, a random 16-byte serial, valid from <see cref="ClockSkew"/> ago until
    /// <paramref name="lifetime"/> plus <see cref="ClockSkew"/> from now.
    /// </summary>
    /// <param name="sessionId">The session id, at most <see cref="MaxSessionIdLength"/> characters, no control characters.</param>
    /// <param name="lifetime">How long the session lasts.</param>
    /// <param name="timeProvider">The clock; the system clock when null.</param>
    /// <returns>The CA, owning its private key.</returns>
    public static SessionCertificateAuthority Create(string sessionId, TimeSpan lifetime, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sessionId);
        if (sessionId.Length > MaxSessionIdLength || sessionId.Any(char.IsControl))
        {
            throw new ArgumentException(
                $"A session id must be at most {MaxSessionIdLength} characters without control characters.", nameof(sessionId));
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);

        var time = timeProvider ?? TimeProvider.System;
        var now = time.GetUtcNow();
        var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            // The builder encodes in reverse order of the calls, so this is O first, CN last in DER.
            var name = new X500DistinguishedNameBuilder();
            name.AddCommonName($"Airlock session {sessionId} CA");
            name.AddOrganizationName("Airlock");
            var subject = name.Build();

            var request = new CertificateRequest(subject, caKey, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(X509BasicConstraintsExtension.CreateForCertificateAuthority(pathLengthConstraint: 0));
            request.CertificateExtensions.Add(
                new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));

            using var signed = request.Create(
                subject,
                X509SignatureGenerator.CreateForECDsa(caKey),
                now - ClockSkew,
                now + lifetime + ClockSkew,
                NewSerialNumber());
            return new SessionCertificateAuthority(X509CertificateLoader.LoadCertificate(signed.RawData), caKey, time);
        }
        catch
        {
            caKey.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads a CA from a PEM certificate and a PEM private key (PKCS#8 or SEC1 for EC, PKCS#8 or PKCS#1 for RSA;
    /// unencrypted). The certificate must be a CA, currently valid, and the key must be its key.
    /// </summary>
    /// <param name="certificatePemPath">The file holding exactly one PEM certificate.</param>
    /// <param name="keyPemPath">The file holding exactly one PEM private key.</param>
    /// <param name="timeProvider">The clock; the system clock when null.</param>
    /// <returns>The CA, owning its private key.</returns>
    /// <exception cref="CertificateAuthorityException">A file is missing or unreadable, the certificate is not a CA or not
    /// currently valid, or the key is encrypted, unsupported or not the certificate's key.</exception>
    public static SessionCertificateAuthority Load(string certificatePemPath, string keyPemPath, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(certificatePemPath);
        ArgumentNullException.ThrowIfNull(keyPemPath);
        var time = timeProvider ?? TimeProvider.System;

        var certificate = ReadCertificate(certificatePemPath);
        try
        {
            CheckIsAuthority(certificate, certificatePemPath);
            CheckValidity(certificate, certificatePemPath, time.GetUtcNow());
            var privateKey = ReadKey(keyPemPath, certificate, certificatePemPath);
            return new SessionCertificateAuthority(certificate, privateKey, time);
        }
        catch
        {
            certificate.Dispose();
            throw;
        }
    }

    /// <summary>Loads <see cref="CertificateFileName"/> and <see cref="KeyFileName"/> from a directory.</summary>
    /// <param name="directory">The CA directory.</param>
    /// <param name="timeProvider">The clock; the system clock when null.</param>
    /// <returns>The CA.</returns>
    /// <exception cref="CertificateAuthorityException">As for <see cref="Load"/>.</exception>
    public static SessionCertificateAuthority LoadFromDirectory(string directory, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        return Load(Path.Combine(directory, CertificateFileName), Path.Combine(directory, KeyFileName), timeProvider);
    }

    /// <summary>
    /// What <c>--ca-dir DIR</c> means: load <see cref="CertificateFileName"/> and <see cref="KeyFileName"/> from the
    /// directory when both exist; when neither exists, create a CA (see <see cref="Create"/>) and write it there,
    /// creating the directory with mode 0700 and the key with mode 0600. A loaded CA keeps its own validity;
    /// <paramref name="lifetime"/> only applies to a new one.
    /// </summary>
    /// <param name="directory">The CA directory.</param>
    /// <param name="sessionId">The session id, for a new CA's name.</param>
    /// <param name="lifetime">A new CA's lifetime.</param>
    /// <param name="timeProvider">The clock; the system clock when null.</param>
    /// <returns>The loaded or new CA.</returns>
    /// <exception cref="CertificateAuthorityException">Only one of the two files exists, an existing directory is
    /// writable by group or others, the files cannot be written, or loading fails as for <see cref="Load"/>.</exception>
    public static SessionCertificateAuthority LoadOrCreateInDirectory(
        string directory, string sessionId, TimeSpan lifetime, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var certificatePath = Path.Combine(directory, CertificateFileName);
        var keyPath = Path.Combine(directory, KeyFileName);
        var hasCertificate = File.Exists(certificatePath);
        var hasKey = File.Exists(keyPath);
        if (hasCertificate != hasKey)
        {
            var (present, missing) = hasCertificate ? (CertificateFileName, KeyFileName) : (KeyFileName, CertificateFileName);
            throw new CertificateAuthorityException(
                $"CA directory '{directory}' has {present} but no {missing}. Put both the CA certificate and its key there, " +
                "or neither to have Airlock create a new CA.");
        }

        if (hasCertificate)
        {
            return Load(certificatePath, keyPath, timeProvider);
        }

        PrepareDirectory(directory);
        var authority = Create(sessionId, lifetime, timeProvider);
        try
        {
            authority.WriteKeyFile(keyPath, overwrite: false);
            WriteFile(certificatePath, Encoding.ASCII.GetBytes(authority.CertificatePem), CertificateFileMode, overwrite: false);
            return authority;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            authority.Dispose();
            throw new CertificateAuthorityException($"Cannot write the new CA into '{directory}': {e.Message}", e);
        }
    }

    /// <summary>
    /// Mints a leaf for <paramref name="canonicalHost"/>: ECDSA P-256, the host as DNS name or IP address
    /// subject alternative name, EKU serverAuth, key usage digitalSignature (critical), basic constraints CA:false,
    /// AKI (the CA's SKI) and SKI, a random serial, valid from <see cref="ClockSkew"/> ago for
    /// <see cref="LeafLifetime"/> but never past <see cref="NotAfter"/>.
    /// </summary>
    /// <param name="canonicalHost">A host in canonical form (<see cref="HostCanonicalizer"/>): lower-case DNS name,
    /// dotted IPv4, or IPv6 without brackets.</param>
    /// <returns>The leaf with its private key, usable as an <see cref="System.Net.Security.SslStream"/> server certificate.
    /// The caller owns it.</returns>
    /// <exception cref="ArgumentException"><paramref name="canonicalHost"/> is not in canonical form.</exception>
    /// <exception cref="CertificateAuthorityException">The CA has expired.</exception>
    public X509Certificate2 IssueLeaf(string canonicalHost)
    {
        ArgumentNullException.ThrowIfNull(canonicalHost);
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!HostCanonicalizer.TryCanonicalize(canonicalHost, out var host, out _)
            || !string.Equals(host.Value, canonicalHost, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{canonicalHost}' is not a canonical host.", nameof(canonicalHost));
        }

        var now = TimeProvider.GetUtcNow();
        if (now >= NotAfter)
        {
            throw new CertificateAuthorityException(
                $"The session CA expired at {Format(NotAfter)}; it cannot issue certificates. Start a new session or replace the CA.");
        }

        var notBefore = Max(now - ClockSkew, NotBefore);
        var notAfter = Min(now + LeafLifetime, NotAfter);

        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = new X500DistinguishedNameBuilder();
        if (host.Value.Length <= MaxCommonNameLength)
        {
            name.AddCommonName(host.Value);
        }

        name.AddOrganizationName("Airlock");

        var request = new CertificateRequest(name.Build(), leafKey, signatureHash);
        var alternativeNames = new SubjectAlternativeNameBuilder();
        if (host.Address is { } address)
        {
            alternativeNames.AddIpAddress(address);
        }
        else
        {
            alternativeNames.AddDnsName(host.Value);
        }

        request.CertificateExtensions.Add(alternativeNames.Build(critical: false));
        request.CertificateExtensions.Add(X509BasicConstraintsExtension.CreateForEndEntity(critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(
            new X509EnhancedKeyUsageExtension([new Oid(ServerAuthenticationOid)], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        if (authorityKeyIdentifier is not null)
        {
            request.CertificateExtensions.Add(authorityKeyIdentifier);
        }

        // Instances of the asymmetric algorithms are not documented as thread-safe; signing is cheap next to
        // generating the leaf key, which happens outside the lock.
        lock (signing)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            using var issued = request.Create(Certificate.SubjectName, signer, notBefore, notAfter, NewSerialNumber());
            return issued.CopyWithPrivateKey(leafKey);
        }
    }

    /// <summary>Writes <see cref="CertificatePem"/> to <paramref name="path"/> (mode 0644), replacing the file atomically.</summary>
    /// <param name="path">The file to write.</param>
    public void WriteCertificate(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        WriteFile(path, Encoding.ASCII.GetBytes(CertificatePem), CertificateFileMode, overwrite: true);
    }

    /// <summary>
    /// Writes the private key as unencrypted PKCS#8 PEM to <paramref name="path"/>, replacing the file atomically.
    /// The file is created with mode 0600 from the start (never written first and restricted afterwards).
    /// </summary>
    /// <param name="path">The file to write.</param>
    public void WriteKey(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        WriteKeyFile(path, overwrite: true);
    }

    /// <summary>
    /// The private key as unencrypted PKCS#8 PEM, for a proxy that runs elsewhere (a Kubernetes Secret read only
    /// by that proxy). Prefer <see cref="WriteKey"/> for files; never hand this to a sandbox.
    /// </summary>
    public string ExportKeyPem()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        byte[] der;
        lock (signing)
        {
            der = key.ExportPkcs8PrivateKey();
        }

        try
        {
            return new string(PemEncoding.Write("PRIVATE KEY", der));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(der);
        }
    }

    /// <summary>Disposes the private key and <see cref="Certificate"/>.</summary>
    public void Dispose()
    {
        lock (signing)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            key.Dispose();
            Certificate.Dispose();
        }
    }

    private void WriteKeyFile(string path, bool overwrite)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        byte[] der;
        lock (signing)
        {
            der = key.ExportPkcs8PrivateKey();
        }

        var pem = PemEncoding.Write("PRIVATE KEY", der);
        var bytes = Encoding.ASCII.GetBytes(pem);
        try
        {
            WriteFile(path, bytes, KeyFileMode, overwrite);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(der);
            CryptographicOperations.ZeroMemory(bytes);
            Array.Clear(pem);
        }
    }

    // Writes a temporary file in the target's directory, created with its final mode, then renames it over the
    // target: readers never see a partial file and a key file is never, even briefly, readable by others.
    private static void WriteFile(string path, byte[] contents, UnixFileMode mode, bool overwrite)
    {
        var fullPath = Path.GetFullPath(path);
        var temporary = Path.Combine(
            Path.GetDirectoryName(fullPath) ?? ".",
            $".{Path.GetFileName(fullPath)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(contents);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, fullPath, overwrite);
        }
        catch
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The original error is the one worth reporting.
            }

            throw;
        }
    }

    private static void PrepareDirectory(string directory)
    {
        try
        {
            if (!Directory.Exists(directory))
            {
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(directory);
                }
                else
                {
                    Directory.CreateDirectory(directory, DirectoryMode);
                }

                return;
            }

            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(directory) & GroupOrOtherWrite) != 0)
            {
                throw new CertificateAuthorityException(
                    $"CA directory '{directory}' is writable by group or others, so someone else could replace the CA. " +
                    $"Run 'chmod 700 {directory}' or use another directory.");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CertificateAuthorityException($"Cannot create CA directory '{directory}': {e.Message}", e);
        }
    }

    private static string ReadText(string path, string what)
    {
        if (!File.Exists(path))
        {
            throw new CertificateAuthorityException($"{what} file '{path}' does not exist.");
        }

        try
        {
            if (new FileInfo(path).Length > MaxPemFileBytes)
            {
                throw new CertificateAuthorityException($"{what} file '{path}' is larger than 1 MiB; it is not a PEM file.");
            }

            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CertificateAuthorityException($"Cannot read {what} file '{path}': {e.Message}", e);
        }
    }

    private static X509Certificate2 ReadCertificate(string path)
    {
        var text = ReadText(path, "CA certificate");
        byte[]? der = null;
        var count = 0;
        foreach (var (label, data) in PemBlocks(text))
        {
            if (label == "CERTIFICATE")
            {
                count++;
                der ??= data;
            }
        }

        if (count == 0 || der is null)
        {
            throw new CertificateAuthorityException(
                $"CA certificate file '{path}' contains no PEM certificate (-----BEGIN CERTIFICATE-----).");
        }

        if (count > 1)
        {
            throw new CertificateAuthorityException(
                $"CA certificate file '{path}' contains {count} certificates; it must contain only the CA certificate.");
        }

        try
        {
            return X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException e)
        {
            throw new CertificateAuthorityException($"CA certificate file '{path}' does not hold a valid X.509 certificate.", e);
        }
    }

    private static void CheckIsAuthority(X509Certificate2 certificate, string path)
    {
        var basicConstraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        if (basicConstraints is null || !basicConstraints.CertificateAuthority)
        {
            throw new CertificateAuthorityException(
                $"The certificate in '{path}' ({certificate.Subject}) is not a CA certificate: it lacks basic constraints CA:TRUE, " +
                "so it cannot issue certificates. Use the CA certificate, not a server certificate.");
        }

        var keyUsage = certificate.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
        if (keyUsage is not null && (keyUsage.KeyUsages & X509KeyUsageFlags.KeyCertSign) == 0)
        {
            throw new CertificateAuthorityException(
                $"The CA certificate in '{path}' ({certificate.Subject}) does not allow certificate signing (key usage lacks keyCertSign).");
        }
    }

    private static void CheckValidity(X509Certificate2 certificate, string path, DateTimeOffset now)
    {
        var notAfter = ToUtc(certificate.NotAfter);
        if (now >= notAfter)
        {
            throw new CertificateAuthorityException(
                $"The CA certificate in '{path}' expired at {Format(notAfter)}. Replace the CA (for --ca-dir, delete " +
                $"{CertificateFileName} and {KeyFileName} to have a new one created).");
        }

        var notBefore = ToUtc(certificate.NotBefore);
        if (now + ClockSkew < notBefore)
        {
            throw new CertificateAuthorityException(
                $"The CA certificate in '{path}' is not valid until {Format(notBefore)}; check the system clock.");
        }
    }

    private static AsymmetricAlgorithm ReadKey(string path, X509Certificate2 certificate, string certificatePath)
    {
        var text = ReadText(path, "CA key");
        var keys = 0;
        foreach (var (label, data) in PemBlocks(text))
        {
            CryptographicOperations.ZeroMemory(data);
            switch (label)
            {
                case "ENCRYPTED PRIVATE KEY":
                    throw new CertificateAuthorityException(
                        $"CA key file '{path}' is encrypted. Airlock needs an unencrypted key in a file only it can read; " +
                        "decrypt it with 'openssl pkey -in ENCRYPTED -out ca.key' and 'chmod 600 ca.key'.");
                case "PRIVATE KEY" or "EC PRIVATE KEY" or "RSA PRIVATE KEY":
                    keys++;
                    break;
            }
        }

        if (keys == 0)
        {
            throw new CertificateAuthorityException(
                $"CA key file '{path}' contains no private key (expected -----BEGIN PRIVATE KEY-----, EC PRIVATE KEY or " +
                "RSA PRIVATE KEY; encrypted keys are not supported).");
        }

        if (keys > 1)
        {
            throw new CertificateAuthorityException($"CA key file '{path}' contains {keys} private keys; it must contain only the CA's key.");
        }

        var mismatch = $"The key in '{path}' does not belong to the CA certificate in '{certificatePath}'.";
        switch (certificate.GetKeyAlgorithm())
        {
            case EcPublicKeyOid:
                {
                    using var publicKey = certificate.GetECDsaPublicKey()
                        ?? throw new CertificateAuthorityException($"The CA certificate in '{certificatePath}' has an unreadable EC public key.");
                    if (publicKey.KeySize is not (256 or 384 or 521))
                    {
                        throw new CertificateAuthorityException(
                            $"The CA certificate in '{certificatePath}' uses a {publicKey.KeySize}-bit curve; Airlock supports P-256, P-384 and P-521.");
                    }

                    var privateKey = ECDsa.Create();
                    try
                    {
                        privateKey.ImportFromPem(text);
                        var expected = publicKey.ExportParameters(includePrivateParameters: false).Q;
                        var actual = privateKey.ExportParameters(includePrivateParameters: false).Q;
                        if (privateKey.KeySize != publicKey.KeySize
                            || !expected.X.AsSpan().SequenceEqual(actual.X)
                            || !expected.Y.AsSpan().SequenceEqual(actual.Y))
                        {
                            throw new CertificateAuthorityException(mismatch);
                        }

                        return privateKey;
                    }
                    catch (Exception e) when (e is ArgumentException or CryptographicException)
                    {
                        privateKey.Dispose();
                        throw new CertificateAuthorityException(
                            $"{mismatch} The certificate has an EC public key, and the file holds no readable EC private key.", e);
                    }
                    catch
                    {
                        privateKey.Dispose();
                        throw;
                    }
                }

            case RsaPublicKeyOid:
                {
                    using var publicKey = certificate.GetRSAPublicKey()
                        ?? throw new CertificateAuthorityException($"The CA certificate in '{certificatePath}' has an unreadable RSA public key.");
                    if (publicKey.KeySize < MinRsaKeySize)
                    {
                        throw new CertificateAuthorityException(
                            $"The CA certificate in '{certificatePath}' has a {publicKey.KeySize}-bit RSA key; Airlock requires at least {MinRsaKeySize} bits.");
                    }

                    var privateKey = RSA.Create();
                    try
                    {
                        privateKey.ImportFromPem(text);
                        var expected = publicKey.ExportParameters(includePrivateParameters: false);
                        var actual = privateKey.ExportParameters(includePrivateParameters: false);
                        if (!expected.Modulus.AsSpan().SequenceEqual(actual.Modulus)
                            || !expected.Exponent.AsSpan().SequenceEqual(actual.Exponent))
                        {
                            throw new CertificateAuthorityException(mismatch);
                        }

                        return privateKey;
                    }
                    catch (Exception e) when (e is ArgumentException or CryptographicException)
                    {
                        privateKey.Dispose();
                        throw new CertificateAuthorityException(
                            $"{mismatch} The certificate has an RSA public key, and the file holds no readable RSA private key.", e);
                    }
                    catch
                    {
                        privateKey.Dispose();
                        throw;
                    }
                }

            default:
                throw new CertificateAuthorityException(
                    $"The CA certificate in '{certificatePath}' uses key algorithm {certificate.GetKeyAlgorithm()}; Airlock supports ECDSA and RSA CAs.");
        }
    }

    // The PEM blocks of a file, decoded; blocks that are not valid PEM (such as legacy encrypted keys with
    // headers) are skipped, so they surface as "no key found".
    private static List<(string Label, byte[] Data)> PemBlocks(string text)
    {
        var blocks = new List<(string, byte[])>();
        var rest = text.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            var data = new byte[fields.DecodedDataLength];
            if (Convert.TryFromBase64Chars(rest[fields.Base64Data], data, out var written))
            {
                blocks.Add((rest[fields.Label].ToString(), written == data.Length ? data : data[..written]));
            }

            if (written != data.Length)
            {
                CryptographicOperations.ZeroMemory(data);
            }

            rest = rest[fields.Location.End..];
        }

        return blocks;
    }

    private static byte[] NewSerialNumber()
    {
        // Positive (top bit clear) and minimal (first byte not zero), so the DER INTEGER is exactly 16 bytes.
        var serial = RandomNumberGenerator.GetBytes(SerialNumberLength);
        serial[0] &= 0x7F;
        if (serial[0] == 0)
        {
            serial[0] = 0x01;
        }

        return serial;
    }

    private static HashAlgorithmName HashForCurve(int keySize) => keySize switch
    {
        <= 256 => HashAlgorithmName.SHA256,
        <= 384 => HashAlgorithmName.SHA384,
        _ => HashAlgorithmName.SHA512,
    };

    private static DateTimeOffset ToUtc(DateTime time) => new(time.ToUniversalTime(), TimeSpan.Zero);

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static string Format(DateTimeOffset time) => time.ToString("u", CultureInfo.InvariantCulture);
}
