namespace Airlock.Kubernetes.Tests.Verification;

/// <summary>
/// The enumerations the API server enforces on fields the Kubernetes 1.35 OpenAPI documents leave as plain strings.
/// The published 1.35 documents carry no <c>enum</c> keyword (nor the older "Possible enum values" lines): the
/// values live in <c>k8s.io/api</c> types marked <c>+enum</c> and in <c>pkg/apis/*/validation</c>, which refuse
/// anything else with <c>Unsupported value</c>. This table copies those sets for the fields Airlock's objects
/// (and reasonable neighbours) use; a field not listed is validated as a free string.
/// </summary>
internal static class KubernetesEnums
{
    /// <summary>One enumerated field: a component schema's property, or the items of an array property.</summary>
    internal sealed record Field(string Component, string Property, bool Items, IReadOnlyList<string> Values);

    private const string Core = "io.k8s.api.core.v1.";

    private static readonly string[] Protocols = ["TCP", "UDP", "SCTP"];
    private static readonly string[] ProfileTypes = ["Unconfined", "RuntimeDefault", "Localhost"];
    private static readonly string[] PullPolicies = ["Always", "Never", "IfNotPresent"];
    private static readonly string[] MessagePolicies = ["File", "FallbackToLogsOnError"];
    private static readonly string[] TrafficPolicies = ["Cluster", "Local"];

    /// <summary>Every enumerated field.</summary>
    internal static readonly IReadOnlyList<Field> Fields =
    [
        new(Core + "Container", "imagePullPolicy", false, PullPolicies),
        new(Core + "Container", "terminationMessagePolicy", false, MessagePolicies),
        // Always makes a native sidecar; Never and OnFailure come with ContainerRestartRules (1.34+).
        new(Core + "Container", "restartPolicy", false, ["Always", "OnFailure", "Never"]),
        new(Core + "EphemeralContainer", "imagePullPolicy", false, PullPolicies),
        new(Core + "EphemeralContainer", "terminationMessagePolicy", false, MessagePolicies),
        new(Core + "PodSpec", "restartPolicy", false, ["Always", "OnFailure", "Never"]),
        new(Core + "PodSpec", "dnsPolicy", false, ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]),
        new(Core + "PodSpec", "preemptionPolicy", false, ["PreemptLowerPriority", "Never"]),
        new(Core + "PodOS", "name", false, ["linux", "windows"]),
        new(Core + "SeccompProfile", "type", false, ProfileTypes),
        new(Core + "AppArmorProfile", "type", false, ProfileTypes),
        new(Core + "SecurityContext", "procMount", false, ["Default", "Unmasked"]),
        new(Core + "PodSecurityContext", "fsGroupChangePolicy", false, ["OnRootMismatch", "Always"]),
        new(Core + "PodSecurityContext", "supplementalGroupsPolicy", false, ["Merge", "Strict"]),
        new(Core + "PodSecurityContext", "seLinuxChangePolicy", false, ["Recursive", "MountOption"]),
        new(Core + "ContainerPort", "protocol", false, Protocols),
        new(Core + "ContainerResizePolicy", "restartPolicy", false, ["NotRequired", "RestartContainer"]),
        new(Core + "VolumeMount", "mountPropagation", false, ["None", "HostToContainer", "Bidirectional"]),
        new(Core + "VolumeMount", "recursiveReadOnly", false, ["Disabled", "IfPossible", "Enabled"]),
        new(Core + "HTTPGetAction", "scheme", false, ["HTTP", "HTTPS"]),
        new(Core + "Toleration", "operator", false, ["Exists", "Equal"]),
        new(Core + "Toleration", "effect", false, ["", "NoSchedule", "PreferNoSchedule", "NoExecute"]),
        new(Core + "TopologySpreadConstraint", "whenUnsatisfiable", false, ["DoNotSchedule", "ScheduleAnyway"]),
        new(Core + "TopologySpreadConstraint", "nodeAffinityPolicy", false, ["Honor", "Ignore"]),
        new(Core + "TopologySpreadConstraint", "nodeTaintsPolicy", false, ["Honor", "Ignore"]),
        new(Core + "NodeSelectorRequirement", "operator", false, ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]),
        new(Core + "PersistentVolumeClaimSpec", "volumeMode", false, ["Filesystem", "Block"]),
        new(Core + "PersistentVolumeClaimSpec", "accessModes", true, ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]),
        new(Core + "ServicePort", "protocol", false, Protocols),
        new(Core + "ServiceSpec", "type", false, ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]),
        new(Core + "ServiceSpec", "sessionAffinity", false, ["None", "ClientIP"]),
        new(Core + "ServiceSpec", "ipFamilyPolicy", false, ["SingleStack", "PreferDualStack", "RequireDualStack"]),
        new(Core + "ServiceSpec", "ipFamilies", true, ["IPv4", "IPv6"]),
        new(Core + "ServiceSpec", "externalTrafficPolicy", false, TrafficPolicies),
        new(Core + "ServiceSpec", "internalTrafficPolicy", false, TrafficPolicies),
        new("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement", "operator", false, ["In", "NotIn", "Exists", "DoesNotExist"]),
        new("io.k8s.api.networking.v1.NetworkPolicyPort", "protocol", false, Protocols),
        new("io.k8s.api.networking.v1.NetworkPolicySpec", "policyTypes", true, ["Ingress", "Egress"]),
        new("io.k8s.api.apps.v1.DeploymentStrategy", "type", false, ["Recreate", "RollingUpdate"]),
        new("io.k8s.api.policy.v1.PodDisruptionBudgetSpec", "unhealthyPodEvictionPolicy", false, ["IfHealthyBudget", "AlwaysAllow"]),
    ];
}
