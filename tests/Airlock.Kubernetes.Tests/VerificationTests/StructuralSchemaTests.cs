using System.Text.Json.Nodes;
using Airlock.Kubernetes.Tests.Verification;

namespace Airlock.Kubernetes.Tests.VerificationTests;

/// <summary>Structural-schema keywords the agent-sandbox CRDs do not use today, on a small handwritten schema.</summary>
public class StructuralSchemaTests
{
    private static readonly JsonObject Schema = SampleObjects.Parse("""
        {
          "type": "object",
          "properties": {
            "free": { "type": "object", "x-kubernetes-preserve-unknown-fields": true },
            "closed": { "type": "object" },
            "port": { "x-kubernetes-int-or-string": true, "anyOf": [ { "type": "integer" }, { "type": "string" } ] },
            "maybe": { "type": "string", "nullable": true },
            "never": { "type": "string" },
            "template": {
              "type": "object",
              "x-kubernetes-embedded-resource": true,
              "properties": { "spec": { "type": "object", "x-kubernetes-preserve-unknown-fields": true } }
            }
          }
        }
        """);

    [Fact]
    public void Valid_values_pass()
    {
        Assert.Empty(Validate("""
            {
              "free": { "anything": { "goes": [ 1, "two" ] } },
              "closed": {},
              "port": "http",
              "maybe": null,
              "template": { "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "x" }, "spec": { "a": 1 } }
            }
            """));
        Assert.Empty(Validate("""{ "port": 8080 }"""));
    }

    [Fact]
    public void Fields_outside_a_preserve_unknown_subtree_are_unknown()
    {
        Assert.Equal(["closed.anything: unknown field \"anything\""], Validate("""{ "closed": { "anything": 1 } }"""));
    }

    [Fact]
    public void Int_or_string_refuses_other_types_and_null_needs_nullable()
    {
        Assert.Equal(
            ["port: expected integer or string, got boolean", "never: must not be null (the field is not nullable: omit it instead)"],
            Validate("""{ "port": true, "never": null }"""));
    }

    [Fact]
    public void An_embedded_resource_has_its_metadata_validated_as_ObjectMeta()
    {
        Assert.Equal(
            ["template.metadata.nam: unknown field \"nam\"", "template.kind: expected string, got number 1"],
            Validate("""{ "template": { "apiVersion": "v1", "metadata": { "nam": "x" }, "kind": 1 } }"""));
    }

    private static List<string> Validate(string json)
    {
        var validator = new StrictSchemaValidator(
            SchemaDialect.Structural,
            resolveReference: null,
            enumsBySchema: null,
            quantitySchema: null,
            (metadata, path, errors) => KubernetesSchemas.ValidateComponent("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", metadata, path, errors));
        var errors = new List<string>();
        validator.Validate(JsonNode.Parse(json), Schema, string.Empty, errors);
        return errors;
    }
}
