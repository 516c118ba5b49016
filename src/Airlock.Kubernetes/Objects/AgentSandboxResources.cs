using System.Collections.Immutable;
using k8s;
using k8s.Models;

namespace Airlock.Kubernetes.Objects;

/// <summary>The API groups and versions of the agent-sandbox custom resources Airlock creates.</summary>
public static class AgentSandboxApi
{
    /// <summary><c>agents.x-k8s.io</c>: the core <c>Sandbox</c>.</summary>
    public const string Group = "agents.x-k8s.io";

    /// <summary><c>extensions.agents.x-k8s.io</c>: claims, templates and warm pools.</summary>
    public const string ExtensionsGroup = "extensions.agents.x-k8s.io";

    /// <summary>The served, stored version of both groups.</summary>
    public const string Version = "v1beta1";

    /// <summary><c>agents.x-k8s.io/v1beta1</c>.</summary>
    public const string ApiVersion = Group + "/" + Version;

    /// <summary><c>extensions.agents.x-k8s.io/v1beta1</c>.</summary>
    public const string ExtensionsApiVersion = ExtensionsGroup + "/" + Version;

    /// <summary>Deletes the pod (and the Sandbox) when <c>shutdownTime</c> passes.</summary>
    public const string ShutdownPolicyDelete = "Delete";

    /// <summary>The controller writes no NetworkPolicy: Airlock owns the sandbox's policy.</summary>
    public const string NetworkPolicyManagementUnmanaged = "Unmanaged";

    /// <summary>Claims may not inject environment variables into the template's pods.</summary>
    public const string EnvVarsInjectionDisallowed = "Disallowed";
}

/// <summary>An agent-sandbox <c>Sandbox</c> (<c>agents.x-k8s.io/v1beta1</c>): one long-lived pod with a stable identity. Ready when its <c>Ready</c> condition is true (it has no phase).</summary>
public sealed class V1beta1Sandbox : IKubernetesObject<V1ObjectMeta>
{
    /// <inheritdoc/>
    public string ApiVersion { get; set; } = AgentSandboxApi.ApiVersion;

    /// <inheritdoc/>
    public string Kind { get; set; } = "Sandbox";

    /// <inheritdoc/>
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The pod template, shutdown time and policy.</summary>
    public required V1beta1SandboxSpec Spec { get; init; }
}

/// <summary>The <c>spec</c> of a <see cref="V1beta1Sandbox"/>.</summary>
public sealed record V1beta1SandboxSpec
{
    /// <summary><c>podTemplate</c>: the pod the controller creates (only labels and annotations in its metadata).</summary>
    public required V1PodTemplateSpec PodTemplate { get; init; }

    /// <summary><c>shutdownTime</c>: when the controller shuts the sandbox down.</summary>
    public DateTimeOffset? ShutdownTime { get; init; }

    /// <summary><c>shutdownPolicy</c>: what happens then (<c>Delete</c> or <c>Retain</c>).</summary>
    public string? ShutdownPolicy { get; init; }
}

/// <summary>An agent-sandbox <c>SandboxClaim</c> (<c>extensions.agents.x-k8s.io/v1beta1</c>): takes a pod from a warm pool.</summary>
public sealed class V1beta1SandboxClaim : IKubernetesObject<V1ObjectMeta>
{
    /// <inheritdoc/>
    public string ApiVersion { get; set; } = AgentSandboxApi.ExtensionsApiVersion;

    /// <inheritdoc/>
    public string Kind { get; set; } = "SandboxClaim";

    /// <inheritdoc/>
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The warm pool, the metadata added to the adopted pod, the lifecycle.</summary>
    public required V1beta1SandboxClaimSpec Spec { get; init; }
}

/// <summary>The <c>spec</c> of a <see cref="V1beta1SandboxClaim"/>.</summary>
public sealed record V1beta1SandboxClaimSpec
{
    /// <summary><c>warmPoolRef.name</c>: the <c>SandboxWarmPool</c> to claim from.</summary>
    public required string WarmPoolName { get; init; }

    /// <summary><c>additionalPodMetadata.labels</c>: put on the adopted pod, which does not carry the claim's labels.</summary>
    public ImmutableSortedDictionary<string, string> AdditionalPodLabels { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary><c>additionalPodMetadata.annotations</c>.</summary>
    public ImmutableSortedDictionary<string, string> AdditionalPodAnnotations { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary><c>lifecycle.shutdownTime</c>.</summary>
    public DateTimeOffset? ShutdownTime { get; init; }

    /// <summary><c>lifecycle.shutdownPolicy</c> (<c>Delete</c>, <c>DeleteForeground</c> or <c>Retain</c>).</summary>
    public string? ShutdownPolicy { get; init; }
}

/// <summary>An agent-sandbox <c>SandboxTemplate</c> (<c>extensions.agents.x-k8s.io/v1beta1</c>): the pod a warm pool keeps ready.</summary>
public sealed class V1beta1SandboxTemplate : IKubernetesObject<V1ObjectMeta>
{
    /// <inheritdoc/>
    public string ApiVersion { get; set; } = AgentSandboxApi.ExtensionsApiVersion;

    /// <inheritdoc/>
    public string Kind { get; set; } = "SandboxTemplate";

    /// <inheritdoc/>
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The pod template and the template's policies.</summary>
    public required V1beta1SandboxTemplateSpec Spec { get; init; }
}

/// <summary>The <c>spec</c> of a <see cref="V1beta1SandboxTemplate"/>.</summary>
public sealed record V1beta1SandboxTemplateSpec
{
    /// <summary><c>podTemplate</c>.</summary>
    public required V1PodTemplateSpec PodTemplate { get; init; }

    /// <summary><c>networkPolicyManagement</c>: <c>Unmanaged</c> when Airlock writes the policy.</summary>
    public string NetworkPolicyManagement { get; init; } = AgentSandboxApi.NetworkPolicyManagementUnmanaged;

    /// <summary><c>envVarsInjectionPolicy</c>.</summary>
    public string EnvVarsInjectionPolicy { get; init; } = AgentSandboxApi.EnvVarsInjectionDisallowed;
}

/// <summary>An agent-sandbox <c>SandboxWarmPool</c> (<c>extensions.agents.x-k8s.io/v1beta1</c>).</summary>
public sealed class V1beta1SandboxWarmPool : IKubernetesObject<V1ObjectMeta>
{
    /// <inheritdoc/>
    public string ApiVersion { get; set; } = AgentSandboxApi.ExtensionsApiVersion;

    /// <inheritdoc/>
    public string Kind { get; set; } = "SandboxWarmPool";

    /// <inheritdoc/>
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The template and the number of pods kept ready.</summary>
    public required V1beta1SandboxWarmPoolSpec Spec { get; init; }
}

/// <summary>The <c>spec</c> of a <see cref="V1beta1SandboxWarmPool"/>.</summary>
public sealed record V1beta1SandboxWarmPoolSpec
{
    /// <summary><c>replicas</c>.</summary>
    public int Replicas { get; init; } = 1;

    /// <summary><c>sandboxTemplateRef.name</c>.</summary>
    public required string SandboxTemplateName { get; init; }
}
