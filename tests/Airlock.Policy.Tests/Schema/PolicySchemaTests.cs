using System.Collections.Immutable;
using System.Text.Json;
using Airlock.Policy.Loading;
using Airlock.Policy.Schema;

namespace Airlock.Policy.Tests.Schema;

/// <summary>The editor schema and the loader must accept the same keys, or one of them is lying.</summary>
public class PolicySchemaTests
{
    public static TheoryData<string, string> Sections() => new()
    {
        { "top level", "" },
        { "rule", "rule" },
        { "http rule", "httpRule" },
        { "inject", "injection" },
        { "addresses", "addresses" },
        { "filesystem", "filesystem" },
    };

    [Fact]
    public void The_schema_is_draft_2020_12_JSON_with_the_published_id()
    {
        using var schema = JsonDocument.Parse(PolicySchema.Json);

        Assert.Equal("https://json-schema.org/draft/2020-12/schema", schema.RootElement.GetProperty("$schema").GetString());
        Assert.Equal(PolicySchema.Id, schema.RootElement.GetProperty("$id").GetString());
        Assert.Equal("https://airlock.dev/schemas/policy-v1.json", PolicySchema.Id);
    }

    [Theory]
    [MemberData(nameof(Sections))]
    public void The_schema_declares_exactly_the_keys_the_loader_accepts(string section, string definition)
    {
        using var schema = JsonDocument.Parse(PolicySchema.Json);
        var node = definition.Length == 0 ? schema.RootElement : schema.RootElement.GetProperty("$defs").GetProperty(definition);

        var declared = node.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal);
        var accepted = LoaderKeys(section).Order(StringComparer.Ordinal);

        Assert.Equal(accepted, declared);
        Assert.False(node.GetProperty("additionalProperties").GetBoolean());
    }

    [Fact]
    public void Every_property_in_the_schema_has_a_description()
    {
        using var schema = JsonDocument.Parse(PolicySchema.Json);
        var missing = new List<string>();

        void Walk(JsonElement element, string path)
        {
            if (element.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name == "properties" && property.Value.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var declared in property.Value.EnumerateObject())
                        {
                            // "properties": {"http": false} inside if/then forbids a key; it declares nothing.
                            if (declared.Value.ValueKind == JsonValueKind.Object && !declared.Value.TryGetProperty("description", out _)
                                && !path.Contains("/if", StringComparison.Ordinal))
                            {
                                missing.Add($"{path}/properties/{declared.Name}");
                            }
                        }
                    }

                    Walk(property.Value, $"{path}/{property.Name}");
                }
            }
            else if (element.ValueKind == JsonValueKind.Array)
            {
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item, $"{path}/{i++}");
                }
            }
        }

        Walk(schema.RootElement, "#");

        Assert.Empty(missing);
    }

    private static ImmutableArray<string> LoaderKeys(string section) => section switch
    {
        "top level" => PolicyKeys.TopLevel,
        "rule" => PolicyKeys.Rule,
        "http rule" => PolicyKeys.HttpRule,
        "inject" => PolicyKeys.Inject,
        "addresses" => PolicyKeys.Addresses,
        _ => PolicyKeys.Filesystem,
    };
}
