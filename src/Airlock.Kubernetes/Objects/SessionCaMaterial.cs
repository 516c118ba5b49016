namespace Airlock.Kubernetes.Objects;

/// <summary>
/// The session CA as PEM text: the certificate (which the workload trusts) and the private key (which only the
/// proxy ever receives).
/// </summary>
/// <param name="CertificatePem">The CA certificate, PEM.</param>
/// <param name="PrivateKeyPem">The CA private key, PEM.</param>
public sealed record SessionCaMaterial(string CertificatePem, string PrivateKeyPem)
{
    /// <summary>Placeholders for rendering objects for review: no key is ever generated or printed.</summary>
    public static SessionCaMaterial Placeholder { get; } = new("<ca-cert: generated per session>", "<ca-key: generated per session>");

    /// <inheritdoc/>
    public override string ToString() => "SessionCaMaterial { PrivateKeyPem = [REDACTED] }";
}
