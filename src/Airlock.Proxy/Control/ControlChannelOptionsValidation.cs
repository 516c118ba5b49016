namespace Airlock.Proxy.Control;

/// <summary>Checks <see cref="ControlChannelOptions"/>; options are built by code, so a bad value is a bug and throws.</summary>
internal static class ControlChannelOptionsValidation
{
    public static void ThrowIfInvalid(ControlChannelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.SessionId, nameof(options));
        ArgumentException.ThrowIfNullOrEmpty(options.SpoolPath, nameof(options));
        ArgumentException.ThrowIfNullOrEmpty(options.ProxyVersion, nameof(options));
        ThrowIf(options.SpoolMaxBytes <= 0, "SpoolMaxBytes must be positive");
        ThrowIf(options.QueueMaxBytes <= 0, "QueueMaxBytes must be positive");
        ThrowIf(options.InitialBackoff <= TimeSpan.Zero, "InitialBackoff must be positive");
        ThrowIf(options.MaxBackoff < options.InitialBackoff, "MaxBackoff must be at least InitialBackoff");
        ThrowIf(options.ConnectTimeout <= TimeSpan.Zero, "ConnectTimeout must be positive");
        ThrowIf(options.WriteTimeout <= TimeSpan.Zero, "WriteTimeout must be positive");
        ThrowIf(options.DrainTimeout < TimeSpan.Zero, "DrainTimeout must not be negative");
    }

    private static void ThrowIf(bool invalid, string message)
    {
        if (invalid)
        {
            throw new ArgumentException("ControlChannelOptions: " + message);
        }
    }
}
