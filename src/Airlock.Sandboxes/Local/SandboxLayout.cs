namespace Airlock.Sandboxes.Local;

/// <summary>Fixed paths inside every local sandbox.</summary>
public static class SandboxLayout
{
    /// <summary>Where the session's public files (proxy socket, CA certificate, CA bundle) appear, read-only.</summary>
    public const string RunDirectory = "/run/airlock";

    /// <summary>Where the directory of the <c>airlock</c> binary appears, read-only (the host path may be hidden, e.g. under /tmp).</summary>
    public const string BinaryDirectory = "/run/airlock-bin";

    /// <summary>The proxy's unix socket inside the sandbox.</summary>
    public const string ProxySocket = RunDirectory + "/proxy.sock";

    /// <summary>The session CA certificate alone.</summary>
    public const string CaCertificate = RunDirectory + "/ca.pem";

    /// <summary>The system CA bundle with the session CA added.</summary>
    public const string CaBundle = RunDirectory + "/ca-bundle.pem";

    /// <summary>Where the bridge listens inside the sandbox: the address of <c>HTTP_PROXY</c>.</summary>
    public const int BridgePort = 3128;

    /// <summary>System CA bundle paths that the session bundle is mounted over, when they exist.</summary>
    public static readonly IReadOnlyList<string> SystemBundlePaths =
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ];

    /// <summary>Paths masked in every sandbox, in addition to the policy's <c>filesystem.hidden</c>.</summary>
    public static readonly IReadOnlyList<string> DefaultHidden =
    [
        "~/.ssh", "~/.aws", "~/.azure", "~/.config/gcloud", "~/.kube", "~/.docker", "~/.netrc", "~/.gnupg",
        "~/.git-credentials", "~/.config/gh", "~/.npmrc", "~/.pypirc",
    ];
}
