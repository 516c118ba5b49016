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

    /// <summary>What a pod is in its session: <see cref="RoleAgent"/> or <see cref="RoleProxy"/>. NetworkPolicies select on it.</summary>
    public const string Role = "airlock.dev/role";

    /// <summary>The value of <see cref="Role"/> on the pod that runs the untrusted workload.</summary>
    public const string RoleAgent = "agent";

    /// <summary>The value of <see cref="Role"/> on a paired proxy pod.</summary>
    public const string RoleProxy = "proxy";

    /// <summary>The warm pool a pod was created for (warm pods carry no session until claimed).</summary>
    public const string Pool = "airlock.dev/pool";
}

/// <summary>Annotations on Airlock's objects that the reconciler reads to collect expired sessions.</summary>
public static class KubernetesAnnotations
{
    /// <summary>When the session's TTL ends (RFC 3339, UTC).</summary>
    public const string ExpiresAt = "airlock.dev/expires-at";

    /// <summary>The session's idle timeout in seconds.</summary>
    public const string IdleTimeoutSeconds = "airlock.dev/idle-timeout-seconds";
}
