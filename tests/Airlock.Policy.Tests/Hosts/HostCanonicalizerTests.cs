using System.Net;
using Airlock.Policy.Hosts;

namespace Airlock.Policy.Tests.Hosts;

public class HostCanonicalizerTests
{
    [Theory]
    // Case and the trailing dot.
    [InlineData("example.com", "example.com")]
    [InlineData("Example.COM", "example.com")]
    [InlineData("EXAMPLE.COM.", "example.com")]
    [InlineData("example.com.", "example.com")]
    [InlineData("localhost", "localhost")]
    [InlineData("a", "a")]
    // Underscores and hyphens inside labels.
    [InlineData("_dmarc.example.com", "_dmarc.example.com")]
    [InlineData("a_b.example.com", "a_b.example.com")]
    [InlineData("r3---sn-ab5l6n7s.googlevideo.com", "r3---sn-ab5l6n7s.googlevideo.com")]
    // A last label that is not a number keeps the host a name.
    [InlineData("1.2.3.a", "1.2.3.a")]
    [InlineData("foo.0xg", "foo.0xg")]
    [InlineData("0x7f.example", "0x7f.example")]
    // IDN to punycode; valid punycode round-trips.
    [InlineData("bücher.example", "xn--bcher-kva.example")]
    [InlineData("BÜCHER.Example.", "xn--bcher-kva.example")]
    [InlineData("xn--bcher-kva.example", "xn--bcher-kva.example")]
    [InlineData("XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example")]
    [InlineData("münchen.de", "xn--mnchen-3ya.de")]
    [InlineData("公司.cn", "xn--55qx5d.cn")]
    [InlineData("ｅｘａｍｐｌｅ.com", "example.com")]
    [InlineData("example。com", "example.com")]
    [InlineData("example．com．", "example.com")]
    public void Names_are_canonicalised(string input, string expected)
    {
        Assert.True(HostCanonicalizer.TryCanonicalize(input, out var host, out var error), error);
        Assert.Equal(expected, host.Value);
        Assert.Equal(HostKind.DomainName, host.Kind);
        Assert.Null(host.Address);
        Assert.False(host.IsIPAddress);
        Assert.Equal(expected, host.UriHost);
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("127.0.0.1.", "127.0.0.1")]
    [InlineData("127.1", "127.0.0.1")]
    [InlineData("127.0.1", "127.0.0.1")]
    [InlineData("2130706433", "127.0.0.1")]
    [InlineData("0x7f000001", "127.0.0.1")]
    [InlineData("0X7F000001", "127.0.0.1")]
    [InlineData("0x7f.0.0.1", "127.0.0.1")]
    [InlineData("0177.0.0.1", "127.0.0.1")]
    [InlineData("0x7F.1", "127.0.0.1")]
    [InlineData("017700000001", "127.0.0.1")]
    [InlineData("0x7f.0.0x0.01", "127.0.0.1")]
    [InlineData("0177.0x0.1", "127.0.0.1")]
    [InlineData("0x7f.000000000000000000000000000000000001", "127.0.0.1")]
    [InlineData("１２７.0.0.1", "127.0.0.1")]
    [InlineData("0251.0376.0251.0376", "169.254.169.254")]
    [InlineData("0xa9.0xfe.0xa9fe", "169.254.169.254")]
    [InlineData("0", "0.0.0.0")]
    [InlineData("0x", "0.0.0.0")]
    [InlineData("0x.0x.0x.0x", "0.0.0.0")]
    [InlineData("00", "0.0.0.0")]
    [InlineData("4294967295", "255.255.255.255")]
    [InlineData("0xffffffff", "255.255.255.255")]
    [InlineData("037777777777", "255.255.255.255")]
    [InlineData("1.2.3.4", "1.2.3.4")]
    [InlineData("10.0.0.1", "10.0.0.1")]
    [InlineData("192.168.0.1", "192.168.0.1")]
    [InlineData("1.16777215", "1.255.255.255")]
    [InlineData("1.2.65535", "1.2.255.255")]
    public void IPv4_spellings_become_dotted_quads(string input, string expected)
    {
        Assert.True(HostCanonicalizer.TryCanonicalize(input, out var host, out var error), error);
        Assert.Equal(expected, host.Value);
        Assert.Equal(HostKind.IPv4, host.Kind);
        Assert.Equal(IPAddress.Parse(expected), host.Address);
        Assert.True(host.IsIPAddress);
        Assert.Equal(expected, host.UriHost);
    }

    [Theory]
    [InlineData("::1", "::1")]
    [InlineData("[::1]", "::1")]
    [InlineData("[0:0:0:0:0:0:0:1]", "::1")]
    [InlineData("0:0:0:0:0:0:0:1", "::1")]
    [InlineData("::", "::")]
    [InlineData("[::]", "::")]
    [InlineData("2001:DB8::1", "2001:db8::1")]
    [InlineData("[2001:0DB8:0000:0000:0000:0000:0000:0001]", "2001:db8::1")]
    [InlineData("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1")]
    [InlineData("2001:db8::", "2001:db8::")]
    [InlineData("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8")]
    [InlineData("FE80::1", "fe80::1")]
    [InlineData("64:ff9b::8.8.8.8", "64:ff9b::808:808")]
    [InlineData("::1.2.3.4", "::1.2.3.4")]
    [InlineData("[::ffff:0:10.0.0.1]", "::ffff:0:10.0.0.1")]
    public void IPv6_spellings_become_compressed_lower_case(string input, string expected)
    {
        Assert.True(HostCanonicalizer.TryCanonicalize(input, out var host, out var error), error);
        Assert.Equal(expected, host.Value);
        Assert.Equal(HostKind.IPv6, host.Kind);
        Assert.Equal(IPAddress.Parse(expected), host.Address);
        Assert.Equal($"[{expected}]", host.UriHost);
    }

    [Theory]
    [InlineData("::ffff:127.0.0.1", "127.0.0.1")]
    [InlineData("[::ffff:127.0.0.1]", "127.0.0.1")]
    [InlineData("::ffff:7f00:1", "127.0.0.1")]
    [InlineData("[::FFFF:7F00:0001]", "127.0.0.1")]
    [InlineData("0:0:0:0:0:ffff:a9fe:a9fe", "169.254.169.254")]
    [InlineData("::ffff:0:0", "0.0.0.0")]
    public void IPv4_mapped_IPv6_becomes_IPv4(string input, string expected)
    {
        Assert.True(HostCanonicalizer.TryCanonicalize(input, out var host, out var error), error);
        Assert.Equal(expected, host.Value);
        Assert.Equal(HostKind.IPv4, host.Kind);
        Assert.Equal(IPAddress.Parse(expected), host.Address);
    }

    [Theory]
    // Empty and characters that never belong in a host.
    [InlineData("", "empty")]
    [InlineData("exa\0mple.com", "NUL")]
    [InlineData("example.com\0", "NUL")]
    [InlineData("example.com\r\n", "CR or LF")]
    [InlineData("example.com\nHost: evil.com", "CR or LF")]
    [InlineData("example.com\r", "CR or LF")]
    [InlineData("exam\tple.com", "control character")]
    [InlineData("example.com\u007f", "control character")]
    [InlineData("example.com\u0085", "control character")]
    [InlineData("exa mple.com", "whitespace")]
    [InlineData(" example.com", "whitespace")]
    [InlineData("example.com ", "whitespace")]
    [InlineData("\u00a0example.com", "whitespace")]
    [InlineData("example.com\u3000", "whitespace")]
    [InlineData("exa%6dple.com", "'%'")]
    [InlineData("fe80::1%eth0", "zone ids")]
    [InlineData("[fe80::1%25eth0]", "zone ids")]
    [InlineData("user@example.com", "userinfo")]
    [InlineData("user:pass@example.com", "userinfo")]
    [InlineData("example.com/path", "path")]
    [InlineData("example.com\\path", "path")]
    [InlineData("example.com?q=1", "query")]
    [InlineData("example.com#top", "fragment")]
    // Ports and brackets.
    [InlineData("example.com:443", "not an IPv6 address")]
    [InlineData("127.0.0.1:80", "not an IPv6 address")]
    [InlineData("[::1]:443", "not a valid IPv6 address")]
    [InlineData("[127.0.0.1]", "not a valid IPv6 address")]
    [InlineData("[example.com]", "not a valid IPv6 address")]
    [InlineData("[::1", "not a valid IPv6 address")]
    [InlineData("[]", "not a valid IPv6 address")]
    [InlineData("::1]", "brackets")]
    [InlineData("exa[mple.com", "brackets")]
    // Malformed IPv6.
    [InlineData(":::", "not an IPv6 address")]
    [InlineData("1:2:3:4:5:6:7:8:9", "not an IPv6 address")]
    [InlineData("1:2:3:4:5:6:7", "not an IPv6 address")]
    [InlineData("1::2::3", "not an IPv6 address")]
    [InlineData("12345::1", "not an IPv6 address")]
    [InlineData("::ffff:1.2.3.04", "not an IPv6 address")]
    [InlineData("::1.2.3", "not an IPv6 address")]
    [InlineData("::1.2.3.256", "not an IPv6 address")]
    [InlineData("g::1", "not an IPv6 address")]
    [InlineData("1:", "not an IPv6 address")]
    // Labels.
    [InlineData("a..b", "empty label")]
    [InlineData(".example.com", "empty label")]
    [InlineData("example.com..", "empty label")]
    [InlineData(".", "empty label")]
    [InlineData("-example.com", "starts or ends with '-'")]
    [InlineData("example-.com", "starts or ends with '-'")]
    [InlineData("www.-.com", "starts or ends with '-'")]
    [InlineData("exa*mple.com", "'*'")]
    [InlineData("exa!mple.com", "'!'")]
    [InlineData("example.com,evil.com", "','")]
    // Punycode and IDN.
    [InlineData("xn--abc-.example", "not valid punycode")]
    [InlineData("xn--zz.example", "not valid punycode")]
    [InlineData("xn--.example", "not valid punycode")]
    [InlineData("XN--A.example", "not valid punycode")]
    [InlineData("bü_cher.example", "internationalised")]
    [InlineData("ex\u2488.com", "internationalised")]
    // The WHATWG "ends in a number" rule: such a host must be a valid IPv4 address.
    [InlineData("1.2.3.256", "IPv4")]
    [InlineData("256.0.0.1", "IPv4")]
    [InlineData("1.2.3.4.5", "IPv4")]
    [InlineData("08.0.0.1", "IPv4")]
    [InlineData("1.2.3.09", "IPv4")]
    [InlineData("4294967296", "IPv4")]
    [InlineData("0x100000000", "IPv4")]
    [InlineData("1.2.65536", "IPv4")]
    [InlineData("1.16777216", "IPv4")]
    [InlineData("example.123", "IPv4")]
    [InlineData("example.0x1", "IPv4")]
    [InlineData("example.0x", "IPv4")]
    [InlineData("0x1g.0.0.1", "IPv4")]
    [InlineData("99999999999999999999999", "IPv4")]
    public void Malformed_hosts_are_rejected(string input, string expectedFragment)
    {
        Assert.False(HostCanonicalizer.TryCanonicalize(input, out var host, out var error));
        Assert.Null(host);
        Assert.Contains(expectedFragment, error, StringComparison.Ordinal);
    }

    public static TheoryData<string, bool, string> LengthBoundaries => new()
    {
        { Label(63) + ".com", true, "" },
        { Label(64) + ".com", false, "label longer than 63" },
        { "www." + Label(63), true, "" },
        { "www." + Label(64), false, "label longer than 63" },
        { Host(253), true, "" },
        { Host(253) + ".", true, "" },
        { Host(254), false, "longer than 253" },
        { Host(254) + ".", false, "longer than 253" },
        { Host(253).ToUpperInvariant(), true, "" },
        { new string('a', 5000), false, "longer than 253" },
        // Punycode length is what counts: 59 'ü' encode to more than 63 characters.
        { new string('ü', 59) + ".example", false, "over 63 characters as punycode" },
    };

    [Theory]
    [MemberData(nameof(LengthBoundaries))]
    public void Length_limits_apply_at_their_exact_boundaries(string input, bool valid, string expectedFragment)
    {
        var ok = HostCanonicalizer.TryCanonicalize(input, out var host, out var error);
        Assert.Equal(valid, ok);
        if (valid)
        {
            Assert.NotNull(host);
            Assert.Equal(input.TrimEnd('.').ToLowerInvariant(), host.Value);
        }
        else
        {
            Assert.Contains(expectedFragment, error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Canonical_form_is_a_fixed_point()
    {
        string[] inputs =
        [
            "Example.COM.", "bücher.example", "0x7f.1", "2130706433", "[0:0:0:0:0:0:0:1]", "::ffff:7f00:1",
            "2001:DB8:0:0:1:0:0:1", "::1.2.3.4", "ｅｘａｍｐｌｅ。com", "64:ff9b::8.8.8.8",
        ];
        foreach (var input in inputs)
        {
            Assert.True(HostCanonicalizer.TryCanonicalize(input, out var first, out _), input);
            Assert.True(HostCanonicalizer.TryCanonicalize(first.Value, out var second, out var error), error);
            Assert.Equal(first, second);
            Assert.True(HostCanonicalizer.TryCanonicalize(first.UriHost, out var third, out _), first.UriHost);
            Assert.Equal(first, third);
        }
    }

    [Fact]
    public void Any_input_yields_a_result_without_throwing_and_the_same_result_every_time()
    {
        const string Alphabet = "aZ09.-_:[]%@/\\x*\0\r\n \u00fc\u3002\uff0e\u200b\u00ad\ud800\udc00Xx-0x";
        var random = new Random(20260101);
        for (var i = 0; i < 20_000; i++)
        {
            var chars = new char[random.Next(0, 24)];
            for (var j = 0; j < chars.Length; j++)
            {
                chars[j] = Alphabet[random.Next(Alphabet.Length)];
            }

            var input = new string(chars);
            var ok = HostCanonicalizer.TryCanonicalize(input, out var host, out var error);
            var again = HostCanonicalizer.TryCanonicalize(input, out var host2, out var error2);
            Assert.Equal(ok, again);
            Assert.Equal(host, host2);
            Assert.Equal(error, error2);
            if (ok)
            {
                Assert.True(HostCanonicalizer.TryCanonicalize(host!.Value, out var fixedPoint, out _), host.Value);
                Assert.Equal(host, fixedPoint);
            }
            else
            {
                Assert.False(string.IsNullOrWhiteSpace(error));
            }
        }
    }

    private static string Label(int length) => new('a', length);

    // A host of exactly the given length made of 63-character labels and a shorter last one.
    private static string Host(int length)
    {
        var labels = new List<string>();
        var remaining = length;
        while (remaining > 64)
        {
            labels.Add(Label(63));
            remaining -= 64;
        }

        labels.Add(Label(remaining));
        var host = string.Join('.', labels);
        Assert.Equal(length, host.Length);
        return host;
    }
}
