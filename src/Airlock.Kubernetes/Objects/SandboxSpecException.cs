namespace Airlock.Kubernetes.Objects;

/// <summary>A sandbox spec a user wrote cannot be built: the message says what is wrong and what to do.</summary>
public sealed class SandboxSpecException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SandboxSpecException()
    {
    }

    /// <summary>Creates the exception with a message a user can act on.</summary>
    public SandboxSpecException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public SandboxSpecException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
