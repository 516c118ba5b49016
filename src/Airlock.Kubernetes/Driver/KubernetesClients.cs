using Airlock.Sandboxes;

namespace Airlock.Kubernetes.Driver;

/// <summary>Connects to a cluster the way <c>kubectl</c> would.</summary>
public static class KubernetesClients
{
    /// <summary>
    /// A client from <paramref name="kubeconfig"/>; with none, the pod's service account when running in a cluster,
    /// else the default kubeconfig (<c>$KUBECONFIG</c> or <c>~/.kube/config</c>).
    /// </summary>
    /// <exception cref="SandboxException">The configuration cannot be read; the message says why.</exception>
    public static k8s.Kubernetes Create(string? kubeconfig)
    {
        k8s.KubernetesClientConfiguration configuration;
        try
        {
            configuration = kubeconfig is null && k8s.KubernetesClientConfiguration.IsInCluster()
                ? k8s.KubernetesClientConfiguration.InClusterConfig()
                : k8s.KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
        }
        catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or IOException or UnauthorizedAccessException or k8s.Exceptions.KubernetesClientException)
        {
            throw new SandboxException($"cannot read the Kubernetes configuration: {e.Message}", e);
        }

        return new k8s.Kubernetes(configuration);
    }
}
