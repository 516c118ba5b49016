using System.Text.Json.Nodes;
using Airlock.Kubernetes.Tests.Verification;

namespace Airlock.Kubernetes.Tests.VerificationTests;

public class KubernetesSchemasTests
{
    public static TheoryData<string> ValidObjects => ["pod", "secret", "service", "networkpolicy", "deployment"];

    [Theory]
    [MemberData(nameof(ValidObjects))]
    public void Handcrafted_valid_objects_pass(string name)
    {
        var obj = name switch
        {
            "pod" => SampleObjects.RestrictedPod(),
            "secret" => SampleObjects.Secret(),
            "service" => SampleObjects.Service(),
            "networkpolicy" => SampleObjects.NetworkPolicy(),
            _ => SampleObjects.Deployment(),
        };

        Assert.Empty(KubernetesSchemas.Validate(obj));
    }

    [Fact]
    public void The_documents_define_the_kinds_Airlock_generates()
    {
        var kinds = KubernetesSchemas.Kinds.Select(k => k.ToString()).ToHashSet();

        Assert.Contains("v1, Kind=Pod", kinds);
        Assert.Contains("networking.k8s.io/v1, Kind=NetworkPolicy", kinds);
        Assert.Contains("rbac.authorization.k8s.io/v1, Kind=Role", kinds);
        Assert.Contains("apps/v1, Kind=Deployment", kinds);
    }

    [Fact]
    public void An_unknown_field_is_an_error_at_its_path()
    {
        var pod = SampleObjects.RestrictedPod();
        pod["spec"]!["containers"]![0]!["securityContext"]!["runAsRoot"] = true;

        Assert.Equal(
            ["spec.containers[0].securityContext.runAsRoot: unknown field \"runAsRoot\""],
            KubernetesSchemas.Validate(pod));
    }

    [Fact]
    public void An_unknown_top_level_field_and_an_unknown_metadata_field_are_errors()
    {
        var pod = SampleObjects.RestrictedPod();
        pod["extra"] = 1;
        pod["metadata"]!["label"] = new JsonObject();

        Assert.Equal(
            ["metadata.label: unknown field \"label\"", "extra: unknown field \"extra\""],
            KubernetesSchemas.Validate(pod));
    }

    [Fact]
    public void A_wrong_type_is_an_error()
    {
        var pod = SampleObjects.RestrictedPod();
        pod["spec"]!["containers"]![0]!["securityContext"]!["runAsUser"] = "1000";

        Assert.Equal(
            ["spec.containers[0].securityContext.runAsUser: expected integer, got string"],
            KubernetesSchemas.Validate(pod));
    }

    [Fact]
    public void A_fraction_where_an_integer_belongs_and_an_int32_overflow_are_errors()
    {
        var pod = SampleObjects.RestrictedPod();
        pod["spec"]!["securityContext"]!["runAsUser"] = 1.5;
        pod["spec"]!["initContainers"]![0]!["ports"]![0]!["containerPort"] = 4_294_967_296L;

        Assert.Equal(
            [
                "spec.securityContext.runAsUser: expected integer, got number 1.5",
                "spec.initContainers[0].ports[0].containerPort: 4294967296 is out of range for int32",
            ],
            KubernetesSchemas.Validate(pod));
    }

    [Fact]
    public void A_boolean_written_as_a_string_is_an_error()
    {
        var pod = SampleObjects.RestrictedPod();
        pod["spec"]!["automountServiceAccountToken"] = "false";

        Assert.Equal(["spec.automountServiceAccountToken: expected boolean, got string"], KubernetesSchemas.Validate(pod));
    }

    [Fact]
    public void A_missing_required_field_is_an_error()
    {
        var pod = SampleObjects.RestrictedPod();
        pod["spec"]!["containers"]![0]!.AsObject().Remove("name");
        var policy = SampleObjects.NetworkPolicy();
        policy["spec"]!["egress"]![1]!["to"]![0]!["ipBlock"]!.AsObject().Remove("cidr");

        Assert.Equal(["spec.containers[0].name: required field is missing"], KubernetesSchemas.Validate(pod));
        Assert.Equal(["spec.egress[1].to[0].ipBlock.cidr: required field is missing"], KubernetesSchemas.Validate(policy));
    }

    [Theory]
    [InlineData("1.5Gi")]
    [InlineData("500m")]
    [InlineData("1e3")]
    [InlineData("1E-3")]
    [InlineData(".5")]
    [InlineData("2.")]
    [InlineData("+1Ki")]
    [InlineData("100n")]
    [InlineData("3u")]
    public void Well_formed_quantities_pass(string quantity)
    {
        var pod = SampleObjects.RestrictedPod();
        pod["spec"]!["containers"]![0]!["resources"]!["limits"]!["memory"] = quantity;

        Assert.True(KubernetesQuantity.IsValid(quantity));
        Assert.Empty(KubernetesSchemas.Validate(pod));
    }

    [Theory]
    [InlineData("1GB")]
    [InlineData("1.5 Gi")]
    [InlineData("Gi")]
    [InlineData("1gi")]
    [InlineData("1e1.5")]
    [InlineData("1K")]
    [InlineData("")]
    [InlineData("1Mi\n")]
    public void A_malformed_quantity_is_an_error(string quantity)
    {
        var pod = SampleObjects.RestrictedPod();
        pod["spec"]!["containers"]![0]!["resources"]!["limits"]!["memory"] = quantity;

        Assert.False(KubernetesQuantity.IsValid(quantity));
        Assert.Equal(
            [$"spec.containers[0].resources.limits[memory]: \"{quantity}\" is not a quantity (expected e.g. 500m, 1.5, 64Mi, 1e3)"],
            KubernetesSchemas.Validate(pod));
    }

    [Fact]
    public void A_quantity_that_is_neither_string_nor_number_is_an_error()
    {
        var pod = SampleObjects.RestrictedPod();
        pod["spec"]!["volumes"]![0]!["emptyDir"]!["sizeLimit"] = true;

        Assert.Equal(
            ["spec.volumes[0].emptyDir.sizeLimit: expected quantity (string or number), got boolean"],
            KubernetesSchemas.Validate(pod));
    }

    [Fact]
    public void A_value_outside_an_enumeration_the_server_enforces_is_an_error()
    {
        var pod = SampleObjects.RestrictedPod();
        pod["spec"]!["containers"]![0]!["imagePullPolicy"] = "Sometimes";
        var policy = SampleObjects.NetworkPolicy();
        policy["spec"]!["policyTypes"]![1] = "egress";

        Assert.Equal(
            ["spec.containers[0].imagePullPolicy: unsupported value \"Sometimes\": supported values: \"Always\", \"Never\", \"IfNotPresent\""],
            KubernetesSchemas.Validate(pod));
        Assert.Equal(
            ["spec.policyTypes[1]: unsupported value \"egress\": supported values: \"Ingress\", \"Egress\""],
            KubernetesSchemas.Validate(policy));
    }

    [Fact]
    public void Int_or_string_takes_either_but_nothing_else()
    {
        var service = SampleObjects.Service();
        service["spec"]!["ports"]![0]!["targetPort"] = 3128;
        Assert.Empty(KubernetesSchemas.Validate(service));

        service["spec"]!["ports"]![0]!["targetPort"] = new JsonArray();
        Assert.Equal(
            ["spec.ports[0].targetPort: expected integer or string, got array"],
            KubernetesSchemas.Validate(service));
    }

    [Fact]
    public void Secret_data_must_be_base64()
    {
        var secret = SampleObjects.Secret();
        secret["data"]!["ca.crt"] = "-----BEGIN CERTIFICATE-----";

        Assert.Equal(
            ["data[ca.crt]: value is not standard padded base64 (format byte)"],
            KubernetesSchemas.Validate(secret));
    }

    [Fact]
    public void A_date_time_must_be_rfc3339()
    {
        var pod = SampleObjects.RestrictedPod();
        pod["metadata"]!["creationTimestamp"] = "2026-01-01 00:00:00";

        Assert.Equal(
            ["metadata.creationTimestamp: \"2026-01-01 00:00:00\" is not an RFC 3339 date-time"],
            KubernetesSchemas.Validate(pod));
    }

    [Fact]
    public void A_label_value_must_be_a_string_and_null_is_refused()
    {
        var pod = SampleObjects.RestrictedPod();
        pod["metadata"]!["labels"]!["replicas"] = 1;
        pod["spec"]!["hostname"] = null;

        Assert.Equal(
            [
                "metadata.labels[replicas]: expected string, got number 1",
                "spec.hostname: must not be null (the field is not nullable: omit it instead)",
            ],
            KubernetesSchemas.Validate(pod));
    }

    [Fact]
    public void Duplicate_keys_in_a_list_map_are_an_error()
    {
        var pod = SampleObjects.RestrictedPod();
        pod["spec"]!["volumes"]!.AsArray().Add(new JsonObject { ["name"] = "workspace", ["emptyDir"] = new JsonObject() });

        Assert.Equal(
            ["spec.volumes[2]: duplicate entry (name=\"workspace\") in a list of type map"],
            KubernetesSchemas.Validate(pod));
    }

    [Fact]
    public void An_unknown_kind_or_version_is_an_error()
    {
        var pod = SampleObjects.RestrictedPod();
        pod["kind"] = "Pods";
        var policy = SampleObjects.NetworkPolicy();
        policy["apiVersion"] = "networking.k8s.io/v1beta1";

        Assert.Equal(["(root): no schema for v1, Kind=Pods in the Kubernetes 1.35 OpenAPI documents"], KubernetesSchemas.Validate(pod));
        Assert.Equal(
            ["(root): no schema for networking.k8s.io/v1beta1, Kind=NetworkPolicy in the Kubernetes 1.35 OpenAPI documents"],
            KubernetesSchemas.Validate(policy));
    }

    [Fact]
    public void An_object_without_apiVersion_is_an_error()
    {
        var pod = SampleObjects.RestrictedPod();
        pod.Remove("apiVersion");

        Assert.Equal(["(root): apiVersion and kind must both be set to non-empty strings"], KubernetesValidator.Validate(pod));
    }

    [Fact]
    public void Errors_in_a_deployments_pod_template_are_reported_at_their_path()
    {
        var deployment = SampleObjects.Deployment();
        deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["ports"] = JsonNode.Parse("""[{ "containerPort": "3128" }]""");

        Assert.Equal(
            ["spec.template.spec.containers[0].ports[0].containerPort: expected integer, got string"],
            KubernetesValidator.Validate(deployment));
    }

    [Fact]
    public void Yaml_documents_read_as_the_api_server_sees_them()
    {
        var documents = YamlDocuments.Parse("""
            apiVersion: v1
            kind: Secret
            metadata:
              name: s
              labels:
                enabled: "true"
            data:
              key: dmFsdWU=
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: p
            spec:
              ports:
              - port: 3128
                targetPort: proxy
            """);

        Assert.Equal(2, documents.Count);
        Assert.All(documents, d => Assert.Empty(KubernetesValidator.Validate(d)));
        Assert.Equal("\"true\"", documents[0]["metadata"]!["labels"]!["enabled"]!.ToJsonString());
        Assert.Equal("3128", documents[1]["spec"]!["ports"]![0]!["port"]!.ToJsonString());
    }

    [Fact]
    public void An_unquoted_yaml_boolean_label_is_caught()
    {
        var document = YamlDocuments.Parse("""
            apiVersion: v1
            kind: Secret
            metadata:
              name: s
              labels:
                enabled: true
            """).Single();

        Assert.Equal(["metadata.labels[enabled]: expected string, got boolean"], KubernetesValidator.Validate(document));
    }
}
