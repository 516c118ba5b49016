using System.Text.Json;

namespace Airlock.Cli.Tests.Policies;

public class PolicySchemaTests
{
    [Fact]
    public async Task Schema_is_a_json_schema_of_the_policy_format()
    {
        var run = await CliRun.Of("policy", "schema");

        Assert.Equal(0, run.ExitCode);
        using var schema = JsonDocument.Parse(run.Stdout);
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", schema.RootElement.GetProperty("$schema").GetString());
        var properties = schema.RootElement.GetProperty("properties");
        foreach (var key in new[] { "version", "name", "mode", "default", "tls", "egress", "addresses", "filesystem", "redact" })
        {
            Assert.True(properties.TryGetProperty(key, out _), $"schema lacks '{key}'");
        }
    }
}
