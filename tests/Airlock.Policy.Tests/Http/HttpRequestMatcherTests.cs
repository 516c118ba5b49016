using System.Collections.Immutable;
using Airlock.Policy.Http;
using Airlock.Policy.Model;

namespace Airlock.Policy.Tests.Http;

public class HttpRequestMatcherTests
{
    // The example from the policy documentation, plus a write rule and a query-constrained rule.
    private static readonly HttpRequestMatcher GitHub = HttpRequestMatcher.Compile(
    [
        Rule(["GET", "HEAD"], ["/repos/**", "/user", "/v1/*/items", "/packages/*.tgz"]),
        Rule(["POST"], ["/repos/*/*/issues"]),
        Rule(["GET"], ["/search"], ("ref", ["main"]), ("per_page", ["10", "2*"])),
    ]);

    public static TheoryData<string, string, int> GitHubCases => new()
    {
        // Methods: exact and case-sensitive.
        { "GET", "/repos/o/r", 0 },
        { "HEAD", "/repos/o/r", 0 },
        { "get", "/repos/o/r", -1 },
        { "Get", "/repos/o/r", -1 },
        { "PUT", "/repos/o/r", -1 },
        { "DELETE", "/user", -1 },
        { "POST", "/repos/o/r/issues", 1 },
        { "POST", "/repos/o/r/pulls", -1 },
        { "GET", "/repos/o/r/issues", 0 },

        // Paths.
        { "GET", "/user", 0 },
        { "GET", "/user/", -1 },
        { "GET", "/USER", -1 },
        { "GET", "/user/keys", -1 },
        { "GET", "/repos", 0 },
        { "GET", "/repos/", 0 },
        { "GET", "/v1/x/items", 0 },
        { "GET", "/v1/x/y/items", -1 },
        { "GET", "/packages/a-1.0.0.tgz", 0 },
        { "GET", "/packages/a-1.0.0.tar", -1 },
        { "GET", "/", -1 },
        { "GET", "/admin", -1 },

        // Traversal that resolves inside or outside the allowed tree.
        { "GET", "/repos/a/../b", 0 },
        { "GET", "/repos/../user", 0 },
        { "GET", "/repos/../admin", -1 },
        { "GET", "/repos/%2e%2e/admin", -1 },
        { "GET", "/repos/%2E%2E/admin", -1 },
        { "GET", "/user/../repos/x", 0 },
        { "GET", "/a/./b", -1 },

        // Query constraints.
        { "GET", "/search?ref=main&per_page=10", 2 },
        { "GET", "/search?per_page=25&ref=main", 2 },
        { "GET", "/search?ref=main&per_page=2", 2 },
        { "GET", "/search?ref=main&per_page=10&other=anything", 2 },
        { "GET", "/search?ref=main", -1 },
        { "GET", "/search?per_page=10", -1 },
        { "GET", "/search", -1 },
        { "GET", "/search?ref=dev&per_page=10", -1 },
        { "GET", "/search?ref=main&ref=dev&per_page=10", -1 },
        { "GET", "/search?ref=main&ref=main&per_page=10", 2 },
        { "GET", "/search?ref=main&per_page=10&per_page=30", -1 },
        { "GET", "/search?ref=main&per_page=100", -1 },
        { "GET", "/search?ref=Main&per_page=10", -1 },
        { "GET", "/search?ref=main+&per_page=10", -1 },
        { "GET", "/search?ref=ma%69n&per_page=10", 2 },
        { "GET", "/search?r%65f=main&per_page=10", 2 },
        { "GET", "/search?r%65f=dev&ref=main&per_page=10", -1 },
        { "GET", "/search?ref&per_page=10", -1 },
        { "GET", "/search?ref=&per_page=10", -1 },
        { "GET", "/search?ref=main&per_page=2%20", 2 },
        { "GET", "/search?ref=main&per_page=2+", 2 },

        // Names are matched exactly for presence but ignoring case for every occurrence.
        { "GET", "/search?REF=main&per_page=10", -1 },
        { "GET", "/search?ref=main&REF=dev&per_page=10", -1 },
        { "GET", "/search?ref=main&Ref=main&per_page=10", 2 },

        // Names that PHP, Rails or ASP.NET would bind to a constrained name are checked too.
        { "GET", "/search?ref=main&ref[]=dev&per_page=10", -1 },
        { "GET", "/search?ref=main&ref%5B%5D=dev&per_page=10", -1 },
        { "GET", "/search?ref=main&ref[x]=dev&per_page=10", -1 },
        { "GET", "/search?ref=main&ref[]=main&per_page=10", 2 },
        { "GET", "/search?ref=main&per_page=10&per.page=999", -1 },
        { "GET", "/search?ref=main&per_page=10&per+page=999", -1 },
        { "GET", "/search?ref=main&per_page=10&+per_page=999", -1 },
        { "GET", "/search?ref=main&per_page=10&PER_PAGE=999", -1 },
        { "GET", "/search?ref=main&per_page=10&per.page=20", 2 },
        { "GET", "/search?ref[]=main&per_page=10", -1 },
        { "GET", "/search?ref=main&per_page=10&refs=dev&ref_=dev", 2 },

        // `;` as a separator: the constraint must hold on both readings.
        { "GET", "/search?ref=main;ref=dev&per_page=10", -1 },
        { "GET", "/search?ref=main&per_page=20;ref=dev", -1 },
        { "GET", "/search?ref=main;x=1&per_page=10", -1 },
        { "GET", "/search?ref=main&per_page=10;x=1", -1 },
        { "GET", "/search?ref=main&per_page=2;x=1", 2 },
        { "GET", "/search?ref=main&per_page=10&x=a;b", 2 },
        { "GET", "/search?ref=main&per_page=10&x=a%3Bref=dev", 2 },
    };

    [Theory]
    [MemberData(nameof(GitHubCases))]
    public void Matches_requests(string method, string target, int expectedRule)
    {
        var match = GitHub.Match(method, target);

        Assert.Null(match.Problem);
        Assert.False(match.IsMalformed);
        Assert.Equal(expectedRule >= 0, match.Matched);
        Assert.Equal(expectedRule, match.RuleIndex);
    }

    public static TheoryData<string, string> MalformedCases => new()
    {
        { "GET", "/repos/..%2fadmin" },
        { "GET", "/repos%2f..%2fadmin" },
        { "GET", "/repos/..%5cadmin" },
        { "GET", "/repos/x%00" },
        { "GET", "/repos/%252e%252e/admin" },
        { "GET", "/repos/..;/admin" },
        { "GET", "/repos//x" },
        { "GET", "/.." },
        { "GET", "/repos/../../x" },
        { "GET", "" },
        { "GET", "repos/x" },
        { "GET", "http://api.github.com/repos/x" },
        { "GET", "/repos/x#y" },
        { "GET", "/repos/%zz" },
        { "GET", "/search?ref=%zz" },
        { "GET", "/search?ref=%FF" },
        { "GET", "*" },
        { "", "/repos/x" },
        { "GE T", "/repos/x" },
        { "GET\r\n", "/repos/x" },
        { "G\u00c9T", "/repos/x" },
    };

    [Theory]
    [MemberData(nameof(MalformedCases))]
    public void Reports_malformed_requests(string method, string target)
    {
        var match = GitHub.Match(method, target);

        Assert.False(match.Matched);
        Assert.True(match.IsMalformed);
        Assert.NotNull(match.Problem);
        Assert.Equal(-1, match.RuleIndex);
    }

    [Theory]
    [InlineData("GET", "/anything")]
    [InlineData("get", "/repos/..%2fadmin")]
    [InlineData("", "")]
    [InlineData("OPTIONS", "*")]
    public void Empty_rules_allow_everything_without_parsing(string method, string target)
    {
        foreach (var matcher in new[] { HttpRequestMatcher.Compile([]), HttpRequestMatcher.Compile(default) })
        {
            Assert.Equal(new HttpMatch(true, -1, null), matcher.Match(method, target));
        }
    }

    public static TheoryData<string[], string[], string, string, bool> SingleRuleCases => new()
    {
        // No methods: any method; no paths: any path.
        { [], ["/a"], "PATCH", "/a", true },
        { [], ["/a"], "BREW", "/a", true },
        { ["GET"], [], "GET", "/whatever/x", true },
        { ["GET"], [], "GET", "/", true },
        { [], [], "DELETE", "/x?y=z", true },

        // Asterisk-form: only OPTIONS, only rules without path patterns.
        { ["OPTIONS"], [], "OPTIONS", "*", true },
        { [], [], "OPTIONS", "*", true },
        { ["OPTIONS"], ["/**"], "OPTIONS", "*", false },
        { ["GET"], [], "OPTIONS", "*", false },

        // First matching path among several.
        { ["GET"], ["/a", "/b/**"], "GET", "/b/c", true },
        { ["GET"], ["/a", "/b/**"], "GET", "/c", false },
    };

    [Theory]
    [MemberData(nameof(SingleRuleCases))]
    public void Matches_single_rules(string[] methods, string[] paths, string method, string target, bool expected)
    {
        var matcher = HttpRequestMatcher.Compile([Rule(methods, paths)]);

        var match = matcher.Match(method, target);

        Assert.Null(match.Problem);
        Assert.Equal(expected, match.Matched);
        Assert.Equal(expected ? 0 : -1, match.RuleIndex);
    }

    public static TheoryData<string[], string, bool> ValueGlobCases => new()
    {
        { ["main"], "main", true },
        { ["main"], "mainx", false },
        { ["main"], "", false },
        { ["*"], "", true },
        { ["*"], "anything+at%20all", true },
        { ["v*"], "v", true },
        { ["v*"], "v1.2", true },
        { ["v*"], "x1", false },
        { ["*.json"], "a.json", true },
        { ["*.json"], "a.json.exe", false },
        { ["a*b*c"], "abc", true },
        { ["a*b*c"], "a-b-c", true },
        { ["a*b*c"], "acb", false },
        { ["x", "y*"], "x", true },
        { ["x", "y*"], "yz", true },
        { ["x", "y*"], "z", false },
        { [], "anything", false },
        { ["caf\u00e9"], "caf%C3%A9", true },
        { ["a b"], "a+b", true },
        { ["a b"], "a%20b", true },
        { ["a+b"], "a%2Bb", true },
        { ["a+b"], "a+b", false },
        { ["%41"], "A", false },
        { ["%41"], "%2541", true },
    };

    [Theory]
    [MemberData(nameof(ValueGlobCases))]
    public void Matches_query_value_globs(string[] values, string rawValue, bool expected)
    {
        var matcher = HttpRequestMatcher.Compile([Rule([], [], ("q", values))]);

        var match = matcher.Match("GET", "/x?q=" + rawValue);

        Assert.Null(match.Problem);
        Assert.Equal(expected, match.Matched);
    }

    [Fact]
    public void Reports_the_first_matching_rule()
    {
        var matcher = HttpRequestMatcher.Compile(
        [
            Rule(["POST"], ["/a"]),
            Rule(["GET"], ["/a/**"]),
            Rule([], ["/**"]),
        ]);

        Assert.Equal(new HttpMatch(true, 1, null), matcher.Match("GET", "/a/b"));
        Assert.Equal(new HttpMatch(true, 0, null), matcher.Match("POST", "/a"));
        Assert.Equal(new HttpMatch(true, 2, null), matcher.Match("POST", "/b"));
    }

    [Fact]
    public void Matching_is_bounded_on_pathological_patterns()
    {
        var matcher = HttpRequestMatcher.Compile([Rule(["GET"], ["/**/a/**/a/**/a/**/b"])]);
        var path = string.Concat(Enumerable.Repeat("/a", 200));

        Assert.Equal(new HttpMatch(false, -1, null), matcher.Match("GET", path));
        Assert.Equal(new HttpMatch(true, 0, null), matcher.Match("GET", path + "/b"));
        Assert.Equal(new HttpMatch(false, -1, null), matcher.Match("GET", path + "/b/"));
    }

    [Fact]
    public void Handles_very_long_targets()
    {
        var matcher = HttpRequestMatcher.Compile([Rule(["GET"], ["/repos/**"], ("q", ["*x*x*x*y"]))]);
        var path = "/repos" + string.Concat(Enumerable.Repeat("/abc", 50000));
        var others = "&" + string.Join('&', Enumerable.Repeat("q=xxxy", 1000));
        var longValue = "?q=" + new string('x', 100000);

        Assert.Equal(new HttpMatch(false, -1, null), matcher.Match("GET", path + longValue + others));
        Assert.Equal(new HttpMatch(true, 0, null), matcher.Match("GET", path + longValue + "y" + others));
        Assert.Equal(new HttpMatch(false, -1, null), matcher.Match("GET", path + longValue + "y" + others + "&q=xy"));
    }

    [Theory]
    [InlineData("get")]
    [InlineData("GET / HTTP/1.1")]
    [InlineData("")]
    public void Compile_rejects_methods_that_are_not_tokens_except_lower_case(string method)
    {
        if (method == "get")
        {
            // Lower case is a token; it simply never matches an upper-case request.
            var matcher = HttpRequestMatcher.Compile([Rule([method], [])]);
            Assert.False(matcher.Match("GET", "/").Matched);
            Assert.True(matcher.Match("get", "/").Matched);
            return;
        }

        Assert.Throws<ArgumentException>(() => HttpRequestMatcher.Compile([Rule([method], [])]));
    }

    [Fact]
    public void Compile_rejects_constraints_without_a_name()
    {
        Assert.Throws<ArgumentException>(() => HttpRequestMatcher.Compile([Rule([], [], ("", ["x"]))]));
    }

    [Fact]
    public void Matcher_is_safe_to_share_between_threads()
    {
        Parallel.For(0, 2000, i =>
        {
            var ok = GitHub.Match("GET", $"/repos/o/r{i}");
            var bad = GitHub.Match("GET", $"/repos/../admin{i}");
            Assert.Equal(new HttpMatch(true, 0, null), ok);
            Assert.Equal(new HttpMatch(false, -1, null), bad);
        });
    }

    private static HttpRule Rule(string[] methods, string[] paths, params (string Name, string[] Values)[] query)
    {
        var patterns = ImmutableArray.CreateBuilder<PathPattern>();
        foreach (var path in paths)
        {
            Assert.True(PathPattern.TryParse(path, out var pattern, out var error), error);
            patterns.Add(pattern);
        }

        var constraints = ImmutableArray.CreateBuilder<QueryConstraint>();
        foreach (var (name, values) in query)
        {
            constraints.Add(new QueryConstraint(name, [.. values]));
        }

        return new HttpRule
        {
            Methods = [.. methods],
            Paths = patterns.ToImmutable(),
            Query = constraints.ToImmutable(),
        };
    }
}
