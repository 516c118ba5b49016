using System.Net;
using System.Net.Sockets;
using Airlock.Proxy.Control;

namespace Airlock.Proxy.Tests.Control;

public class ControlEndpointTests
{
    public static TheoryData<string, ControlTransport, string?, int, string?, string> Valid() => new()
    {
        // text, transport, host, port, path, canonical form
        { "tcp:127.0.0.1:7070", ControlTransport.Tcp, "127.0.0.1", 7070, null, "tcp:127.0.0.1:7070" },
        { "127.0.0.1:7070", ControlTransport.Tcp, "127.0.0.1", 7070, null, "tcp:127.0.0.1:7070" },
        { "localhost:1", ControlTransport.Tcp, "localhost", 1, null, "tcp:localhost:1" },
        { "tcp:control.airlock.svc.cluster.local:65535", ControlTransport.Tcp, "control.airlock.svc.cluster.local", 65535, null, "tcp:control.airlock.svc.cluster.local:65535" },
        { "plane_1.internal:8080", ControlTransport.Tcp, "plane_1.internal", 8080, null, "tcp:plane_1.internal:8080" },
        { "[::1]:7070", ControlTransport.Tcp, "::1", 7070, null, "tcp:[::1]:7070" },
        { "tcp:[fd00::2]:443", ControlTransport.Tcp, "fd00::2", 443, null, "tcp:[fd00::2]:443" },
        { "unix:/run/airlock/control.sock", ControlTransport.Unix, null, 0, "/run/airlock/control.sock", "unix:/run/airlock/control.sock" },
        { "unix:/tmp/a b", ControlTransport.Unix, null, 0, "/tmp/a b", "unix:/tmp/a b" },
    };

    public static TheoryData<string?, string> Invalid() => new()
    {
        // text, a fragment of the error
        { null, "empty" },
        { "", "empty" },
        { "127.0.0.1", "port is missing" },
        { "tcp:127.0.0.1", "port is missing" },
        { "127.0.0.1:", "port is missing" },
        { ":7070", "host is missing" },
        { "tcp::7070", "host is missing" },
        { "127.0.0.1:0", "between 1 and 65535" },
        { "127.0.0.1:65536", "between 1 and 65535" },
        { "127.0.0.1:+80", "between 1 and 65535" },
        { "127.0.0.1:http", "between 1 and 65535" },
        { "127.1:80", "dotted IPv4" },
        { "256.0.0.1:80", "dotted IPv4" },
        { "010.0.0.1:80", "dotted IPv4" },
        { "::1:7070", "needs brackets" },
        { "fd00::2:443", "needs brackets" },
        { "[::1:7070", "no closing" },
        { "[::1]", "port is missing" },
        { "[::1]7070", "after the ']'" },
        { "[127.0.0.1]:80", "not an IPv6 address" },
        { "[not-ip]:80", "not an IPv6 address" },
        { "udp:127.0.0.1:53", "unknown scheme 'udp:'" },
        { "http://plane:80", "URLs are not accepted" },
        { "tcp://plane:80", "URLs are not accepted" },
        { "-bad.example:80", "not a host name" },
        { "a..b:80", "not a host name" },
        { "ex ample:80", "whitespace" },
        { " 127.0.0.1:80", "whitespace" },
        { "127.0.0.1:80\n", "whitespace" },
        { "plane\u0000:80", "control character" },
        { "unix:", "path is missing" },
        { "unix:relative.sock", "not absolute" },
        { "unix:@abstract", "abstract unix sockets" },
        { "unix:/" + new string('a', 107), "the limit is 107" },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Valid_addresses_parse(string text, ControlTransport transport, string? host, int port, string? path, string canonical)
    {
        Assert.True(ControlEndpoint.TryParse(text, out ControlEndpoint? endpoint, out string? error), error);
        Assert.Equal(transport, endpoint.Transport);
        Assert.Equal(host, endpoint.Host);
        Assert.Equal(port, endpoint.Port);
        Assert.Equal(path, endpoint.Path);
        Assert.Equal(canonical, endpoint.ToString());
        Assert.True(ControlEndpoint.TryParse(canonical, out ControlEndpoint? again, out _));
        Assert.Equal(endpoint, again);
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_addresses_are_refused_with_a_message_that_says_why(string? text, string fragment)
    {
        Assert.False(ControlEndpoint.TryParse(text, out ControlEndpoint? endpoint, out string? error));
        Assert.Null(endpoint);
        Assert.StartsWith("control address '", error, StringComparison.Ordinal);
        Assert.Contains(fragment, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void A_unix_path_of_107_bytes_is_the_longest_accepted()
    {
        string path = "/" + new string('a', 106);
        Assert.True(ControlEndpoint.TryParse("unix:" + path, out ControlEndpoint? endpoint, out _));
        Assert.Equal(path, endpoint.Path);
    }

    [Fact]
    public void Endpoints_map_to_socket_addresses()
    {
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 7070), ControlEndpoint.Tcp("127.0.0.1", 7070).ToEndPoint());
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 7070), ControlEndpoint.Tcp("::1", 7070).ToEndPoint());
        Assert.Equal(new DnsEndPoint("localhost", 7070), ControlEndpoint.Tcp("localhost", 7070).ToEndPoint());
        Assert.Equal(new UnixDomainSocketEndPoint("/run/a.sock"), ControlEndpoint.Unix("/run/a.sock").ToEndPoint());
    }

    [Fact]
    public void The_factories_refuse_what_parsing_refuses()
    {
        Assert.Throws<ArgumentException>(() => ControlEndpoint.Tcp("127.0.0.1", 0));
        Assert.Throws<ArgumentException>(() => ControlEndpoint.Tcp("bad host", 80));
        Assert.Throws<ArgumentException>(() => ControlEndpoint.Unix("relative"));
        Assert.Equal("tcp:[::1]:80", ControlEndpoint.Tcp("::1", 80).ToString());
    }
}
