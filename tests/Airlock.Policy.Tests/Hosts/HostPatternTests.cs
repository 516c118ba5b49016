using Airlock.Policy.Hosts;

namespace Airlock.Policy.Tests.Hosts;

public class HostPatternTests
{
    [Theory]
    [InlineData("example.com", HostPatternKind.Exact, "example.com")]
    [InlineData("Example.COM.", HostPatternKind.Exact, "example.com")]
    [InlineData("bücher.example", HostPatternKind.Exact, "xn--bcher-kva.example")]
    [InlineData("co.uk", HostPatternKind.Exact, "co.uk")]
    [InlineData("localhost", HostPatternKind.Exact, "localhost")]
    [InlineData("10.0.0.1", HostPatternKind.Exact, "10.0.0.1")]
    [InlineData("127.1", HostPatternKind.Exact, "127.0.0.1")]
    [InlineData("::1", HostPatternKind.Exact, "::1")]
    [InlineData("[::1]", HostPatternKind.Exact, "::1")]
    [InlineData("[2001:DB8::1]", HostPatternKind.Exact, "2001:db8::1")]
    [InlineData("[::ffff:10.0.0.1]", HostPatternKind.Exact, "10.0.0.1")]
    [InlineData("*.example.com", HostPatternKind.OneLabel, "example.com")]
    [InlineData("*.Example.COM.", HostPatternKind.OneLabel, "example.com")]
    [InlineData("**.example.com", HostPatternKind.AnyDepth, "example.com")]
    [InlineData("*.bücher.example", HostPatternKind.OneLabel, "xn--bcher-kva.example")]
    [InlineData("**", HostPatternKind.Any, "")]
    // Public suffix checks: private-section suffixes and registrable domains under ICANN suffixes are fine.
    [InlineData("*.github.io", HostPatternKind.OneLabel, "github.io")]
    [InlineData("**.githubusercontent.com", HostPatternKind.AnyDepth, "githubusercontent.com")]
    [InlineData("*.example.co.uk", HostPatternKind.OneLabel, "example.co.uk")]
    [InlineData("**.example.co.uk", HostPatternKind.AnyDepth, "example.co.uk")]
    [InlineData("*.www.ck", HostPatternKind.OneLabel, "www.ck")]
    [InlineData("**.city.kawasaki.jp", HostPatternKind.AnyDepth, "city.kawasaki.jp")]
    [InlineData("*.example.foo.ck", HostPatternKind.OneLabel, "example.foo.ck")]
    public void Valid_patterns_parse(string text, HostPatternKind kind, string suffix)
    {
        Assert.True(HostPattern.TryParse(text, out var pattern, out var error), error);
        Assert.Equal(kind, pattern.Kind);
        Assert.Equal(suffix, pattern.Suffix);
        Assert.Equal(text, pattern.Text);
        Assert.Equal(text, pattern.ToString());
    }

    [Theory]
    [InlineData("", "host pattern is empty")]
    [InlineData("*", "'*' matches every host; use '**' in a deny or ask rule")]
    // Wildcards over a top-level domain or an ICANN public suffix.
    [InlineData("*.com", "'*.com' matches every name in the top-level domain 'com'; name a domain you mean, such as '*.example.com'")]
    [InlineData("**.com", "top-level domain 'com'")]
    [InlineData("**.uk", "top-level domain 'uk'")]
    [InlineData("*.co.uk", "'*.co.uk' matches every name under the public suffix 'co.uk'; name a domain you mean, such as '*.example.co.uk'")]
    [InlineData("**.co.uk", "public suffix 'co.uk'")]
    [InlineData("*.gov.uk", "public suffix 'gov.uk'")]
    [InlineData("*.foo.ck", "public suffix 'foo.ck'")]
    [InlineData("**.公司.cn", "public suffix 'xn--55qx5d.cn'")]
    [InlineData("*.kawasaki.jp", "matches public suffixes below 'kawasaki.jp'")]
    [InlineData("**.sch.uk", "matches public suffixes below 'sch.uk'")]
    // Partial-label globs and misplaced wildcards.
    [InlineData("exa*mple.com", "'exa*mple.com' has '*' inside a label; a wildcard must be a whole first label")]
    [InlineData("*example.com", "has '*' inside a label")]
    [InlineData("foo*.bar.com", "has '*' inside a label")]
    [InlineData("***.example.com", "has '*' inside a label")]
    [InlineData("api.*.com", "'api.*.com' has a wildcard after the first label; only the first label may be '*' or '**'")]
    [InlineData("*.*.example.com", "has a wildcard after the first label")]
    [InlineData("example.*", "has a wildcard after the first label")]
    [InlineData("*.", "has nothing after the wildcard")]
    [InlineData("**.", "has nothing after the wildcard")]
    // URL parts.
    [InlineData("https://api.github.com", "'https://api.github.com' has a scheme; write the host only: 'api.github.com'")]
    [InlineData("http://user:pw@example.com:8080/x", "has a scheme; write the host only: 'example.com'")]
    [InlineData("https://*.example.com/", "has a scheme; write the host only: '*.example.com'")]
    [InlineData("user@example.com", "'user@example.com' has userinfo ('@'); write the host only: 'example.com'")]
    [InlineData("example.com/path", "'example.com/path' has a path; write the host only: 'example.com' and restrict paths with 'http' rules")]
    [InlineData("example.com?q", "has a path")]
    [InlineData("example.com:443", "'example.com:443' has a port; write the host only: 'example.com' and use 'ports: [443]'")]
    [InlineData("*.example.com:8443", "write the host only: '*.example.com' and use 'ports: [8443]'")]
    [InlineData("[::1]:8443", "write the host only: '[::1]' and use 'ports: [8443]'")]
    [InlineData("example.com:https", "contains ':' but is not an IPv6 address")]
    // Wildcards on IP literals.
    [InlineData("*.10.0.0.1", "'*.10.0.0.1' puts a wildcard on an IP address; wildcards match domain names only, write the address itself: '10.0.0.1'")]
    [InlineData("**.127.1", "write the address itself: '127.0.0.1'")]
    [InlineData("*.[::1]", "puts a wildcard on an IP address")]
    [InlineData("**.::1", "puts a wildcard on an IP address")]
    // Whatever the canonicaliser rejects, with its reason.
    [InlineData("example..com", "'example..com': host has an empty label")]
    [InlineData("*.a..b", "empty label")]
    [InlineData("exa mple.com", "whitespace")]
    [InlineData("example.com\0", "'example.com\\u0000': host contains a NUL character")]
    [InlineData("1.2.3.256", "not a valid IPv4 address")]
    [InlineData("fe80::1%eth0", "zone ids")]
    [InlineData("-bad.example.com", "starts or ends with '-'")]
    [InlineData("*.xn--zz.example", "not valid punycode")]
    public void Invalid_patterns_are_explained(string text, string expectedFragment)
    {
        Assert.False(HostPattern.TryParse(text, out var pattern, out var error));
        Assert.Null(pattern);
        Assert.Contains(expectedFragment, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("*.example.com", "a.example.com", true)]
    [InlineData("*.example.com", "A.Example.COM.", true)]
    [InlineData("*.example.com", "_srv.example.com", true)]
    [InlineData("*.example.com", "a.b.example.com", false)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("*.example.com", "evilexample.com", false)]
    [InlineData("*.example.com", "xexample.com", false)]
    [InlineData("*.example.com", "a.evilexample.com", false)]
    [InlineData("*.example.com", "example.com.evil.com", false)]
    [InlineData("*.example.com", "a.example.com.evil.com", false)]
    [InlineData("*.example.com", "a.example.co", false)]
    [InlineData("*.example.com", "aexample.com", false)]
    [InlineData("**.example.com", "a.example.com", true)]
    [InlineData("**.example.com", "a.b.c.example.com", true)]
    [InlineData("**.example.com", "example.com", false)]
    [InlineData("**.example.com", "EXAMPLE.COM.", false)]
    [InlineData("**.example.com", "evilexample.com", false)]
    [InlineData("**.example.com", "a.evilexample.com", false)]
    [InlineData("**.example.com", "example.com.evil.com", false)]
    [InlineData("**.example.com", "xexample.com", false)]
    [InlineData("example.com", "example.com", true)]
    [InlineData("example.com", "EXAMPLE.com.", true)]
    [InlineData("example.com", "a.example.com", false)]
    [InlineData("example.com", "evilexample.com", false)]
    [InlineData("example.com", "example.com.evil.com", false)]
    [InlineData("*.bücher.example", "shop.xn--bcher-kva.example", true)]
    [InlineData("*.xn--bcher-kva.example", "shop.bücher.example", true)]
    [InlineData("**", "example.com", true)]
    [InlineData("**", "localhost", true)]
    [InlineData("**", "a.b.c.d.example", true)]
    // Wildcards, including '**', never match IP literals, however spelled.
    [InlineData("**", "127.0.0.1", false)]
    [InlineData("**", "2130706433", false)]
    [InlineData("**", "::1", false)]
    [InlineData("**", "::ffff:127.0.0.1", false)]
    [InlineData("*.example.com", "127.0.0.1", false)]
    [InlineData("**.example.com", "::1", false)]
    // Exact IP patterns match every spelling of the address.
    [InlineData("127.0.0.1", "127.1", true)]
    [InlineData("127.0.0.1", "2130706433", true)]
    [InlineData("127.0.0.1", "0x7f.0.0.1", true)]
    [InlineData("127.0.0.1", "::ffff:127.0.0.1", true)]
    [InlineData("127.0.0.1", "127.0.0.2", false)]
    [InlineData("[::1]", "0:0:0:0:0:0:0:1", true)]
    [InlineData("::1", "[::1]", true)]
    [InlineData("::1", "::2", false)]
    public void Matching_respects_label_boundaries(string patternText, string hostText, bool expected)
    {
        Assert.True(HostPattern.TryParse(patternText, out var pattern, out var error), error);
        Assert.True(HostCanonicalizer.TryCanonicalize(hostText, out var host, out error), error);
        Assert.Equal(expected, pattern.Matches(host));
    }

    [Theory]
    [InlineData("example.com", "example.com", true)]
    [InlineData("example.com", "EXAMPLE.com.", true)]
    [InlineData("example.com", "a.example.com", false)]
    [InlineData("example.com", "*.example.com", false)]
    [InlineData("*.example.com", "a.example.com", true)]
    [InlineData("*.example.com", "a.b.example.com", false)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("*.example.com", "aexample.com", false)]
    [InlineData("*.example.com", "*.example.com", true)]
    [InlineData("*.example.com", "*.a.example.com", false)]
    [InlineData("*.example.com", "**.example.com", false)]
    [InlineData("*.example.com", "**", false)]
    [InlineData("**.example.com", "a.b.example.com", true)]
    [InlineData("**.example.com", "example.com", false)]
    [InlineData("**.example.com", "evilexample.com", false)]
    [InlineData("**.example.com", "*.example.com", true)]
    [InlineData("**.example.com", "*.a.example.com", true)]
    [InlineData("**.example.com", "*.evilexample.com", false)]
    [InlineData("**.example.com", "**.example.com", true)]
    [InlineData("**.example.com", "**.a.example.com", true)]
    [InlineData("**.a.example.com", "**.example.com", false)]
    [InlineData("**.example.com", "**", false)]
    [InlineData("**", "example.com", true)]
    [InlineData("**", "*.example.com", true)]
    [InlineData("**", "**.example.com", true)]
    [InlineData("**", "**", true)]
    [InlineData("**", "10.0.0.1", false)]
    [InlineData("**", "::1", false)]
    [InlineData("10.0.0.1", "10.0.0.1", true)]
    [InlineData("10.0.0.1", "[::ffff:10.0.0.1]", true)]
    [InlineData("10.0.0.1", "10.0.0.2", false)]
    [InlineData("[::1]", "0:0:0:0:0:0:0:1", true)]
    [InlineData("example.com", "**", false)]
    public void Covers_is_set_inclusion(string outer, string inner, bool expected)
    {
        Assert.True(HostPattern.TryParse(outer, out var a, out var error), error);
        Assert.True(HostPattern.TryParse(inner, out var b, out error), error);
        Assert.Equal(expected, a.Covers(b));
    }

    // Covers must agree with Matches: whenever a covers b, a matches every host b matches.
    [Fact]
    public void Covers_agrees_with_Matches()
    {
        string[] patterns =
        [
            "example.com", "a.example.com", "a.b.example.com", "*.example.com", "**.example.com", "*.a.example.com",
            "**.a.example.com", "*.evilexample.com", "evilexample.com", "**", "10.0.0.1", "::1", "*.b.example.com",
        ];
        string[] hosts =
        [
            "example.com", "a.example.com", "b.example.com", "a.b.example.com", "x.a.example.com", "x.y.a.example.com",
            "evilexample.com", "a.evilexample.com", "example.com.evil.com", "10.0.0.1", "::1", "localhost",
        ];
        var parsed = patterns.Select(p => Assert.IsType<HostPattern>(Parse(p))).ToArray();
        var canonical = hosts.Select(h => HostCanonicalizer.TryCanonicalize(h, out var c, out _) ? c : throw new InvalidOperationException(h)).ToArray();
        foreach (var outer in parsed)
        {
            foreach (var inner in parsed)
            {
                var covers = outer.Covers(inner);
                Assert.Equal(ReferenceEquals(outer, inner) || covers, covers);
                if (!covers)
                {
                    continue;
                }

                foreach (var host in canonical)
                {
                    Assert.False(inner.Matches(host) && !outer.Matches(host), $"{outer} covers {inner} but misses {host}");
                }
            }
        }
    }

    private static HostPattern? Parse(string text) => HostPattern.TryParse(text, out var pattern, out _) ? pattern : null;
}
