using System.Net;
using System.Text;

namespace Airlock.Server.Tests.Api;

/// <summary>Named, versioned policies through the API of a real gateway with a real SQLite store.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PolicyApiTests : GatewayTestBase
{
    private const string Good = "version: 1\nname: api\ndefault: deny\negress:\n  - allow: api.github.com\n";

    private static StringContent Yaml(string text) => new(text, Encoding.UTF8, "application/yaml");

    [Fact]
    public async Task Validation_answers_with_each_problem_at_its_line_and_column()
    {
        var good = await JsonAsync(await Session.PostAsync(new Uri("/v1/policies/validate", UriKind.Relative), Yaml(Good)));
        var bad = await JsonAsync(await Session.PostAsync(new Uri("/v1/policies/validate", UriKind.Relative), Yaml("version: 1\negress:\n  - alow: x\n")));

        Assert.True(good.GetProperty("valid").GetBoolean());
        Assert.False(bad.GetProperty("valid").GetBoolean());
        var problem = bad.GetProperty("problems")[0];
        Assert.Equal((3, 5, "error"), (problem.GetProperty("line").GetInt32(), problem.GetProperty("column").GetInt32(), problem.GetProperty("severity").GetString()));
        Assert.Contains("allow", problem.GetProperty("suggestion").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Versions_are_stored_byAdmins_listed_read_and_used_to_create_a_sandbox()
    {
        var first = await Admin.PutAsync(new Uri("/v1/policies/coding-agent", UriKind.Relative), Yaml(Good));
        var second = await Admin.PutAsync(new Uri("/v1/policies/coding-agent", UriKind.Relative), Yaml(Good.Replace("api.github.com", "pypi.org", StringComparison.Ordinal)));
        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.Created), (first.StatusCode, second.StatusCode));
        Assert.Equal(2, (await JsonAsync(second)).GetProperty("version").GetInt32());

        var latest = await JsonAsync(await Session.GetAsync(new Uri("/v1/policies/coding-agent", UriKind.Relative)));
        var v1 = await JsonAsync(await Session.GetAsync(new Uri("/v1/policies/coding-agent?version=1", UriKind.Relative)));
        var list = await JsonAsync(await Session.GetAsync(new Uri("/v1/policies", UriKind.Relative)));
        Assert.Equal((2, true), (latest.GetProperty("version").GetInt32(), latest.GetProperty("text").GetString()!.Contains("pypi.org", StringComparison.Ordinal)));
        Assert.Contains("api.github.com", v1.GetProperty("text").GetString(), StringComparison.Ordinal);
        var only = Assert.Single(list.GetProperty("items").EnumerateArray());
        Assert.Equal(("coding-agent", 2), (only.GetProperty("name").GetString(), only.GetProperty("latestVersion").GetInt32()));

        var created = await Session.PostAsync(new Uri("/v1/sandboxes", UriKind.Relative), new StringContent("{\"policyName\":\"coding-agent\",\"policyVersion\":1}", Encoding.UTF8, "application/json"));
        var sandbox = await JsonAsync(created);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(("coding-agent", 1), (sandbox.GetProperty("policyName").GetString(), sandbox.GetProperty("policyVersion").GetInt32()));
    }

    [Fact]
    public async Task Writes_are_refused_toSession_tokens_invalid_policies_and_bad_names_and_store_nothing()
    {
        var bySession = await Session.PutAsync(new Uri("/v1/policies/mine", UriKind.Relative), Yaml(Good));
        var invalid = await Admin.PutAsync(new Uri("/v1/policies/broken", UriKind.Relative), Yaml("version: 1\negress:\n  - alow: x\n"));
        var badName = await Admin.PutAsync(new Uri("/v1/policies/Not_A_Name", UriKind.Relative), Yaml(Good));
        var missing = await Admin.GetAsync(new Uri("/v1/policies/none", UriKind.Relative));
        var missingVersion = await Admin.GetAsync(new Uri("/v1/policies/broken?version=3", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Forbidden, bySession.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Contains("broken:3:5", (await JsonAsync(invalid)).GetProperty("errors").GetProperty("policy")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        Assert.Equal((HttpStatusCode.NotFound, HttpStatusCode.NotFound), (missing.StatusCode, missingVersion.StatusCode));
        Assert.Empty((await JsonAsync(await Admin.GetAsync(new Uri("/v1/policies", UriKind.Relative)))).GetProperty("items").EnumerateArray());
    }
}
