using System.Net;
using Airlock.Policy.Addresses;

namespace Airlock.Policy.Tests.Addresses;

public class AddressClassifierTests
{
    // Every range at its first and last address, with the neighbours just outside it.
    [Theory]
    [InlineData("0.0.0.0", AddressCategory.Unspecified, true, "unspecified 0.0.0.0")]
    [InlineData("0.0.0.1", AddressCategory.Unspecified, true, "this network 0.0.0.0/8")]
    [InlineData("0.255.255.255", AddressCategory.Unspecified, true, "this network 0.0.0.0/8")]
    [InlineData("1.0.0.0", AddressCategory.Public, false, "public address")]
    [InlineData("9.255.255.255", AddressCategory.Public, false, "public address")]
    [InlineData("10.0.0.0", AddressCategory.Private, true, "private 10.0.0.0/8")]
    [InlineData("10.255.255.255", AddressCategory.Private, true, "private 10.0.0.0/8")]
    [InlineData("11.0.0.0", AddressCategory.Public, false, "public address")]
    [InlineData("100.63.255.255", AddressCategory.Public, false, "public address")]
    [InlineData("100.64.0.0", AddressCategory.SharedAddressSpace, true, "shared address space (CGNAT) 100.64.0.0/10")]
    [InlineData("100.127.255.255", AddressCategory.SharedAddressSpace, true, "shared address space (CGNAT) 100.64.0.0/10")]
    [InlineData("100.128.0.0", AddressCategory.Public, false, "public address")]
    [InlineData("126.255.255.255", AddressCategory.Public, false, "public address")]
    [InlineData("127.0.0.0", AddressCategory.Loopback, true, "loopback 127.0.0.0/8")]
    [InlineData("127.0.0.1", AddressCategory.Loopback, true, "loopback 127.0.0.0/8")]
    [InlineData("127.255.255.255", AddressCategory.Loopback, true, "loopback 127.0.0.0/8")]
    [InlineData("128.0.0.0", AddressCategory.Public, false, "public address")]
    [InlineData("169.253.255.255", AddressCategory.Public, false, "public address")]
    [InlineData("169.254.0.0", AddressCategory.LinkLocal, true, "link-local 169.254.0.0/16")]
    [InlineData("169.254.169.254", AddressCategory.LinkLocal, true, "link-local 169.254.0.0/16 (cloud metadata)")]
    [InlineData("169.254.169.253", AddressCategory.LinkLocal, true, "link-local 169.254.0.0/16")]
    [InlineData("169.254.255.255", AddressCategory.LinkLocal, true, "link-local 169.254.0.0/16")]
    [InlineData("169.255.0.0", AddressCategory.Public, false, "public address")]
    [InlineData("172.15.255.255", AddressCategory.Public, false, "public address")]
    [InlineData("172.16.0.0", AddressCategory.Private, true, "private 172.16.0.0/12")]
    [InlineData("172.31.255.255", AddressCategory.Private, true, "private 172.16.0.0/12")]
    [InlineData("172.32.0.0", AddressCategory.Public, false, "public address")]
    [InlineData("191.255.255.255", AddressCategory.Public, false, "public address")]
    [InlineData("192.0.0.0", AddressCategory.ProtocolAssignment, true, "IETF protocol assignments 192.0.0.0/24")]
    [InlineData("192.0.0.255", AddressCategory.ProtocolAssignment, true, "IETF protocol assignments 192.0.0.0/24")]
    [InlineData("192.0.1.0", AddressCategory.Public, false, "public address")]
    [InlineData("192.0.1.255", AddressCategory.Public, false, "public address")]
    [InlineData("192.0.2.0", AddressCategory.Documentation, true, "documentation 192.0.2.0/24")]
    [InlineData("192.0.2.255", AddressCategory.Documentation, true, "documentation 192.0.2.0/24")]
    [InlineData("192.0.3.0", AddressCategory.Public, false, "public address")]
    [InlineData("192.88.98.255", AddressCategory.Public, false, "public address")]
    [InlineData("192.88.99.0", AddressCategory.Reserved, true, "deprecated 6to4 relay anycast 192.88.99.0/24")]
    [InlineData("192.88.99.255", AddressCategory.Reserved, true, "deprecated 6to4 relay anycast 192.88.99.0/24")]
    [InlineData("192.88.100.0", AddressCategory.Public, false, "public address")]
    [InlineData("192.167.255.255", AddressCategory.Public, false, "public address")]
    [InlineData("192.168.0.0", AddressCategory.Private, true, "private 192.168.0.0/16")]
    [InlineData("192.168.255.255", AddressCategory.Private, true, "private 192.168.0.0/16")]
    [InlineData("192.169.0.0", AddressCategory.Public, false, "public address")]
    [InlineData("198.17.255.255", AddressCategory.Public, false, "public address")]
    [InlineData("198.18.0.0", AddressCategory.Benchmarking, true, "benchmarking 198.18.0.0/15")]
    [InlineData("198.19.255.255", AddressCategory.Benchmarking, true, "benchmarking 198.18.0.0/15")]
    [InlineData("198.20.0.0", AddressCategory.Public, false, "public address")]
    [InlineData("198.51.99.255", AddressCategory.Public, false, "public address")]
    [InlineData("198.51.100.0", AddressCategory.Documentation, true, "documentation 198.51.100.0/24")]
    [InlineData("198.51.100.255", AddressCategory.Documentation, true, "documentation 198.51.100.0/24")]
    [InlineData("198.51.101.0", AddressCategory.Public, false, "public address")]
    [InlineData("203.0.112.255", AddressCategory.Public, false, "public address")]
    [InlineData("203.0.113.0", AddressCategory.Documentation, true, "documentation 203.0.113.0/24")]
    [InlineData("203.0.113.255", AddressCategory.Documentation, true, "documentation 203.0.113.0/24")]
    [InlineData("203.0.114.0", AddressCategory.Public, false, "public address")]
    [InlineData("223.255.255.255", AddressCategory.Public, false, "public address")]
    [InlineData("224.0.0.0", AddressCategory.Multicast, true, "multicast 224.0.0.0/4")]
    [InlineData("239.255.255.255", AddressCategory.Multicast, true, "multicast 224.0.0.0/4")]
    [InlineData("240.0.0.0", AddressCategory.Reserved, true, "reserved 240.0.0.0/4")]
    [InlineData("255.255.255.254", AddressCategory.Reserved, true, "reserved 240.0.0.0/4")]
    [InlineData("255.255.255.255", AddressCategory.Broadcast, true, "broadcast 255.255.255.255")]
    [InlineData("8.8.8.8", AddressCategory.Public, false, "public address")]
    [InlineData("1.1.1.1", AddressCategory.Public, false, "public address")]
    public void IPv4_ranges(string address, AddressCategory category, bool blocked, string detail) =>
        AssertClass(address, category, blocked, detail);

    [Theory]
    [InlineData("::", AddressCategory.Unspecified, true, "unspecified ::")]
    [InlineData("::1", AddressCategory.Loopback, true, "loopback ::1")]
    [InlineData("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Reserved, true, "reserved by IETF (outside global unicast 2000::/3)")]
    [InlineData("fe80::", AddressCategory.LinkLocal, true, "link-local fe80::/10")]
    [InlineData("fe80::1", AddressCategory.LinkLocal, true, "link-local fe80::/10")]
    [InlineData("fe80::1%3", AddressCategory.LinkLocal, true, "link-local fe80::/10")]
    [InlineData("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.LinkLocal, true, "link-local fe80::/10")]
    [InlineData("fec0::", AddressCategory.SiteLocal, true, "deprecated site-local fec0::/10")]
    [InlineData("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.SiteLocal, true, "deprecated site-local fec0::/10")]
    [InlineData("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Reserved, true, "reserved by IETF (outside global unicast 2000::/3)")]
    [InlineData("fc00::", AddressCategory.UniqueLocal, true, "unique local fc00::/7")]
    [InlineData("fd00:ec2::254", AddressCategory.UniqueLocal, true, "unique local fc00::/7 (cloud metadata)")]
    [InlineData("fd00:ec2::253", AddressCategory.UniqueLocal, true, "unique local fc00::/7")]
    [InlineData("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.UniqueLocal, true, "unique local fc00::/7")]
    [InlineData("fe00::", AddressCategory.Reserved, true, "reserved by IETF (outside global unicast 2000::/3)")]
    [InlineData("ff00::", AddressCategory.Multicast, true, "multicast ff00::/8")]
    [InlineData("ff02::1", AddressCategory.Multicast, true, "multicast ff00::/8")]
    [InlineData("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Multicast, true, "multicast ff00::/8")]
    [InlineData("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Public, false, "public address")]
    [InlineData("2001:db8::", AddressCategory.Documentation, true, "documentation 2001:db8::/32")]
    [InlineData("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Documentation, true, "documentation 2001:db8::/32")]
    [InlineData("2001:db9::", AddressCategory.Public, false, "public address")]
    [InlineData("3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Public, false, "public address")]
    [InlineData("3fff::", AddressCategory.Documentation, true, "documentation 3fff::/20")]
    [InlineData("3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Documentation, true, "documentation 3fff::/20")]
    [InlineData("3fff:1000::", AddressCategory.Public, false, "public address")]
    [InlineData("ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Reserved, true, "reserved by IETF (outside global unicast 2000::/3)")]
    [InlineData("100::", AddressCategory.Discard, true, "discard-only 100::/64")]
    [InlineData("100::ffff:ffff:ffff:ffff", AddressCategory.Discard, true, "discard-only 100::/64")]
    [InlineData("100:0:0:1::", AddressCategory.Reserved, true, "reserved by IETF (outside global unicast 2000::/3)")]
    [InlineData("64:ff9b:1::", AddressCategory.LocalUseNat64, true, "local-use NAT64 64:ff9b:1::/48")]
    [InlineData("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", AddressCategory.LocalUseNat64, true, "local-use NAT64 64:ff9b:1::/48")]
    [InlineData("64:ff9b:2::", AddressCategory.Reserved, true, "reserved by IETF (outside global unicast 2000::/3)")]
    [InlineData("2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Public, false, "public address")]
    [InlineData("2001::", AddressCategory.Teredo, true, "Teredo 2001::/32 (deprecated tunnelling)")]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2", AddressCategory.Teredo, true, "Teredo 2001::/32 (deprecated tunnelling)")]
    [InlineData("2001:0:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Teredo, true, "Teredo 2001::/32 (deprecated tunnelling)")]
    [InlineData("2001:1::", AddressCategory.Public, false, "public address")]
    [InlineData("2001:1:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Public, false, "public address")]
    [InlineData("2001:2::", AddressCategory.Benchmarking, true, "benchmarking 2001:2::/48")]
    [InlineData("2001:2:0:ffff:ffff:ffff:ffff:ffff", AddressCategory.Benchmarking, true, "benchmarking 2001:2::/48")]
    [InlineData("2001:2:1::", AddressCategory.Public, false, "public address")]
    [InlineData("2001:f:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Public, false, "public address")]
    [InlineData("2001:10::", AddressCategory.Reserved, true, "deprecated ORCHID 2001:10::/28")]
    [InlineData("2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Reserved, true, "deprecated ORCHID 2001:10::/28")]
    [InlineData("2001:20::", AddressCategory.Public, false, "public address")]
    [InlineData("5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Reserved, true, "reserved by IETF (outside global unicast 2000::/3)")]
    [InlineData("5f00::", AddressCategory.Reserved, true, "SRv6 SIDs 5f00::/16")]
    [InlineData("5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Reserved, true, "SRv6 SIDs 5f00::/16")]
    [InlineData("5f01::", AddressCategory.Reserved, true, "reserved by IETF (outside global unicast 2000::/3)")]
    [InlineData("2000::", AddressCategory.Public, false, "public address")]
    [InlineData("3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Public, false, "public address")]
    [InlineData("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Reserved, true, "reserved by IETF (outside global unicast 2000::/3)")]
    [InlineData("4000::", AddressCategory.Reserved, true, "reserved by IETF (outside global unicast 2000::/3)")]
    [InlineData("::fffe:ffff:ffff", AddressCategory.Reserved, true, "reserved by IETF (outside global unicast 2000::/3)")]
    [InlineData("::1:0:0:0", AddressCategory.Reserved, true, "reserved by IETF (outside global unicast 2000::/3)")]
    [InlineData("2606:4700:4700::1111", AddressCategory.Public, false, "public address")]
    [InlineData("2001:4860:4860::8888", AddressCategory.Public, false, "public address")]
    public void IPv6_ranges(string address, AddressCategory category, bool blocked, string detail) =>
        AssertClass(address, category, blocked, detail);

    // IPv6 that embeds IPv4 takes the embedded address's verdict (Teredo excepted: always blocked).
    [Theory]
    // IPv4-mapped ::ffff:0:0/96.
    [InlineData("::ffff:0:0", AddressCategory.Unspecified, true, "IPv4-mapped IPv6 of unspecified 0.0.0.0")]
    [InlineData("::ffff:127.0.0.1", AddressCategory.Loopback, true, "IPv4-mapped IPv6 of loopback 127.0.0.0/8")]
    [InlineData("::ffff:10.0.0.1", AddressCategory.Private, true, "IPv4-mapped IPv6 of private 10.0.0.0/8")]
    [InlineData("::ffff:169.254.169.254", AddressCategory.LinkLocal, true, "IPv4-mapped IPv6 of link-local 169.254.0.0/16 (cloud metadata)")]
    [InlineData("::ffff:100.64.0.1", AddressCategory.SharedAddressSpace, true, "IPv4-mapped IPv6 of shared address space (CGNAT) 100.64.0.0/10")]
    [InlineData("::ffff:255.255.255.255", AddressCategory.Broadcast, true, "IPv4-mapped IPv6 of broadcast 255.255.255.255")]
    [InlineData("::ffff:8.8.8.8", AddressCategory.Public, false, "IPv4-mapped IPv6 of public address")]
    // IPv4-compatible ::/96 (after :: and ::1).
    [InlineData("::2", AddressCategory.Unspecified, true, "IPv4-compatible IPv6 of this network 0.0.0.0/8")]
    [InlineData("::10.0.0.1", AddressCategory.Private, true, "IPv4-compatible IPv6 of private 10.0.0.0/8")]
    [InlineData("::127.0.0.1", AddressCategory.Loopback, true, "IPv4-compatible IPv6 of loopback 127.0.0.0/8")]
    [InlineData("::255.255.255.255", AddressCategory.Broadcast, true, "IPv4-compatible IPv6 of broadcast 255.255.255.255")]
    [InlineData("::1.2.3.4", AddressCategory.Public, false, "IPv4-compatible IPv6 of public address")]
    // IPv4-translated ::ffff:0:0:0/96 (SIIT).
    [InlineData("::ffff:0:10.0.0.1", AddressCategory.Private, true, "IPv4-translated IPv6 of private 10.0.0.0/8")]
    [InlineData("::ffff:0:8.8.8.8", AddressCategory.Public, false, "IPv4-translated IPv6 of public address")]
    // NAT64 64:ff9b::/96: public embedded stays reachable for IPv6-only clusters.
    [InlineData("64:ff9b::", AddressCategory.Unspecified, true, "NAT64 64:ff9b::/96 of unspecified 0.0.0.0")]
    [InlineData("64:ff9b::8.8.8.8", AddressCategory.Public, false, "NAT64 64:ff9b::/96 of public address")]
    [InlineData("64:ff9b::10.0.0.1", AddressCategory.Private, true, "NAT64 64:ff9b::/96 of private 10.0.0.0/8")]
    [InlineData("64:ff9b::127.0.0.1", AddressCategory.Loopback, true, "NAT64 64:ff9b::/96 of loopback 127.0.0.0/8")]
    [InlineData("64:ff9b::169.254.169.254", AddressCategory.LinkLocal, true, "NAT64 64:ff9b::/96 of link-local 169.254.0.0/16 (cloud metadata)")]
    [InlineData("64:ff9b::ffff:ffff", AddressCategory.Broadcast, true, "NAT64 64:ff9b::/96 of broadcast 255.255.255.255")]
    [InlineData("64:ff9b::1:0:0", AddressCategory.Reserved, true, "reserved by IETF (outside global unicast 2000::/3)")]
    [InlineData("64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Reserved, true, "reserved by IETF (outside global unicast 2000::/3)")]
    // 6to4 2002::/16: the IPv4 address is bits 16-47.
    [InlineData("2002::", AddressCategory.Unspecified, true, "6to4 2002::/16 of unspecified 0.0.0.0")]
    [InlineData("2002:a00:1::1", AddressCategory.Private, true, "6to4 2002::/16 of private 10.0.0.0/8")]
    [InlineData("2002:7f00:1::", AddressCategory.Loopback, true, "6to4 2002::/16 of loopback 127.0.0.0/8")]
    [InlineData("2002:a9fe:a9fe::1", AddressCategory.LinkLocal, true, "6to4 2002::/16 of link-local 169.254.0.0/16 (cloud metadata)")]
    [InlineData("2002:c0a8:101:1::1", AddressCategory.Private, true, "6to4 2002::/16 of private 192.168.0.0/16")]
    [InlineData("2002:808:808::1", AddressCategory.Public, false, "6to4 2002::/16 of public address")]
    [InlineData("2002:808:808:ffff:ffff:ffff:ffff:ffff", AddressCategory.Public, false, "6to4 2002::/16 of public address")]
    [InlineData("2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Broadcast, true, "6to4 2002::/16 of broadcast 255.255.255.255")]
    [InlineData("2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AddressCategory.Public, false, "public address")]
    [InlineData("2003::", AddressCategory.Public, false, "public address")]
    public void Embedded_IPv4(string address, AddressCategory category, bool blocked, string detail) =>
        AssertClass(address, category, blocked, detail);

    [Fact]
    public void Every_category_other_than_Public_is_blocked()
    {
        foreach (var category in Enum.GetValues<AddressCategory>())
        {
            Assert.True(Enum.IsDefined(category));
        }

        string[] samples = ["0.0.0.0", "127.0.0.1", "169.254.1.1", "10.1.1.1", "100.64.1.1", "192.0.0.1", "192.0.2.1", "198.18.1.1", "224.0.0.1", "255.255.255.255", "240.0.0.1", "fc00::1", "fec0::1", "100::1", "64:ff9b:1::1", "2001::1"];
        var seen = new HashSet<AddressCategory>();
        foreach (var sample in samples)
        {
            var result = AddressClassifier.Classify(IPAddress.Parse(sample));
            Assert.True(result.Blocked, sample);
            seen.Add(result.Category);
        }

        Assert.Equal(Enum.GetValues<AddressCategory>().Length - 1, seen.Count);
    }

    private static void AssertClass(string address, AddressCategory category, bool blocked, string detail)
    {
        var result = AddressClassifier.Classify(IPAddress.Parse(address));
        Assert.Equal(new AddressClass(category, blocked, detail), result);
    }
}
