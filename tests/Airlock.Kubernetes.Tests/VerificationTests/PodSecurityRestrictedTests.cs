using System.Text.Json.Nodes;
using Airlock.Kubernetes.Tests.Verification;

namespace Airlock.Kubernetes.Tests.VerificationTests;

public class PodSecurityRestrictedTests
{
    /// <summary>One control broken at a time, on the compliant sample pod, and the violation it must produce.</summary>
    private static readonly Dictionary<string, (Action<JsonObject> Break, string Violation)> Violations = new()
    {
        ["pod hostProcess"] = (p => Spec(p)["securityContext"]!["windowsOptions"] = Json("""{ "hostProcess": true }"""),
            "baseline/HostProcess: pod sets securityContext.windowsOptions.hostProcess=true"),
        ["container hostProcess"] = (p => Agent(p)["securityContext"]!["windowsOptions"] = Json("""{ "hostProcess": true }"""),
            "baseline/HostProcess: container \"agent\" sets securityContext.windowsOptions.hostProcess=true"),
        ["hostNetwork"] = (p => Spec(p)["hostNetwork"] = true, "baseline/Host Namespaces: pod sets hostNetwork=true"),
        ["hostPID"] = (p => Spec(p)["hostPID"] = true, "baseline/Host Namespaces: pod sets hostPID=true"),
        ["hostIPC"] = (p => Spec(p)["hostIPC"] = true, "baseline/Host Namespaces: pod sets hostIPC=true"),
        ["privileged"] = (p => Proxy(p)["securityContext"]!["privileged"] = true,
            "baseline/Privileged Containers: initContainer \"proxy\" sets securityContext.privileged=true"),
        ["hostPort"] = (p => Proxy(p)["ports"]![0]!["hostPort"] = 3128, "baseline/Host Ports: initContainer \"proxy\" uses hostPort 3128"),
        ["probe host"] = (p => Agent(p)["readinessProbe"] = Json("""{ "httpGet": { "host": "169.254.169.254", "port": 80 } }"""),
            "baseline/Host Probes / Lifecycle Hooks: container \"agent\" readinessProbe.httpGet.host is \"169.254.169.254\" (must be unset or empty)"),
        ["hook host"] = (p => Agent(p)["lifecycle"] = Json("""{ "preStop": { "tcpSocket": { "host": "10.0.0.1", "port": 22 } } }"""),
            "baseline/Host Probes / Lifecycle Hooks: container \"agent\" lifecycle.preStop.tcpSocket.host is \"10.0.0.1\" (must be unset or empty)"),
        ["apparmor field"] = (p => Agent(p)["securityContext"]!["appArmorProfile"] = Json("""{ "type": "Unconfined" }"""),
            "baseline/AppArmor: container \"agent\" sets securityContext.appArmorProfile.type=Unconfined (allowed: RuntimeDefault, Localhost)"),
        ["apparmor annotation"] = (p => p["metadata"]!["annotations"]!["container.apparmor.security.beta.kubernetes.io/agent"] = "unconfined",
            "baseline/AppArmor: annotation container.apparmor.security.beta.kubernetes.io/agent is \"unconfined\" (allowed: runtime/default, localhost/*)"),
        ["selinux type"] = (p => Spec(p)["securityContext"]!["seLinuxOptions"] = Json("""{ "type": "spc_t" }"""),
            "baseline/SELinux: pod sets securityContext.seLinuxOptions.type=spc_t (allowed: container_t, container_init_t, container_kvm_t, container_engine_t)"),
        ["selinux user"] = (p => Agent(p)["securityContext"]!["seLinuxOptions"] = Json("""{ "user": "system_u" }"""),
            "baseline/SELinux: container \"agent\" sets securityContext.seLinuxOptions.user=system_u (must be unset)"),
        ["procMount"] = (p => Agent(p)["securityContext"]!["procMount"] = "Unmasked",
            "baseline//proc Mount Type: container \"agent\" sets securityContext.procMount=Unmasked (allowed: Default)"),
        ["sysctl"] = (p => Spec(p)["securityContext"]!["sysctls"] = Json("""[ { "name": "net.ipv4.ip_forward", "value": "1" } ]"""),
            "baseline/Sysctls: pod sets sysctl net.ipv4.ip_forward, which is not in the safe set"),
        ["volume type"] = (p => Spec(p)["volumes"]![0] = Json("""{ "name": "workspace", "nfs": { "server": "nfs", "path": "/" } }"""),
            "restricted/Volume Types: volume \"workspace\" is of type nfs (allowed: configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret)"),
        ["allowPrivilegeEscalation unset"] = (p => Agent(p)["securityContext"]!.AsObject().Remove("allowPrivilegeEscalation"),
            "restricted/Privilege Escalation: container \"agent\" must set securityContext.allowPrivilegeEscalation=false"),
        ["allowPrivilegeEscalation true"] = (p => Proxy(p)["securityContext"]!["allowPrivilegeEscalation"] = true,
            "restricted/Privilege Escalation: initContainer \"proxy\" must set securityContext.allowPrivilegeEscalation=false"),
        ["runAsNonRoot false on a container"] = (p => Agent(p)["securityContext"]!["runAsNonRoot"] = false,
            "restricted/Running as Non-root: container \"agent\" sets securityContext.runAsNonRoot=false"),
        ["runAsUser 0 on the pod"] = (p => Spec(p)["securityContext"]!["runAsUser"] = 0,
            "restricted/Running as Non-root user: pod sets securityContext.runAsUser=0"),
        ["runAsUser 0 on a container"] = (p => Proxy(p)["securityContext"]!["runAsUser"] = 0,
            "restricted/Running as Non-root user: initContainer \"proxy\" sets securityContext.runAsUser=0"),
        ["seccomp Unconfined on a container"] = (p => Agent(p)["securityContext"]!["seccompProfile"] = Json("""{ "type": "Unconfined" }"""),
            "restricted/Seccomp: container \"agent\" sets securityContext.seccompProfile.type=Unconfined (allowed: RuntimeDefault, Localhost)"),
        ["drop ALL missing"] = (p => Agent(p)["securityContext"]!["capabilities"] = Json("""{ "drop": [ "NET_RAW" ] }"""),
            "restricted/Capabilities: container \"agent\" must drop ALL capabilities (securityContext.capabilities.drop: [ALL])"),
        ["baseline capability added"] = (p => Agent(p)["securityContext"]!["capabilities"]!["add"] = Json("""[ "CHOWN" ]"""),
            "restricted/Capabilities: container \"agent\" adds CHOWN (only NET_BIND_SERVICE may be added)"),
        ["capability beyond baseline added"] = (p => Proxy(p)["securityContext"]!["capabilities"]!["add"] = Json("""[ "NET_ADMIN" ]"""),
            "restricted/Capabilities: initContainer \"proxy\" adds NET_ADMIN (only NET_BIND_SERVICE may be added, and it is beyond even the baseline set)"),
    };

    public static TheoryData<string> Controls => [.. Violations.Keys];

    [Fact]
    public void The_sample_pod_complies()
    {
        Assert.Empty(PodSecurityRestricted.Check(SampleObjects.RestrictedPod()));
    }

    [Theory]
    [MemberData(nameof(Controls))]
    public void Each_control_broken_alone_is_reported_alone(string control)
    {
        var pod = SampleObjects.RestrictedPod();
        var (breakIt, violation) = Violations[control];
        breakIt(pod);

        Assert.Equal([violation], PodSecurityRestricted.Check(pod));
    }

    [Fact]
    public void A_hostPath_volume_breaks_the_baseline_control_and_the_restricted_volume_allowlist()
    {
        var pod = SampleObjects.RestrictedPod();
        Spec(pod)["volumes"]![0] = Json("""{ "name": "workspace", "hostPath": { "path": "/var/run" } }""");

        Assert.Equal(
            [
                "baseline/HostPath Volumes: volume \"workspace\" is a hostPath volume",
                "restricted/Volume Types: volume \"workspace\" is of type hostPath (allowed: configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret)",
            ],
            PodSecurityRestricted.Check(pod));
    }

    [Fact]
    public void Pod_level_runAsNonRoot_false_is_a_violation_that_containers_setting_true_do_not_cure()
    {
        var pod = SampleObjects.RestrictedPod();
        Spec(pod)["securityContext"]!["runAsNonRoot"] = false;
        Assert.Equal(
            [
                "restricted/Running as Non-root: pod sets securityContext.runAsNonRoot=false",
                "restricted/Running as Non-root: initContainer \"proxy\" must set securityContext.runAsNonRoot=true (or the pod must)",
                "restricted/Running as Non-root: container \"agent\" must set securityContext.runAsNonRoot=true (or the pod must)",
            ],
            PodSecurityRestricted.Check(pod));

        Proxy(pod)["securityContext"]!["runAsNonRoot"] = true;
        Agent(pod)["securityContext"]!["runAsNonRoot"] = true;

        Assert.Equal(["restricted/Running as Non-root: pod sets securityContext.runAsNonRoot=false"], PodSecurityRestricted.Check(pod));
    }

    [Fact]
    public void Pod_level_runAsNonRoot_and_seccomp_cover_containers_that_leave_them_unset()
    {
        var pod = SampleObjects.RestrictedPod();
        Spec(pod)["securityContext"]!.AsObject().Remove("runAsNonRoot");
        Spec(pod)["securityContext"]!.AsObject().Remove("seccompProfile");

        Assert.Equal(
            [
                "restricted/Running as Non-root: initContainer \"proxy\" must set securityContext.runAsNonRoot=true (or the pod must)",
                "restricted/Running as Non-root: container \"agent\" must set securityContext.runAsNonRoot=true (or the pod must)",
                "restricted/Seccomp: initContainer \"proxy\" must set securityContext.seccompProfile.type to RuntimeDefault or Localhost (or the pod must)",
                "restricted/Seccomp: container \"agent\" must set securityContext.seccompProfile.type to RuntimeDefault or Localhost (or the pod must)",
            ],
            PodSecurityRestricted.Check(pod));

        foreach (var container in new[] { Proxy(pod), Agent(pod) })
        {
            container["securityContext"]!["runAsNonRoot"] = true;
            container["securityContext"]!["seccompProfile"] = Json("""{ "type": "Localhost", "localhostProfile": "airlock.json" }""");
        }

        Assert.Empty(PodSecurityRestricted.Check(pod));
    }

    [Fact]
    public void Pod_level_seccomp_Unconfined_is_a_violation_even_when_every_container_overrides_it()
    {
        var pod = SampleObjects.RestrictedPod();
        Spec(pod)["securityContext"]!["seccompProfile"] = Json("""{ "type": "Unconfined" }""");
        foreach (var container in new[] { Proxy(pod), Agent(pod) })
        {
            container["securityContext"]!["seccompProfile"] = Json("""{ "type": "RuntimeDefault" }""");
        }

        Assert.Equal(
            ["restricted/Seccomp: pod sets securityContext.seccompProfile.type=Unconfined (allowed: RuntimeDefault, Localhost)"],
            PodSecurityRestricted.Check(pod));
    }

    [Fact]
    public void Ephemeral_containers_are_checked_too()
    {
        var pod = SampleObjects.RestrictedPod();
        Spec(pod)["ephemeralContainers"] = Json("""[ { "name": "debug", "image": "busybox" } ]""");

        Assert.Equal(
            [
                "restricted/Privilege Escalation: ephemeralContainer \"debug\" must set securityContext.allowPrivilegeEscalation=false",
                "restricted/Capabilities: ephemeralContainer \"debug\" must drop ALL capabilities (securityContext.capabilities.drop: [ALL])",
            ],
            PodSecurityRestricted.Check(pod));
    }

    [Fact]
    public void Windows_pods_are_exempt_from_the_linux_only_controls()
    {
        var pod = SampleObjects.RestrictedPod();
        Spec(pod)["os"] = Json("""{ "name": "windows" }""");
        Agent(pod).Remove("securityContext");

        Assert.Empty(PodSecurityRestricted.Check(pod));
    }

    [Fact]
    public void Allowed_values_pass()
    {
        var pod = SampleObjects.RestrictedPod();
        Agent(pod)["securityContext"]!["capabilities"]!["add"] = Json("""[ "NET_BIND_SERVICE" ]""");
        Agent(pod)["securityContext"]!["seLinuxOptions"] = Json("""{ "type": "container_t", "level": "s0:c1,c2" }""");
        Agent(pod)["securityContext"]!["procMount"] = "Default";
        Proxy(pod)["ports"]![0]!["hostPort"] = 0;
        Spec(pod)["securityContext"]!["sysctls"] = Json("""[ { "name": "net.ipv4.ip_unprivileged_port_start", "value": "0" } ]""");
        Spec(pod)["securityContext"]!["appArmorProfile"] = Json("""{ "type": "RuntimeDefault" }""");
        pod["metadata"]!["annotations"]!["container.apparmor.security.beta.kubernetes.io/agent"] = "localhost/airlock";
        Spec(pod)["volumes"]!.AsArray().Add(Json("""{ "name": "token", "projected": { "sources": [] } }"""));
        Agent(pod)["readinessProbe"] = Json("""{ "httpGet": { "host": "", "port": 8080 } }""");

        Assert.Empty(PodSecurityRestricted.Check(pod));
    }

    [Fact]
    public void Workload_and_sandbox_pod_templates_are_checked()
    {
        var deployment = SampleObjects.Deployment();
        var sandbox = SampleObjects.Sandbox();
        Assert.Empty(PodSecurityRestricted.Check(deployment));
        Assert.Empty(PodSecurityRestricted.Check(sandbox));

        deployment["spec"]!["template"]!["spec"]!["hostNetwork"] = true;
        sandbox["spec"]!["podTemplate"]!["spec"]!["containers"]![0]!["securityContext"]!["privileged"] = true;

        Assert.Equal(["baseline/Host Namespaces: pod sets hostNetwork=true"], PodSecurityRestricted.Check(deployment));
        Assert.Equal(
            ["baseline/Privileged Containers: container \"agent\" sets securityContext.privileged=true"],
            PodSecurityRestricted.Check(sandbox));
    }

    [Fact]
    public void An_object_that_runs_no_pods_is_refused()
    {
        Assert.Throws<ArgumentException>(() => PodSecurityRestricted.Check(SampleObjects.Secret()));
    }

    private static JsonObject Spec(JsonObject pod) => pod["spec"]!.AsObject();

    private static JsonObject Agent(JsonObject pod) => pod["spec"]!["containers"]![0]!.AsObject();

    private static JsonObject Proxy(JsonObject pod) => pod["spec"]!["initContainers"]![0]!.AsObject();

    private static JsonNode Json(string json) => JsonNode.Parse(json)!;
}
