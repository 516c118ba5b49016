using Airlock.Policy.Http;

namespace Airlock.Policy.Tests.Http;

public class RequestPathTests
{
    // Target as received -> decoded segments and the path to forward.
    public static TheoryData<string, string[], string> NormalisedCases => new()
    {
        { "/", [""], "/" },
        { "/a", ["a"], "/a" },
        { "/a/", ["a", ""], "/a/" },
        { "/a/b/c", ["a", "b", "c"], "/a/b/c" },
        { "/repos/a/../b", ["repos", "b"], "/repos/b" },
        { "/a/./b", ["a", "b"], "/a/b" },
        { "/a/b/..", ["a", ""], "/a/" },
        { "/a/b/.", ["a", "b", ""], "/a/b/" },
        { "/a/b/../", ["a", ""], "/a/" },
        { "/a/..", [""], "/" },
        { "/.", [""], "/" },
        { "/./", [""], "/" },
        { "/a/b/../../c", ["c"], "/c" },
        { "/a/%2e%2e/b", ["b"], "/b" },
        { "/a/%2E%2e/b", ["b"], "/b" },
        { "/a/.%2E/b", ["b"], "/b" },
        { "/a/%2e/b", ["a", "b"], "/a/b" },
        { "/x/%41/../y%20z", ["x", "y z"], "/x/y%20z" },
        { "/caf%C3%A9", ["caf\u00e9"], "/caf%C3%A9" },
        { "/a+b", ["a+b"], "/a+b" },
        { "/%252e.txt", ["%2e.txt"], "/%252e.txt" },
        { "/%2525", ["%25"], "/%2525" },
        { "/a;b=c/d", ["a;b=c", "d"], "/a;b=c/d" },
        { "/.well-known/x", [".well-known", "x"], "/.well-known/x" },
        { "/a..b/c.", ["a..b", "c."], "/a..b/c." },
        { "/%3B", [";"], "/%3B" },
        { "/a?", ["a"], "/a" },
        { "/a?x=1", ["a"], "/a" },
        { "/a/..?x=/../..", [""], "/" },
    };

    [Theory]
    [MemberData(nameof(NormalisedCases))]
    public void Normalises_paths(string target, string[] segments, string path)
    {
        Assert.True(RequestPath.TryParse(target, out var parsed, out var problem), problem);
        Assert.Equal(segments, parsed.Segments);
        Assert.Equal(path, parsed.Path);
        Assert.False(parsed.IsAsterisk);
    }

    public static TheoryData<string, string> MalformedCases => new()
    {
        // Not origin-form.
        { "", "must start with '/'" },
        { "a/b", "must start with '/'" },
        { "http://example.com/a", "must start with '/'" },
        { "?x=1", "must start with '/'" },
        { "**", "must start with '/'" },

        // Traversal above the root.
        { "/..", "above the root" },
        { "/../a", "above the root" },
        { "/a/../..", "above the root" },
        { "/a/../../b", "above the root" },
        { "/%2e%2e", "above the root" },
        { "/%2E%2E/etc/passwd", "above the root" },
        { "/./..", "above the root" },

        // Encoded separators: the decoded segment would contain a separator.
        { "/repos/..%2fadmin", "encoded '/'" },
        { "/repos/..%2Fadmin", "encoded '/'" },
        { "/repos%2f..%2fadmin", "encoded '/'" },
        { "/a%2Fb", "encoded '/'" },
        { "/a%2Fb/..", "encoded '/'" },
        { "/repos/..%5cadmin", "'\\'" },
        { "/repos/..%5Cadmin", "'\\'" },
        { "/repos\\..\\admin", "'\\'" },

        // NUL and other control characters.
        { "/a%00", "control" },
        { "/a%00.txt/b", "control" },
        { "/a%0d%0aX-Injected:%201", "control" },
        { "/a%7F", "control" },
        { "/a%C2%85", "control" },

        // Raw characters a client must encode.
        { "/a b", "percent-encoded" },
        { "/a\tb", "percent-encoded" },
        { "/a\u0000b", "percent-encoded" },
        { "/a\r\nb", "percent-encoded" },
        { "/caf\u00e9", "percent-encoded" },
        { "/a\u007f", "percent-encoded" },
        { "/a?q=a b", "percent-encoded" },
        { "/a#frag", "percent-encoded" },
        { "/public/x#/../../admin", "percent-encoded" },

        // Empty segments.
        { "//", "empty segment" },
        { "//a", "empty segment" },
        { "/a//b", "empty segment" },
        { "/a//../b", "empty segment" },
        { "/a///", "empty segment" },

        // Dot segments that some servers would still resolve.
        { "/public/..;/admin", "made of dots" },
        { "/public/..;jsessionid=x/admin", "made of dots" },
        { "/public/.;/admin", "made of dots" },
        { "/public/%2e%2e;/admin", "made of dots" },
        { "/public/%2e%2e%3b/admin", "made of dots" },
        { "/public/.../admin", "made of dots" },
        { "/public/..%20/admin", "made of dots" },
        { "/public/.%20", "made of dots" },

        // Double encoding that a second decode would turn into traversal or a separator.
        { "/a/%252e%252e/b", "double-encoded" },
        { "/a/%252E%252E", "double-encoded" },
        { "/a/%252e", "double-encoded" },
        { "/a/..%252f..%252fadmin", "double-encoded" },
        { "/a/%255c", "double-encoded" },
        { "/a/%2500", "double-encoded" },

        // Unicode look-alikes and overlong UTF-8.
        { "/a/%EF%BC%8E%EF%BC%8E/b", "look-alike" },
        { "/a/%EF%BC%8F", "look-alike" },
        { "/a/x%EF%BC%BCy", "look-alike" },
        { "/a/%E2%80%A5", "look-alike" },
        { "/a/x%E2%88%95y", "look-alike" },
        { "/a/%C0%AE%C0%AE/b", "invalid UTF-8" },
        { "/a/%C0%AF", "invalid UTF-8" },
        { "/a/%E0%80%AE", "invalid UTF-8" },
        { "/a/%ED%A0%80", "invalid UTF-8" },
        { "/a/%FF", "invalid UTF-8" },
        { "/a/%C3", "invalid UTF-8" },

        // Invalid escapes.
        { "/a%", "two hex digits" },
        { "/a%2", "two hex digits" },
        { "/a%zz", "two hex digits" },
        { "/a%u002e", "two hex digits" },
        { "/a%%32%65", "two hex digits" },
        { "/a?x=%", "two hex digits" },
        { "/a?x=%G1", "two hex digits" },
        { "/a?%=1", "two hex digits" },

        // Bad query content.
        { "/a?x=%FF", "invalid UTF-8" },
        { "/a?x%00=1", "control" },
        { "/a?x%0A=1", "control" },
        { "/a?x=1%002", "NUL" },
        { "/a?x=1;y=%FF", "invalid UTF-8" },
    };

    [Theory]
    [MemberData(nameof(MalformedCases))]
    public void Rejects_malformed_targets(string target, string expectedInProblem)
    {
        Assert.False(RequestPath.TryParse(target, out var parsed, out var problem));
        Assert.Null(parsed);
        Assert.Contains(expectedInProblem, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/a%00")]
    [InlineData("/a/..%2f<script>")]
    [InlineData("/a b\r\nSet-Cookie: x")]
    public void Problems_never_echo_the_target(string target)
    {
        Assert.False(RequestPath.TryParse(target, out _, out var problem));
        Assert.DoesNotContain("script", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("Set-Cookie", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("%00", problem, StringComparison.Ordinal);
    }

    public static TheoryData<string, string?, string[]> QueryCases => new()
    {
        { "/a", null, [] },
        { "/a?", "", [] },
        { "/a?x=1", "x=1", ["x=1"] },
        { "/a?x=1&y=2&x=3", "x=1&y=2&x=3", ["x=1", "y=2", "x=3"] },
        { "/a?x", "x", ["x="] },
        { "/a?x=", "x=", ["x="] },
        { "/a?=v", "=v", ["=v"] },
        { "/a?x=1&&y=2&", "x=1&&y=2&", ["x=1", "y=2"] },
        { "/a?x=a=b", "x=a=b", ["x=a=b"] },
        { "/a?q=hello+world", "q=hello+world", ["q=hello world"] },
        { "/a?q=1%2B1", "q=1%2B1", ["q=1+1"] },
        { "/a?q=a%26b%3Dc", "q=a%26b%3Dc", ["q=a&b=c"] },
        { "/a?r%65f=main", "r%65f=main", ["ref=main"] },
        { "/a?my+name=v", "my+name=v", ["my name=v"] },
        { "/a?q=caf%C3%A9", "q=caf%C3%A9", ["q=caf\u00e9"] },
        { "/a?q=line%0Abreak", "q=line%0Abreak", ["q=line\nbreak"] },
        { "/a?q=%252e", "q=%252e", ["q=%2e"] },
        { "/a?path=/../x", "path=/../x", ["path=/../x"] },
        { "/a?x=1;y=2", "x=1;y=2", ["x=1;y=2"] },
        { "/a/../b?x=1", "x=1", ["x=1"] },
        { "/a?x=1?y=2", "x=1?y=2", ["x=1?y=2"] },
    };

    [Theory]
    [MemberData(nameof(QueryCases))]
    public void Parses_queries(string target, string? query, string[] parameters)
    {
        Assert.True(RequestPath.TryParse(target, out var parsed, out var problem), problem);
        Assert.Equal(query, parsed.Query);
        Assert.Equal(parameters, parsed.QueryParameters.Select(p => p.Name + "=" + p.Value));
    }

    [Fact]
    public void Semicolons_give_a_second_reading_of_the_query()
    {
        Assert.True(RequestPath.TryParse("/a?x=1;y=2&z=3", out var parsed, out var problem), problem);

        Assert.Equal(["x=1;y=2", "z=3"], parsed.QueryParameters.Select(p => p.Name + "=" + p.Value));
        Assert.Equal(["x=1", "y=2", "z=3"], parsed.SemicolonQueryParameters.Select(p => p.Name + "=" + p.Value));
    }

    [Theory]
    [InlineData("/a/../b?x=1", "/b?x=1")]
    [InlineData("/a/b?", "/a/b?")]
    [InlineData("/a/b", "/a/b")]
    [InlineData("/a/%2e/b?q=%20", "/a/b?q=%20")]
    public void Forwards_the_normalised_target(string target, string expected)
    {
        Assert.True(RequestPath.TryParse(target, out var parsed, out var problem), problem);
        Assert.Equal(expected, parsed.PathAndQuery);
        Assert.Equal(expected, parsed.ToString());
    }

    [Fact]
    public void Parses_the_asterisk_form()
    {
        Assert.True(RequestPath.TryParse("*", out var parsed, out var problem), problem);
        Assert.True(parsed.IsAsterisk);
        Assert.Empty(parsed.Segments);
        Assert.Null(parsed.Query);
        Assert.Equal("*", parsed.PathAndQuery);
    }

    [Fact]
    public void Handles_very_long_paths()
    {
        var deep = string.Concat(Enumerable.Repeat("/segment", 20000));
        Assert.True(RequestPath.TryParse(deep, out var parsed, out var problem), problem);
        Assert.Equal(20000, parsed.Segments.Length);

        var climbing = string.Concat(Enumerable.Repeat("/a", 10000)) + string.Concat(Enumerable.Repeat("/..", 10000)) + "/x";
        Assert.True(RequestPath.TryParse(climbing, out parsed, out problem), problem);
        Assert.Equal(new[] { "x" }, parsed.Segments);

        Assert.False(RequestPath.TryParse(climbing.Replace("/x", "/../x", StringComparison.Ordinal), out _, out problem));
        Assert.Contains("above the root", problem, StringComparison.Ordinal);

        var longSegment = "/" + string.Concat(Enumerable.Repeat("%41", 100000));
        Assert.True(RequestPath.TryParse(longSegment, out parsed, out problem), problem);
        Assert.Equal(new string('A', 100000), parsed.Segments[0]);

        var manyParameters = "/a?" + string.Join('&', Enumerable.Repeat("x=1", 10000));
        Assert.True(RequestPath.TryParse(manyParameters, out parsed, out problem), problem);
        Assert.Equal(10000, parsed.QueryParameters.Length);
    }
}
