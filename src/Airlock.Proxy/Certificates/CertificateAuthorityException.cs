namespace Airlock.Proxy.Certificates;

/// <summary>
/// A session CA could not be loaded, created or used for a reason the user can act on: a missing or unreadable
/// file, a certificate that is not a CA, a key that does not match, an expired CA. The message says which file
/// and what to do; it never contains key material.
/// </summary>
public sealed class CertificateAuthorityException : Exception
{
    /// <summary>Creates the exception with a generic message.</summary>
    public CertificateAuthorityException()
        : base("The session certificate authority could not be used.")
    {
    }

    /// <summary>Creates the exception with a user-readable message.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    public CertificateAuthorityException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a user-readable message and the underlying cause.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The underlying I/O or cryptographic error.</param>
    public CertificateAuthorityException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
