using Airlock.Kubernetes.Objects;
using YamlDotNet.RepresentationModel;
using static Airlock.Kubernetes.Tests.Objects.SandboxSpecs;

namespace Airlock.Kubernetes.Tests.Objects;

public sealed class ManifestYamlTests
{
    public static TheoryData<SandboxTopology, WorkloadKind, NetworkMode> Matrix => BuildableData();

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Rendered_yaml_parses_into_one_document_per_object_with_the_same_content(SandboxTopology topology, WorkloadKind workload, NetworkMode mode)
    {
        var set = SandboxObjects.Build(Spec(topology, workload, mode), Ca);

        var stream = new YamlStream();
        stream.Load(new StringReader(set.ToYaml()));

        Assert.Equal(set.Objects.Length, stream.Documents.Count);
        for (var i = 0; i < set.Objects.Length; i++)
        {
            var root = (YamlMappingNode)stream.Documents[i].RootNode;
            Assert.Equal(set.Objects[i].Kind, ((YamlScalarNode)root["kind"]).Value);
            Assert.Equal(set.Objects[i].Metadata.Name, ((YamlScalarNode)root["metadata"]["name"]).Value);
            Assert.Equal(Canonical(ManifestJson.ToJson(set.Objects[i])), Canonical(root));
        }
    }

    [Theory]
    [InlineData("true")]
    [InlineData("0.0.0.0/0")]
    [InlineData("- a")]
    [InlineData("a: b")]
    [InlineData("x # y")]
    [InlineData("line1\nline2\n")]
    [InlineData("  leading")]
    [InlineData("tab\there")]
    [InlineData("\"quoted\" \\ back")]
    [InlineData("*alias")]
    [InlineData("")]
    [InlineData("123")]
    public void Strings_survive_the_round_trip_unchanged(string value)
    {
        var set = SandboxObjects.Build(Spec() with { Env = System.Collections.Immutable.ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create("VALUE", value)]) }, Ca);

        var stream = new YamlStream();
        stream.Load(new StringReader(set.ToYaml()));
        var pod = (YamlMappingNode)stream.Documents[^1].RootNode;
        var env = (YamlSequenceNode)pod["spec"]["containers"][0]["env"];
        var entry = env.Children.Cast<YamlMappingNode>().Single(e => ((YamlScalarNode)e["name"]).Value == "VALUE");
        var scalar = (YamlScalarNode)entry["value"];

        Assert.Equal(value, scalar.Value);
        if (value is "true" or "123" or "")
        {
            Assert.NotEqual(YamlDotNet.Core.ScalarStyle.Plain, scalar.Style);
        }
    }

    private static string Canonical(System.Text.Json.Nodes.JsonNode? node) => node switch
    {
        System.Text.Json.Nodes.JsonObject o => "{" + string.Join(",", o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + ":" + Canonical(p.Value))) + "}",
        System.Text.Json.Nodes.JsonArray a => "[" + string.Join(",", a.Select(Canonical)) + "]",
        null => "null",
        _ => node.GetValueKind() == System.Text.Json.JsonValueKind.String ? "s:" + node.GetValue<string>() : "v:" + node.ToJsonString(),
    };

    private static string Canonical(YamlNode node) => node switch
    {
        YamlMappingNode m => "{" + string.Join(",", m.Children.OrderBy(p => ((YamlScalarNode)p.Key).Value, StringComparer.Ordinal).Select(p => ((YamlScalarNode)p.Key).Value + ":" + Canonical(p.Value))) + "}",
        YamlSequenceNode s => "[" + string.Join(",", s.Children.Select(Canonical)) + "]",
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: "true" or "false" or "null" } v => "v:" + v.Value,
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } v when System.Text.RegularExpressions.Regex.IsMatch(v.Value ?? string.Empty, @"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$") => "v:" + v.Value,
        YamlScalarNode v => "s:" + v.Value,
        _ => throw new InvalidOperationException(node.GetType().Name),
    };
}
