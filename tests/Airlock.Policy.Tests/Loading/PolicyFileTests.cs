using System.Text;
using Airlock.Policy.Loading;

namespace Airlock.Policy.Tests.Loading;

public sealed class PolicyFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("airlock-policy-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("policy.yaml", "version: 1\nname: from-yaml\n")]
    [InlineData("policy.json", "{\"version\": 1, \"name\": \"from-json\"}")]
    [InlineData("policy", "  {\"version\": 1, \"name\": \"sniffed\"}")]
    [InlineData("policy.txt", "version: 1\nname: sniffed-yaml\n")]
    public void Files_load_as_JSON_by_extension_or_leading_brace_and_YAML_otherwise(string name, string text)
    {
        var path = Write(name, Encoding.UTF8.GetBytes(text));

        var result = PolicyLoader.LoadFile(path);

        Assert.True(result.Succeeded, PolicyTexts.Dump(result));
        Assert.Equal(path, result.Policy!.Source);
    }

    [Fact]
    public void A_JSON_extension_means_JSON_even_without_a_brace()
    {
        var path = Write("policy.json", Encoding.UTF8.GetBytes("version: 1\n"));

        var result = PolicyLoader.LoadFile(path);

        Assert.StartsWith($"{path}:1:1: error: invalid JSON", Assert.Single(result.Diagnostics).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_UTF8_byte_order_mark_is_skipped()
    {
        var path = Write("bom.yaml", [.. Encoding.UTF8.Preamble, .. Encoding.UTF8.GetBytes("version: 1\nmode: audit\n")]);

        Assert.True(PolicyLoader.LoadFile(path).Succeeded);
    }

    [Fact]
    public void A_missing_file_is_an_error_not_an_exception()
    {
        var path = Path.Combine(_directory, "missing.yaml");

        var result = PolicyLoader.LoadFile(path);

        var error = Assert.Single(result.Errors);
        Assert.StartsWith($"{path}:1:1: error: cannot read the policy: ", error.ToString(), StringComparison.Ordinal);
        Assert.Null(result.Policy);
    }

    [Fact]
    public void A_directory_is_an_error_not_an_exception()
    {
        Assert.Contains("cannot read the policy", Assert.Single(PolicyLoader.LoadFile(_directory).Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Files_over_16_MiB_are_refused()
    {
        var path = Path.Combine(_directory, "huge.yaml");
        using (var file = File.Create(path))
        {
            file.SetLength(PolicyLoader.MaxPolicyBytes + 1);
        }

        var error = Assert.Single(PolicyLoader.LoadFile(path).Errors);

        Assert.Contains("the limit is 16,777,216 bytes (16 MiB)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_UTF8_is_reported_where_it_starts()
    {
        var path = Write("latin1.yaml", [.. Encoding.UTF8.GetBytes("version: 1\nname: caf"), 0xE9, (byte)'\n']);

        var error = Assert.Single(PolicyLoader.LoadFile(path).Errors);

        Assert.Equal($"{path}:2:10: error: the file is not valid UTF-8; save it as UTF-8", error.ToString());
    }

    [Fact]
    public void UTF16_is_reported_as_such()
    {
        var path = Write("utf16.yaml", [.. Encoding.Unicode.Preamble, .. Encoding.Unicode.GetBytes("version: 1\n")]);

        Assert.Equal("the file is UTF-16", Assert.Single(PolicyLoader.LoadFile(path).Errors).Message);
    }

    private string Write(string name, byte[] content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, content);
        return path;
    }
}
