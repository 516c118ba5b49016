namespace Airlock.Server.Store;

/// <summary>
/// A store problem the user can act on: a store URL that is not understood, a schema newer than this build, a
/// database file that cannot be created. The message says what to do; the CLI prints it as it is.
/// </summary>
public sealed class StoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StoreException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    public StoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public StoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
