using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Airlock.Policy.Addresses;

/// <summary>What kind of address an IP is, for the block list.</summary>
/// <remarks>
/// For IPv6 that embeds an IPv4 address (IPv4-mapped, IPv4-compatible, IPv4-translated, NAT64, 6to4) the
/// category is that of the embedded IPv4 address; <see cref="AddressClass.Detail"/> names the embedding.
/// </remarks>
public enum AddressCategory
{
    /// <summary>A globally reachable unicast address.</summary>
    Public,

    /// <summary>The unspecified address or "this network": <c>0.0.0.0/8</c>, <c>::</c>.</summary>
    Unspecified,

    /// <summary>Loopback: <c>127.0.0.0/8</c>, <c>::1</c>.</summary>
    Loopback,

    /// <summary>Link-local, including cloud metadata endpoints: <c>169.254.0.0/16</c>, <c>fe80::/10</c>.</summary>
    LinkLocal,

    /// <summary>RFC 1918 private space: <c>10.0.0.0/8</c>, <c>172.16.0.0/12</c>, <c>192.168.0.0/16</c>.</summary>
    Private,

    /// <summary>Shared address space for carrier-grade NAT: <c>100.64.0.0/10</c>.</summary>
    SharedAddressSpace,

    /// <summary>IETF protocol assignments: <c>192.0.0.0/24</c>.</summary>
    ProtocolAssignment,

    /// <summary>Documentation ranges: <c>192.0.2.0/24</c>, <c>198.51.100.0/24</c>, <c>203.0.113.0/24</c>, <c>2001:db8::/32</c>, <c>3fff::/20</c>.</summary>
    Documentation,

    /// <summary>Benchmarking: <c>198.18.0.0/15</c>, <c>2001:2::/48</c>.</summary>
    Benchmarking,

    /// <summary>Multicast: <c>224.0.0.0/4</c>, <c>ff00::/8</c>.</summary>
    Multicast,

    /// <summary>The limited broadcast address <c>255.255.255.255</c>.</summary>
    Broadcast,

    /// <summary>
    /// Reserved or deprecated space that is not globally reachable: <c>240.0.0.0/4</c>, <c>192.88.99.0/24</c>,
    /// <c>2001:10::/28</c>, <c>5f00::/16</c>, and IPv6 outside global unicast <c>2000::/3</c> not otherwise listed.
    /// </summary>
    Reserved,

    /// <summary>IPv6 unique local addresses, including cloud metadata: <c>fc00::/7</c>.</summary>
    UniqueLocal,

    /// <summary>Deprecated IPv6 site-local: <c>fec0::/10</c>.</summary>
    SiteLocal,

    /// <summary>IPv6 discard-only prefix: <c>100::/64</c>.</summary>
    Discard,

    /// <summary>Local-use IPv4/IPv6 translation (NAT64): <c>64:ff9b:1::/48</c>.</summary>
    LocalUseNat64,

    /// <summary>Teredo tunnelling (deprecated): <c>2001::/32</c>.</summary>
    Teredo,
}

/// <summary>The classification of one address, with a reason a user can read.</summary>
/// <param name="Category">The category.</param>
/// <param name="Blocked">Whether the built-in block list blocks it.</param>
/// <param name="Detail">A short human explanation, e.g. "link-local 169.254.0.0/16 (cloud metadata)".</param>
public readonly record struct AddressClass(AddressCategory Category, bool Blocked, string Detail);

/// <summary>Classifies addresses against the built-in block list. A pure function.</summary>
/// <remarks>
/// The lists are ordered tables scanned first match wins, so a specific entry (the metadata address, the
/// broadcast address) precedes the range that contains it. Every entry blocks except the IPv6 entries that
/// embed an IPv4 address, which take the verdict of the embedded address.
/// </remarks>
public static class AddressClassifier
{
    private const string PublicDetail = "public address";

    private static readonly AddressClass PublicV4 = new(AddressCategory.Public, false, PublicDetail);

    private static readonly AddressClass PublicV6 = new(AddressCategory.Public, false, PublicDetail);

    private static readonly IPv4Range[] IPv4Table =
    [
        new("0.0.0.0/32", AddressCategory.Unspecified, "unspecified 0.0.0.0"),
        new("0.0.0.0/8", AddressCategory.Unspecified, "this network 0.0.0.0/8"),
        new("10.0.0.0/8", AddressCategory.Private, "private 10.0.0.0/8"),
        new("100.64.0.0/10", AddressCategory.SharedAddressSpace, "shared address space (CGNAT) 100.64.0.0/10"),
        new("127.0.0.0/8", AddressCategory.Loopback, "loopback 127.0.0.0/8"),
        new("169.254.169.254/32", AddressCategory.LinkLocal, "link-local 169.254.0.0/16 (cloud metadata)"),
        new("169.254.0.0/16", AddressCategory.LinkLocal, "link-local 169.254.0.0/16"),
        new("172.16.0.0/12", AddressCategory.Private, "private 172.16.0.0/12"),
        new("192.0.0.0/24", AddressCategory.ProtocolAssignment, "IETF protocol assignments 192.0.0.0/24"),
        new("192.0.2.0/24", AddressCategory.Documentation, "documentation 192.0.2.0/24"),
        new("192.88.99.0/24", AddressCategory.Reserved, "deprecated 6to4 relay anycast 192.88.99.0/24"),
        new("192.168.0.0/16", AddressCategory.Private, "private 192.168.0.0/16"),
        new("198.18.0.0/15", AddressCategory.Benchmarking, "benchmarking 198.18.0.0/15"),
        new("198.51.100.0/24", AddressCategory.Documentation, "documentation 198.51.100.0/24"),
        new("203.0.113.0/24", AddressCategory.Documentation, "documentation 203.0.113.0/24"),
        new("224.0.0.0/4", AddressCategory.Multicast, "multicast 224.0.0.0/4"),
        new("255.255.255.255/32", AddressCategory.Broadcast, "broadcast 255.255.255.255"),
        new("240.0.0.0/4", AddressCategory.Reserved, "reserved 240.0.0.0/4"),
    ];

    private static readonly IPv6Range[] IPv6Table =
    [
        new("::/128", AddressCategory.Unspecified, "unspecified ::"),
        new("::1/128", AddressCategory.Loopback, "loopback ::1"),
        new("::ffff:0:0/96", Embedding.Low32, "IPv4-mapped IPv6"),
        new("::ffff:0:0:0/96", Embedding.Low32, "IPv4-translated IPv6"),
        new("::/96", Embedding.Low32, "IPv4-compatible IPv6"),
        new("64:ff9b::/96", Embedding.Low32, "NAT64 64:ff9b::/96"),
        new("64:ff9b:1::/48", AddressCategory.LocalUseNat64, "local-use NAT64 64:ff9b:1::/48"),
        new("100::/64", AddressCategory.Discard, "discard-only 100::/64"),
        new("2001::/32", AddressCategory.Teredo, "Teredo 2001::/32 (deprecated tunnelling)"),
        new("2001:2::/48", AddressCategory.Benchmarking, "benchmarking 2001:2::/48"),
        new("2001:10::/28", AddressCategory.Reserved, "deprecated ORCHID 2001:10::/28"),
        new("2001:db8::/32", AddressCategory.Documentation, "documentation 2001:db8::/32"),
        new("2002::/16", Embedding.SixToFour, "6to4 2002::/16"),
        new("3fff::/20", AddressCategory.Documentation, "documentation 3fff::/20"),
        new("5f00::/16", AddressCategory.Reserved, "SRv6 SIDs 5f00::/16"),
        new("fd00:ec2::254/128", AddressCategory.UniqueLocal, "unique local fc00::/7 (cloud metadata)"),
        new("fc00::/7", AddressCategory.UniqueLocal, "unique local fc00::/7"),
        new("fe80::/10", AddressCategory.LinkLocal, "link-local fe80::/10"),
        new("fec0::/10", AddressCategory.SiteLocal, "deprecated site-local fec0::/10"),
        new("ff00::/8", AddressCategory.Multicast, "multicast ff00::/8"),
    ];

    private static readonly IPv6Range GlobalUnicast = new("2000::/3", AddressCategory.Public, PublicDetail);

    private static readonly AddressClass ReservedV6 =
        new(AddressCategory.Reserved, true, "reserved by IETF (outside global unicast 2000::/3)");

    /// <summary>Classifies <paramref name="address"/>.</summary>
    /// <param name="address">Any IPv4 or IPv6 address.</param>
    public static AddressClass Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes, out _);
            var index = FindIPv4(BinaryPrimitives.ReadUInt32BigEndian(bytes));
            return index < 0 ? PublicV4 : IPv4Table[index].Class;
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException($"Not an IP address: {address.AddressFamily}.", nameof(address));
        }

        address.TryWriteBytes(bytes, out _);
        var value = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        foreach (var range in IPv6Table)
        {
            if (!range.Contains(value))
            {
                continue;
            }

            if (range.Embedding == Embedding.None)
            {
                return range.Class;
            }

            var embedded = range.Embedding == Embedding.SixToFour ? (uint)(value >> 80) : (uint)value;
            var embeddedIndex = FindIPv4(embedded);
            return embeddedIndex < 0 ? range.PublicEmbedded : range.EmbeddedClasses[embeddedIndex];
        }

        return GlobalUnicast.Contains(value) ? PublicV6 : ReservedV6;
    }

    private static int FindIPv4(uint value)
    {
        for (var i = 0; i < IPv4Table.Length; i++)
        {
            if (IPv4Table[i].Contains(value))
            {
                return i;
            }
        }

        return -1;
    }

    private enum Embedding
    {
        None,

        // The IPv4 address is the low 32 bits (mapped, translated, compatible, NAT64 well-known prefix).
        Low32,

        // 6to4: the IPv4 address is bits 16-47.
        SixToFour,
    }

    private sealed class IPv4Range
    {
        private readonly uint _prefix;
        private readonly uint _mask;

        public IPv4Range(string network, AddressCategory category, string detail)
        {
            var parsed = IPNetwork.Parse(network);
            Span<byte> bytes = stackalloc byte[4];
            parsed.BaseAddress.TryWriteBytes(bytes, out _);
            _prefix = BinaryPrimitives.ReadUInt32BigEndian(bytes);
            _mask = parsed.PrefixLength == 0 ? 0 : uint.MaxValue << (32 - parsed.PrefixLength);
            Class = new AddressClass(category, true, detail);
        }

        public AddressClass Class { get; }

        public bool Contains(uint value) => (value & _mask) == _prefix;
    }

    private sealed class IPv6Range
    {
        private readonly UInt128 _prefix;
        private readonly UInt128 _mask;

        public IPv6Range(string network, AddressCategory category, string detail)
            : this(network)
        {
            Class = new AddressClass(category, category != AddressCategory.Public, detail);
        }

        // An embedding entry: the embedded IPv4 address decides, and the detail names the embedding.
        public IPv6Range(string network, Embedding embedding, string embeddingName)
            : this(network)
        {
            Embedding = embedding;
            PublicEmbedded = new AddressClass(AddressCategory.Public, false, $"{embeddingName} of {PublicDetail}");
            EmbeddedClasses = new AddressClass[IPv4Table.Length];
            for (var i = 0; i < IPv4Table.Length; i++)
            {
                var inner = IPv4Table[i].Class;
                EmbeddedClasses[i] = inner with { Detail = $"{embeddingName} of {inner.Detail}" };
            }
        }

        private IPv6Range(string network)
        {
            var parsed = IPNetwork.Parse(network);
            Span<byte> bytes = stackalloc byte[16];
            parsed.BaseAddress.TryWriteBytes(bytes, out _);
            _prefix = BinaryPrimitives.ReadUInt128BigEndian(bytes);
            _mask = parsed.PrefixLength == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - parsed.PrefixLength);
            EmbeddedClasses = [];
        }

        public Embedding Embedding { get; }

        public AddressClass Class { get; }

        public AddressClass PublicEmbedded { get; }

        // Parallel to IPv4Table: the class of each blocked IPv4 range seen through this embedding.
        public AddressClass[] EmbeddedClasses { get; }

        public bool Contains(UInt128 value) => (value & _mask) == _prefix;
    }
}
