using Airlock.Policy.Http;

namespace Airlock.Policy.Tests.Http;

public class PathPatternTests
{
    public static TheoryData<string, string, bool> MatchCases => new()
    {
        // Exact literals, case-sensitive, trailing slash significant.
        { "/user", "/user", true },
        { "/user", "/User", false },
        { "/user", "/user/", false },
        { "/user/", "/user/", true },
        { "/user/", "/user", false },
        { "/user", "/users", false },
        { "/user", "/use", false },
        { "/user", "/", false },
        { "/", "/", true },
        { "/", "/a", false },
        { "/a/b", "/a/b", true },
        { "/a/b", "/a/b/c", false },
        { "/a/b", "/a", false },

        // `*` as a whole segment: exactly one non-empty segment.
        { "/v1/*/items", "/v1/abc/items", true },
        { "/v1/*/items", "/v1/items", false },
        { "/v1/*/items", "/v1/a/b/items", false },
        { "/v1/*/items", "/v1/abc/items/", false },
        { "/*", "/a", true },
        { "/*", "/", false },
        { "/*", "/a/", false },
        { "/*", "/a/b", false },
        { "/a/*", "/a/", false },
        { "/*/*", "/a/b", true },

        // `**` at the end.
        { "/repos/**", "/repos", true },
        { "/repos/**", "/repos/", true },
        { "/repos/**", "/repos/a", true },
        { "/repos/**", "/repos/a/b/c", true },
        { "/repos/**", "/repos/a/b/", true },
        { "/repos/**", "/reposx", false },
        { "/repos/**", "/repo", false },
        { "/repos/**", "/", false },
        { "/repos/**", "/other/repos/a", false },
        { "/**", "/", true },
        { "/**", "/anything/at/all", true },

        // `**` at the start and in the middle.
        { "/**/raw", "/raw", true },
        { "/**/raw", "/a/raw", true },
        { "/**/raw", "/a/b/c/raw", true },
        { "/**/raw", "/a/raw/", false },
        { "/**/raw", "/a/raw/b", false },
        { "/**/raw", "/a/rawx", false },
        { "/a/**/b", "/a/b", true },
        { "/a/**/b", "/a/x/b", true },
        { "/a/**/b", "/a/x/y/z/b", true },
        { "/a/**/b", "/a/b/b", true },
        { "/a/**/b", "/a/x/b/c", false },
        { "/a/**/b", "/a", false },
        { "/a/**/b", "/b", false },
        { "/a/**/b/**/c", "/a/b/c", true },
        { "/a/**/b/**/c", "/a/1/b/2/3/c", true },
        { "/a/**/b/**/c", "/a/1/c/2/b", false },
        { "/**/**", "/a/b", true },
        { "/a/**/*/c", "/a/c", false },
        { "/a/**/*/c", "/a/x/c", true },
        { "/a/**/*/c", "/a/x/y/c", true },

        // `*` inside a segment: any run of characters within that segment.
        { "/packages/*.tgz", "/packages/left-pad-1.0.0.tgz", true },
        { "/packages/*.tgz", "/packages/.tgz", true },
        { "/packages/*.tgz", "/packages/a.tgz.sig", false },
        { "/packages/*.tgz", "/packages/a/b.tgz", false },
        { "/packages/*.tgz", "/packages/a.TGZ", false },
        { "/api/v*/users", "/api/v1/users", true },
        { "/api/v*/users", "/api/v/users", true },
        { "/api/v*/users", "/api/x1/users", false },
        { "/a/*-*-*", "/a/1-2-3", true },
        { "/a/*-*-*", "/a/--", true },
        { "/a/*-*-*", "/a/1-2", false },
        { "/a/x*x", "/a/x", false },
        { "/a/x*x", "/a/xx", true },
        { "/a/ab*ab", "/a/abab", true },
        { "/a/ab*ab", "/a/aba", false },

        // Literals are percent-decoded; requests are compared decoded.
        { "/docs/a%20b", "/docs/a%20b", true },
        { "/docs/a+b", "/docs/a+b", true },
        { "/docs/a+b", "/docs/a%20b", false },
        { "/users/%41lice", "/users/Alice", true },
        { "/users/Alice", "/users/%41lice", true },
        { "/users/Alice", "/users/%61lice", false },
        { "/files/%2A", "/files/*", true },
        { "/files/%2A", "/files/x", false },
        { "/files/*%2A", "/files/a*", true },
        { "/files/*%2A", "/files/a", false },
        { "/caf\u00e9", "/caf%C3%A9", true },
        { "/caf%C3%A9", "/caf%c3%a9", true },

        // One decode only: `%252e` is the literal text `%2e`.
        { "/files/%252e.txt", "/files/%252e.txt", true },
        { "/files/%252e.txt", "/files/%2e.txt", false },
        { "/files/..txt", "/files/%2e.txt", true },
        { "/files/..txt", "/files/%252e.txt", false },
        { "/files/%2525", "/files/%2525", true },
        { "/files/%25", "/files/%2525", false },

        // Requests are normalised first; patterns then see the resolved path.
        { "/repos/**", "/repos/a/../b", true },
        { "/repos/**", "/repos/../admin", false },
        { "/repos/**", "/repos/%2e%2e/admin", false },
        { "/repos/**", "/repos/%2E%2E/admin", false },
        { "/repos/**", "/repos/.%2E/admin", false },
        { "/admin", "/repos/../admin", true },
        { "/a/b", "/a/./b", true },
        { "/a/", "/a/b/..", true },
        { "/a", "/a/b/..", false },

        // The asterisk-form is never matched by a path pattern.
        { "/**", "*", false },
    };

    [Theory]
    [MemberData(nameof(MatchCases))]
    public void Matches_request_paths(string pattern, string target, bool expected)
    {
        var parsed = Parse(pattern);
        Assert.True(RequestPath.TryParse(target, out var path, out var problem), problem);

        Assert.Equal(expected, parsed.Matches(path));
    }

    public static TheoryData<string, string> InvalidPatterns => new()
    {
        { "", "cannot be empty" },
        { "repos/**", "did you mean '/repos/**'" },
        { "*", "must start with '/'" },
        { "https://api.github.com/repos", "is a URL" },
        { "/search?q=x", "query:" },
        { "/a#frag", "'#'" },
        { "/a b", "whitespace" },
        { "/a\tb", "whitespace" },
        { "/a\nb", "whitespace" },
        { "/a\u0000b", "control" },
        { "/a\u00a0b", "whitespace" },
        { "/a**", "'**' must be a whole segment" },
        { "/**a", "'**' must be a whole segment" },
        { "/a/***", "'**' must be a whole segment" },
        { "/x/a**b/c", "'**' must be a whole segment" },
        { "/a//b", "empty segment" },
        { "//", "empty segment" },
        { "/./a", "'.' and '..'" },
        { "/a/..", "'.' and '..'" },
        { "/a/../b", "'.' and '..'" },
        { "/a/%2e%2e/b", "'.' and '..'" },
        { "/a/%2E", "'.' and '..'" },
        { "/a/...", "never match" },
        { "/a/..;x", "never match" },
        { "/a/%2F", "never match" },
        { "/a/%2f/b", "never match" },
        { "/a/%5C", "never match" },
        { "/a/%00", "never match" },
        { "/a/%0A", "never match" },
        { "/a/%252e%252e", "never match" },
        { "/a/x%2Fy*", "'/'" },
        { "/a/%", "'%25'" },
        { "/a/%4", "'%25'" },
        { "/a/%zz", "'%25'" },
        { "/a/*%G0", "'%25'" },
        { "/a/%FF", "invalid UTF-8" },
        { "/a/%C0%AE", "invalid UTF-8" },
    };

    [Theory]
    [MemberData(nameof(InvalidPatterns))]
    public void Rejects_invalid_patterns(string text, string expectedInError)
    {
        Assert.False(PathPattern.TryParse(text, out var pattern, out var error));
        Assert.Null(pattern);
        Assert.Contains(expectedInError, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/**")]
    [InlineData("/repos/**")]
    [InlineData("/user/")]
    [InlineData("/v1/*/items")]
    [InlineData("/packages/*.tgz")]
    [InlineData("/a/**/b/**/c")]
    [InlineData("/docs/a%20b")]
    [InlineData("/files/%2A")]
    [InlineData("/caf\u00e9")]
    [InlineData("/.well-known/*")]
    [InlineData("/a/.*")]
    [InlineData("/a;b/c")]
    [InlineData("/@scope/name")]
    public void Accepts_valid_patterns(string text)
    {
        Assert.True(PathPattern.TryParse(text, out var pattern, out var error), error);
        Assert.Equal(text, pattern.Text);
        Assert.Equal(text, pattern.ToString());
    }

    [Fact]
    public void Equality_is_by_text()
    {
        var a = Parse("/repos/**");
        var b = Parse("/repos/**");

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, Parse("/repos/*"));
    }

    [Fact]
    public void Backtracking_over_many_double_stars_is_bounded()
    {
        var pattern = Parse("/**/a/**/a/**/a/**/b");
        var segments = Enumerable.Repeat("a", 200).ToArray();

        Assert.False(pattern.Matches(segments));
        Assert.True(pattern.Matches([.. segments, "b"]));
    }

    [Fact]
    public void Backtracking_over_many_double_stars_is_bounded_through_request_parsing()
    {
        var pattern = Parse("/**/a/**/a/**/a/**/a/**/a/**/a/**/b");
        var target = string.Concat(Enumerable.Repeat("/a", 5000));

        Assert.True(RequestPath.TryParse(target, out var path, out var problem), problem);
        Assert.False(pattern.Matches(path));
        Assert.True(RequestPath.TryParse(target + "/b", out var withB, out problem), problem);
        Assert.True(pattern.Matches(withB));
    }

    [Fact]
    public void In_segment_globs_with_many_stars_are_bounded()
    {
        var pattern = Parse("/" + string.Concat(Enumerable.Repeat("*a", 50)) + "*b");
        var target = "/" + new string('a', 10000);

        Assert.True(RequestPath.TryParse(target, out var path, out var problem), problem);
        Assert.False(pattern.Matches(path));
        Assert.True(RequestPath.TryParse(target + "b", out var withB, out problem), problem);
        Assert.True(pattern.Matches(withB));
    }

    private static PathPattern Parse(string text)
    {
        Assert.True(PathPattern.TryParse(text, out var pattern, out var error), error);
        return pattern;
    }
}
