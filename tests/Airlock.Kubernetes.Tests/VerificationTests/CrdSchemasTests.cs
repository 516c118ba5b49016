using System.Text.Json.Nodes;
using Airlock.Kubernetes.Tests.Verification;

namespace Airlock.Kubernetes.Tests.VerificationTests;

public class CrdSchemasTests
{
    [Fact]
    public void The_crds_serve_the_agent_sandbox_kinds()
    {
        var kinds = CrdSchemas.Kinds.Select(k => k.ToString()).ToHashSet();

        Assert.Contains("agents.x-k8s.io/v1beta1, Kind=Sandbox", kinds);
        Assert.Contains("extensions.agents.x-k8s.io/v1beta1, Kind=SandboxClaim", kinds);
        Assert.Contains("extensions.agents.x-k8s.io/v1beta1, Kind=SandboxTemplate", kinds);
        Assert.Contains("extensions.agents.x-k8s.io/v1beta1, Kind=SandboxWarmPool", kinds);
    }

    [Fact]
    public void Handcrafted_valid_resources_pass()
    {
        Assert.Empty(KubernetesValidator.Validate(SampleObjects.Sandbox()));
        Assert.Empty(KubernetesValidator.Validate(SampleObjects.SandboxClaim()));
        Assert.Empty(KubernetesValidator.Validate(WarmPool()));
        Assert.Empty(KubernetesValidator.Validate(Template()));
    }

    [Fact]
    public void An_unknown_field_is_an_error()
    {
        var sandbox = SampleObjects.Sandbox();
        sandbox["spec"]!["ttl"] = "1h";

        Assert.Equal(["spec.ttl: unknown field \"ttl\""], KubernetesValidator.Validate(sandbox));
    }

    [Fact]
    public void An_unknown_field_in_metadata_is_checked_against_ObjectMeta()
    {
        var claim = SampleObjects.SandboxClaim();
        claim["metadata"]!["owner"] = "me";
        claim["metadata"]!["labels"] = new JsonObject { ["n"] = 1 };

        Assert.Equal(
            ["metadata.owner: unknown field \"owner\"", "metadata.labels[n]: expected string, got number 1"],
            KubernetesValidator.Validate(claim));
    }

    [Fact]
    public void A_value_outside_the_crd_enum_is_an_error()
    {
        var claim = SampleObjects.SandboxClaim();
        claim["spec"]!["lifecycle"]!["shutdownPolicy"] = "Destroy";

        Assert.Equal(
            ["spec.lifecycle.shutdownPolicy: unsupported value \"Destroy\": supported values: \"Delete\", \"DeleteForeground\", \"Retain\""],
            KubernetesValidator.Validate(claim));
    }

    [Fact]
    public void Minimum_required_and_types_apply()
    {
        var pool = WarmPool();
        pool["spec"]!["replicas"] = -1;
        pool["spec"]!.AsObject().Remove("sandboxTemplateRef");
        var claim = SampleObjects.SandboxClaim();
        claim["spec"]!["lifecycle"]!["shutdownTime"] = "tomorrow";

        Assert.Equal(
            ["spec.replicas: must be greater than or equal to 0", "spec.sandboxTemplateRef: required field is missing"],
            KubernetesValidator.Validate(pool));
        Assert.Equal(
            ["spec.lifecycle.shutdownTime: \"tomorrow\" is not an RFC 3339 date-time"],
            KubernetesValidator.Validate(claim));
    }

    [Fact]
    public void The_embedded_pod_template_is_validated_like_a_pod()
    {
        var sandbox = SampleObjects.Sandbox();
        var agent = sandbox["spec"]!["podTemplate"]!["spec"]!["containers"]![0]!;
        agent["resources"]!["limits"]!["memory"] = "1GB";
        agent["imagePullPolicy"] = "Sometimes";
        agent["securityContext"]!["runAsRoot"] = true;

        Assert.Equal(
            [
                // From the CRD's own schema, then from the core PodSpec (duplicates reported once).
                "spec.podTemplate.spec.containers[0].securityContext.runAsRoot: unknown field \"runAsRoot\"",
                "spec.podTemplate.spec.containers[0].resources.limits[memory]: \"1GB\" does not match the pattern ^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
                "spec.podTemplate.spec.containers[0].imagePullPolicy: unsupported value \"Sometimes\": supported values: \"Always\", \"Never\", \"IfNotPresent\"",
                "spec.podTemplate.spec.containers[0].resources.limits[memory]: \"1GB\" is not a quantity (expected e.g. 500m, 1.5, 64Mi, 1e3)",
            ],
            KubernetesValidator.Validate(sandbox));
    }

    [Fact]
    public void Pod_template_metadata_takes_only_labels_and_annotations()
    {
        var sandbox = SampleObjects.Sandbox();
        sandbox["spec"]!["podTemplate"]!["metadata"]!["name"] = "pod";

        Assert.Equal(["spec.podTemplate.metadata.name: unknown field \"name\""], KubernetesValidator.Validate(sandbox));
    }

    [Fact]
    public void A_template_network_policy_is_checked_against_the_core_rule_schema()
    {
        var template = Template();
        template["spec"]!["networkPolicy"]!["egress"]![0]!["ports"]![0]!["protocol"] = "ICMP";

        Assert.Equal(
            ["spec.networkPolicy.egress[0].ports[0].protocol: unsupported value \"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\""],
            KubernetesValidator.Validate(template));
    }

    [Fact]
    public void An_unserved_version_or_unknown_kind_is_an_error()
    {
        var sandbox = SampleObjects.Sandbox();
        sandbox["apiVersion"] = "agents.x-k8s.io/v2";
        var claim = SampleObjects.SandboxClaim();
        claim["kind"] = "SandboxClaims";

        Assert.Equal(["(root): no CustomResourceDefinition serves agents.x-k8s.io/v2, Kind=Sandbox"], KubernetesValidator.Validate(sandbox));
        Assert.Equal(
            ["(root): no CustomResourceDefinition serves extensions.agents.x-k8s.io/v1beta1, Kind=SandboxClaims"],
            KubernetesValidator.Validate(claim));
    }

    private static JsonObject WarmPool() => SampleObjects.Parse("""
        {
          "apiVersion": "extensions.agents.x-k8s.io/v1beta1",
          "kind": "SandboxWarmPool",
          "metadata": { "name": "python", "namespace": "agents" },
          "spec": { "replicas": 2, "sandboxTemplateRef": { "name": "python" } }
        }
        """);

    private static JsonObject Template()
    {
        var template = SampleObjects.Parse("""
            {
              "apiVersion": "extensions.agents.x-k8s.io/v1beta1",
              "kind": "SandboxTemplate",
              "metadata": { "name": "python", "namespace": "agents" },
              "spec": {
                "networkPolicyManagement": "Unmanaged",
                "networkPolicy": {
                  "egress": [ { "to": [ { "ipBlock": { "cidr": "0.0.0.0/0" } } ], "ports": [ { "protocol": "TCP", "port": 443 } ] } ]
                },
                "podTemplate": { "metadata": { "labels": { "app": "python" } } }
              }
            }
            """);
        template["spec"]!["podTemplate"]!["spec"] = SampleObjects.Sandbox()["spec"]!["podTemplate"]!["spec"]!.DeepClone();
        return template;
    }
}
