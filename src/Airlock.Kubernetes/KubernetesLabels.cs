namespace Airlock.Kubernetes;

/// <summary>The labels every object Airlock creates in a cluster carries, so it can find, own and collect them.</summary>
public static class KubernetesLabels
{
    /// <summary><c>app.kubernetes.io/managed-by</c>.</summary>
    public const string ManagedBy = "app.kubernetes.io/managed-by";

    /// <summary>The value of <see cref="ManagedBy"/> on Airlock's objects.</summary>
    public const string ManagedByValue = "airlock";

    /// <summary>
    /// The session an object belongs to. Not under a key agent-sandbox reserves, so it survives onto pods a
    /// warm pool hands over (agent-sandbox filters its own label keys from pods).
    /// </summary>
    public const string Session = "airlock.dev/session";

    /// <summary>
    /// Annotation with the instant (RFC 3339, UTC) after which the session's objects may be collected: its TTL.
    /// The garbage collector deletes objects past it even when the control plane that made them is gone.
    /// </summary>
    public const string ExpiresAt = "airlock.dev/expires-at";
}
