using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Airlock.Kubernetes.Tests.Verification;

/// <summary>
/// Checks a pod (a Pod, or the pod template of a workload or agent-sandbox resource) against the Pod Security
/// Standards <c>restricted</c> profile of Kubernetes v1.35, which includes every <c>baseline</c> control, for every
/// container, init container and ephemeral container, with pod-level settings inherited where the standard says so.
/// <para>Baseline controls (allowed values in brackets; "unset" = undefined/nil):</para>
/// <list type="number">
/// <item>HostProcess: <c>spec.securityContext.windowsOptions.hostProcess</c>, and each container's [unset, false].</item>
/// <item>Host Namespaces: <c>spec.hostNetwork</c>, <c>spec.hostPID</c>, <c>spec.hostIPC</c> [unset, false].</item>
/// <item>Privileged Containers: <c>securityContext.privileged</c> [unset, false].</item>
/// <item>Capabilities: <c>securityContext.capabilities.add</c> [unset, AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER,
/// FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT]; superseded at restricted by
/// the stricter restricted control, as Pod Security Admission does.</item>
/// <item>HostPath Volumes: <c>spec.volumes[*].hostPath</c> [unset].</item>
/// <item>Host Ports: <c>ports[*].hostPort</c> [unset, 0].</item>
/// <item>Host Probes / Lifecycle Hooks: <c>host</c> of <c>httpGet</c>/<c>tcpSocket</c> in liveness, readiness and
/// startup probes and in postStart/preStop hooks [unset, ""].</item>
/// <item>AppArmor: <c>appArmorProfile.type</c> of the pod and each container [unset, RuntimeDefault, Localhost];
/// annotations <c>container.apparmor.security.beta.kubernetes.io/*</c> [unset, runtime/default, localhost/*].</item>
/// <item>SELinux: <c>seLinuxOptions.type</c> of the pod and each container [unset, "", container_t, container_init_t,
/// container_kvm_t, container_engine_t]; <c>seLinuxOptions.user</c> and <c>.role</c> [unset, ""].</item>
/// <item>/proc Mount Type: <c>securityContext.procMount</c> [unset, Default].</item>
/// <item>Seccomp: <c>seccompProfile.type</c> of the pod and each container [unset, RuntimeDefault, Localhost];
/// superseded at restricted by the restricted control.</item>
/// <item>Sysctls: <c>spec.securityContext.sysctls[*].name</c> [unset, kernel.shm_rmid_forced,
/// net.ipv4.ip_local_port_range, net.ipv4.ip_unprivileged_port_start, net.ipv4.tcp_syncookies,
/// net.ipv4.ping_group_range, net.ipv4.ip_local_reserved_ports, net.ipv4.tcp_keepalive_time,
/// net.ipv4.tcp_fin_timeout, net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes].</item>
/// </list>
/// <para>Restricted controls:</para>
/// <list type="number">
/// <item>Volume Types: every volume is one of configMap, csi, downwardAPI, emptyDir, ephemeral,
/// persistentVolumeClaim, projected, secret.</item>
/// <item>Privilege Escalation: every container sets <c>allowPrivilegeEscalation: false</c> (Linux only).</item>
/// <item>Running as Non-root: <c>runAsNonRoot: true</c> at pod level (then containers may leave it unset) or on every
/// container; <c>false</c> anywhere, the pod included, is a violation.</item>
/// <item>Running as Non-root user: <c>runAsUser</c> of the pod and each container [unset, non-zero].</item>
/// <item>Seccomp: <c>seccompProfile.type</c> RuntimeDefault or Localhost at pod level (then containers may leave it
/// unset) or on every container; any other value anywhere is a violation (Linux only).</item>
/// <item>Capabilities: every container drops <c>ALL</c> and adds nothing but NET_BIND_SERVICE (Linux only).</item>
/// </list>
/// "Linux only": skipped when <c>spec.os.name</c> is <c>windows</c>, as in Pod Security Admission.
/// Violations read <c>level/Control: subject problem</c>, e.g.
/// <c>restricted/Privilege Escalation: container "agent" must set securityContext.allowPrivilegeEscalation=false</c>.
/// </summary>
public static class PodSecurityRestricted
{
    private static readonly HashSet<string> BaselineCapabilities =
    [
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
        "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    ];

    private static readonly HashSet<string> SafeSysctls =
    [
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    ];

    private static readonly HashSet<string> SeLinuxTypes = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

    private static readonly HashSet<string> RestrictedVolumeTypes =
        ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

    private static readonly string[] Probes = ["livenessProbe", "readinessProbe", "startupProbe"];
    private static readonly string[] Hooks = ["postStart", "preStop"];

    private const string AppArmorAnnotationPrefix = "container.apparmor.security.beta.kubernetes.io/";

    /// <summary>
    /// The violations of the pod <paramref name="obj"/> runs: a Pod, PodTemplate, Deployment, ReplicaSet,
    /// StatefulSet, DaemonSet, Job, CronJob, or agent-sandbox Sandbox / SandboxTemplate. Empty when it complies.
    /// </summary>
    public static IReadOnlyList<string> Check(JsonNode obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var template = obj["kind"]?.GetValue<string>() switch
        {
            "Pod" => obj,
            "PodTemplate" => obj["template"],
            "Deployment" or "ReplicaSet" or "StatefulSet" or "DaemonSet" or "Job" or "ReplicationController" => obj["spec"]?["template"],
            "CronJob" => obj["spec"]?["jobTemplate"]?["spec"]?["template"],
            "Sandbox" or "SandboxTemplate" => obj["spec"]?["podTemplate"],
            var kind => throw new ArgumentException($"{kind ?? "An object without kind"} does not run pods.", nameof(obj)),
        };
        var spec = template?["spec"] ?? throw new ArgumentException("The object has no pod spec.", nameof(obj));
        return CheckPodSpec(spec, template["metadata"]);
    }

    /// <summary>The violations of a pod spec, with the pod's metadata for the AppArmor annotations.</summary>
    public static IReadOnlyList<string> CheckPodSpec(JsonNode podSpec, JsonNode? podMetadata = null)
    {
        ArgumentNullException.ThrowIfNull(podSpec);
        var violations = new List<string>();
        var pod = podSpec["securityContext"];
        var containers = Containers(podSpec).ToList();
        var linux = Text(podSpec["os"]?["name"]) != "windows";

        // Baseline.
        CheckTrue(violations, "baseline/HostProcess", "pod", "securityContext.windowsOptions.hostProcess", pod?["windowsOptions"]?["hostProcess"]);
        foreach (var field in new[] { "hostNetwork", "hostPID", "hostIPC" })
        {
            CheckTrue(violations, "baseline/Host Namespaces", "pod", field, podSpec[field]);
        }

        foreach (var (volume, i) in (podSpec["volumes"]?.AsArray() ?? []).Select((v, i) => (v!, i)))
        {
            var name = Text(volume["name"]) ?? $"#{i}";
            if (volume["hostPath"] is not null)
            {
                violations.Add($"baseline/HostPath Volumes: volume \"{name}\" is a hostPath volume");
            }

            foreach (var (type, _) in volume.AsObject().Where(p => p.Key != "name" && !RestrictedVolumeTypes.Contains(p.Key)))
            {
                violations.Add($"restricted/Volume Types: volume \"{name}\" is of type {type} (allowed: {string.Join(", ", RestrictedVolumeTypes)})");
            }
        }

        CheckAppArmor(violations, "pod", pod?["appArmorProfile"]?["type"]);
        foreach (var (key, value) in podMetadata?["annotations"]?.AsObject() ?? [])
        {
            var profile = Text(value) ?? string.Empty;
            if (key.StartsWith(AppArmorAnnotationPrefix, StringComparison.Ordinal)
                && profile != "runtime/default" && !profile.StartsWith("localhost/", StringComparison.Ordinal))
            {
                violations.Add($"baseline/AppArmor: annotation {key} is \"{profile}\" (allowed: runtime/default, localhost/*)");
            }
        }

        CheckSeLinux(violations, "pod", pod?["seLinuxOptions"]);
        foreach (var sysctl in pod?["sysctls"]?.AsArray() ?? [])
        {
            var name = Text(sysctl?["name"]) ?? string.Empty;
            if (!SafeSysctls.Contains(name))
            {
                violations.Add($"baseline/Sysctls: pod sets sysctl {name}, which is not in the safe set");
            }
        }

        foreach (var (subject, container) in containers)
        {
            var context = container["securityContext"];
            CheckTrue(violations, "baseline/HostProcess", subject, "securityContext.windowsOptions.hostProcess", context?["windowsOptions"]?["hostProcess"]);
            CheckTrue(violations, "baseline/Privileged Containers", subject, "securityContext.privileged", context?["privileged"]);
            foreach (var port in container["ports"]?.AsArray() ?? [])
            {
                if (Integer(port?["hostPort"]) is { } hostPort and not 0)
                {
                    violations.Add($"baseline/Host Ports: {subject} uses hostPort {hostPort}");
                }
            }

            foreach (var (handler, where) in Probes.Select(p => (container[p], p))
                .Concat(Hooks.Select(h => (container["lifecycle"]?[h], $"lifecycle.{h}"))))
            {
                foreach (var action in new[] { "httpGet", "tcpSocket" })
                {
                    if (Text(handler?[action]?["host"]) is { Length: > 0 } host)
                    {
                        violations.Add($"baseline/Host Probes / Lifecycle Hooks: {subject} {where}.{action}.host is \"{host}\" (must be unset or empty)");
                    }
                }
            }

            CheckAppArmor(violations, subject, context?["appArmorProfile"]?["type"]);
            CheckSeLinux(violations, subject, context?["seLinuxOptions"]);
            if (Text(context?["procMount"]) is { } procMount && procMount != "Default")
            {
                violations.Add($"baseline//proc Mount Type: {subject} sets securityContext.procMount={procMount} (allowed: Default)");
            }
        }

        // Restricted.
        CheckRunAsNonRoot(violations, pod, containers);
        if (Integer(pod?["runAsUser"]) == 0)
        {
            violations.Add("restricted/Running as Non-root user: pod sets securityContext.runAsUser=0");
        }

        foreach (var (subject, container) in containers)
        {
            if (Integer(container["securityContext"]?["runAsUser"]) == 0)
            {
                violations.Add($"restricted/Running as Non-root user: {subject} sets securityContext.runAsUser=0");
            }
        }

        if (linux)
        {
            CheckSeccomp(violations, pod, containers);
            foreach (var (subject, container) in containers)
            {
                var context = container["securityContext"];
                if (context?["allowPrivilegeEscalation"]?.GetValueKind() != JsonValueKind.False)
                {
                    violations.Add($"restricted/Privilege Escalation: {subject} must set securityContext.allowPrivilegeEscalation=false");
                }

                var capabilities = context?["capabilities"];
                if (!Strings(capabilities?["drop"]).Contains("ALL"))
                {
                    violations.Add($"restricted/Capabilities: {subject} must drop ALL capabilities (securityContext.capabilities.drop: [ALL])");
                }

                foreach (var added in Strings(capabilities?["add"]).Where(c => c != "NET_BIND_SERVICE"))
                {
                    var beyond = BaselineCapabilities.Contains(added) ? string.Empty : ", and it is beyond even the baseline set";
                    violations.Add($"restricted/Capabilities: {subject} adds {added} (only NET_BIND_SERVICE may be added{beyond})");
                }
            }
        }

        return violations;
    }

    private static IEnumerable<(string Subject, JsonNode Container)> Containers(JsonNode podSpec)
    {
        foreach (var (list, noun) in new[] { ("initContainers", "initContainer"), ("containers", "container"), ("ephemeralContainers", "ephemeralContainer") })
        {
            foreach (var (container, i) in (podSpec[list]?.AsArray() ?? []).Select((c, i) => (c!, i)))
            {
                yield return ($"{noun} \"{Text(container["name"]) ?? $"#{i}"}\"", container);
            }
        }
    }

    private static void CheckRunAsNonRoot(List<string> violations, JsonNode? pod, List<(string Subject, JsonNode Container)> containers)
    {
        var podValue = pod?["runAsNonRoot"];
        if (podValue?.GetValueKind() == JsonValueKind.False)
        {
            violations.Add("restricted/Running as Non-root: pod sets securityContext.runAsNonRoot=false");
        }

        var podNonRoot = podValue?.GetValueKind() == JsonValueKind.True;
        foreach (var (subject, container) in containers)
        {
            switch (container["securityContext"]?["runAsNonRoot"]?.GetValueKind())
            {
                case JsonValueKind.False:
                    violations.Add($"restricted/Running as Non-root: {subject} sets securityContext.runAsNonRoot=false");
                    break;
                case JsonValueKind.True:
                    break;
                default:
                    if (!podNonRoot)
                    {
                        violations.Add($"restricted/Running as Non-root: {subject} must set securityContext.runAsNonRoot=true (or the pod must)");
                    }

                    break;
            }
        }
    }

    private static void CheckSeccomp(List<string> violations, JsonNode? pod, List<(string Subject, JsonNode Container)> containers)
    {
        static bool Allowed(string? type) => type is "RuntimeDefault" or "Localhost";

        var podProfile = pod?["seccompProfile"];
        var podType = Text(podProfile?["type"]);
        if (podProfile is not null && !Allowed(podType))
        {
            violations.Add($"restricted/Seccomp: pod sets securityContext.seccompProfile.type={podType} (allowed: RuntimeDefault, Localhost)");
        }

        foreach (var (subject, container) in containers)
        {
            var profile = container["securityContext"]?["seccompProfile"];
            if (profile is not null)
            {
                var type = Text(profile["type"]);
                if (!Allowed(type))
                {
                    violations.Add($"restricted/Seccomp: {subject} sets securityContext.seccompProfile.type={type} (allowed: RuntimeDefault, Localhost)");
                }
            }
            else if (!Allowed(podType))
            {
                violations.Add($"restricted/Seccomp: {subject} must set securityContext.seccompProfile.type to RuntimeDefault or Localhost (or the pod must)");
            }
        }
    }

    private static void CheckTrue(List<string> violations, string control, string subject, string field, JsonNode? value)
    {
        if (value?.GetValueKind() == JsonValueKind.True)
        {
            violations.Add($"{control}: {subject} sets {field}=true");
        }
    }

    private static void CheckAppArmor(List<string> violations, string subject, JsonNode? type)
    {
        if (Text(type) is { } profile && profile is not ("RuntimeDefault" or "Localhost"))
        {
            violations.Add($"baseline/AppArmor: {subject} sets securityContext.appArmorProfile.type={profile} (allowed: RuntimeDefault, Localhost)");
        }
    }

    private static void CheckSeLinux(List<string> violations, string subject, JsonNode? options)
    {
        if (Text(options?["type"]) is { } type && !SeLinuxTypes.Contains(type))
        {
            violations.Add($"baseline/SELinux: {subject} sets securityContext.seLinuxOptions.type={type} (allowed: container_t, container_init_t, container_kvm_t, container_engine_t)");
        }

        foreach (var field in new[] { "user", "role" })
        {
            if (Text(options?[field]) is { Length: > 0 } value)
            {
                violations.Add($"baseline/SELinux: {subject} sets securityContext.seLinuxOptions.{field}={value} (must be unset)");
            }
        }
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    // Read through the JSON text: a node built in code may hold an int where a parsed one holds a JsonElement.
    private static long? Integer(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.Number
            && long.TryParse(value.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? number
            : null;

    private static IEnumerable<string> Strings(JsonNode? node) =>
        node is JsonArray array ? array.Select(Text).OfType<string>() : [];
}
