using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Airlock.Proxy.Control;

/// <summary>How the proxy reaches the control plane.</summary>
public enum ControlTransport
{
    /// <summary>A TCP connection to a host name or IP address and a port.</summary>
    Tcp,

    /// <summary>A unix domain stream socket at a filesystem path.</summary>
    Unix,
}

/// <summary>
/// The control plane's address as given to <c>--control</c>: <c>tcp:HOST:PORT</c>, <c>HOST:PORT</c>
/// (IPv6 in brackets, <c>[::1]:7070</c>) or <c>unix:/absolute/path</c>.
/// </summary>
public sealed record ControlEndpoint
{
    /// <summary>The longest unix socket path, in UTF-8 bytes (Linux <c>sun_path</c> is 108 bytes with the terminating NUL).</summary>
    public const int MaxUnixPathBytes = 107;

    private const string Forms = "expected tcp:HOST:PORT, HOST:PORT or unix:/path";

    private ControlEndpoint(ControlTransport transport, string? host, int port, string? path)
    {
        Transport = transport;
        Host = host;
        Port = port;
        Path = path;
    }

    /// <summary>TCP or unix.</summary>
    public ControlTransport Transport { get; }

    /// <summary>TCP: the host name or IP address (IPv6 without brackets); null for unix.</summary>
    public string? Host { get; }

    /// <summary>TCP: the port, 1 to 65535; 0 for unix.</summary>
    public int Port { get; }

    /// <summary>Unix: the absolute socket path; null for TCP.</summary>
    public string? Path { get; }

    /// <summary>A TCP endpoint.</summary>
    /// <param name="host">A host name, a dotted IPv4 address or an IPv6 address without brackets.</param>
    /// <param name="port">1 to 65535.</param>
    /// <exception cref="ArgumentException">The host or port is not valid.</exception>
    public static ControlEndpoint Tcp(string host, int port)
    {
        ArgumentNullException.ThrowIfNull(host);
        string? error = CheckHost(host.Contains(':', StringComparison.Ordinal) ? "[" + host + "]" : host, out string? bare)
            ?? (port is < 1 or > 65535 ? "the port must be between 1 and 65535" : null);
        return error is null ? new ControlEndpoint(ControlTransport.Tcp, bare, port, null) : throw new ArgumentException(error, nameof(host));
    }

    /// <summary>A unix domain socket endpoint.</summary>
    /// <param name="path">An absolute path of at most <see cref="MaxUnixPathBytes"/> UTF-8 bytes.</param>
    /// <exception cref="ArgumentException">The path is not valid.</exception>
    public static ControlEndpoint Unix(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string? error = CheckUnixPath(path);
        return error is null ? new ControlEndpoint(ControlTransport.Unix, null, 0, path) : throw new ArgumentException(error, nameof(path));
    }

    /// <summary>Parses a <c>--control</c> address.</summary>
    /// <param name="text">The address as the user wrote it.</param>
    /// <param name="endpoint">The endpoint, when the address is valid.</param>
    /// <param name="error">When it is not: what is wrong and what the accepted forms are.</param>
    /// <returns>Whether the address is valid.</returns>
    public static bool TryParse(
        string? text,
        [NotNullWhen(true)] out ControlEndpoint? endpoint,
        [NotNullWhen(false)] out string? error)
    {
        error = Parse(text, out endpoint);
        if (error is null && endpoint is not null)
        {
            return true;
        }

        error = $"control address '{Printable(text)}': {error}";
        endpoint = null;
        return false;
    }

    /// <summary>The address in its canonical <c>--control</c> form: <c>tcp:HOST:PORT</c> or <c>unix:/path</c>.</summary>
    /// <returns>The canonical form.</returns>
    public override string ToString() => Transport == ControlTransport.Unix
        ? "unix:" + Path
        : Host!.Contains(':', StringComparison.Ordinal)
            ? string.Create(CultureInfo.InvariantCulture, $"tcp:[{Host}]:{Port}")
            : string.Create(CultureInfo.InvariantCulture, $"tcp:{Host}:{Port}");

    /// <summary>The socket address to connect to.</summary>
    internal EndPoint ToEndPoint() => Transport == ControlTransport.Unix
        ? new UnixDomainSocketEndPoint(Path!)
        : IPAddress.TryParse(Host, out IPAddress? address)
            ? new IPEndPoint(address, Port)
            : new DnsEndPoint(Host!, Port);

    private static string? Parse(string? text, out ControlEndpoint? endpoint)
    {
        endpoint = null;
        if (string.IsNullOrEmpty(text))
        {
            return "the address is empty; " + Forms;
        }

        if (text.StartsWith("unix:", StringComparison.Ordinal))
        {
            string path = text["unix:".Length..];
            string? pathError = CheckUnixPath(path);
            if (pathError is null)
            {
                endpoint = new ControlEndpoint(ControlTransport.Unix, null, 0, path);
            }

            return pathError;
        }

        // A path may hold spaces; a host and port never do, and a stray one is more likely a quoting mistake.
        foreach (char c in text)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return "the address contains whitespace or a control character";
            }
        }

        if (text.Contains("://", StringComparison.Ordinal))
        {
            return "URLs are not accepted; " + Forms;
        }

        string hostPort = text.StartsWith("tcp:", StringComparison.Ordinal) ? text["tcp:".Length..] : text;
        string? error = SplitHostPort(hostPort, out string hostText, out string portText);
        if (error is not null)
        {
            return error;
        }

        error = CheckHost(hostText, out string? host);
        if (error is not null)
        {
            return error;
        }

        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            return $"the port '{portText}' is not a number between 1 and 65535";
        }

        endpoint = new ControlEndpoint(ControlTransport.Tcp, host, port, null);
        return null;
    }

    private static string? SplitHostPort(string text, out string host, out string port)
    {
        host = port = "";
        int colon;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return "the IPv6 address has no closing ']'";
            }

            colon = close + 1;
            if (colon == text.Length)
            {
                return "the port is missing; " + Forms;
            }

            if (text[colon] != ':')
            {
                return "expected ':' and a port after the ']'";
            }
        }
        else
        {
            colon = text.LastIndexOf(':');
            if (colon < 0)
            {
                return "the port is missing; " + Forms;
            }

            string before = text[..colon];
            if (before.Contains(':', StringComparison.Ordinal))
            {
                if (IPAddress.TryParse(before, out IPAddress? v6) && v6.AddressFamily == AddressFamily.InterNetworkV6
                    || IPAddress.TryParse(text, out IPAddress? whole) && whole.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    return "an IPv6 address needs brackets, e.g. [::1]:7070";
                }

                string scheme = text[..text.IndexOf(':', StringComparison.Ordinal)];
                return scheme.Length > 0 && scheme.All(char.IsAsciiLetter)
                    ? $"unknown scheme '{scheme}:'; " + Forms
                    : "the host contains ':'; " + Forms;
            }
        }

        host = text[..colon];
        port = text[(colon + 1)..];
        return port.Length == 0 ? "the port is missing; " + Forms : null;
    }

    /// <summary>Checks a host as written in an address (IPv6 in brackets); returns the bare host.</summary>
    private static string? CheckHost(string text, out string? host)
    {
        host = null;
        if (text.Length == 0)
        {
            return "the host is missing; " + Forms;
        }

        if (text.StartsWith('['))
        {
            string inner = text.Length >= 2 && text.EndsWith(']') ? text[1..^1] : "";
            if (!IPAddress.TryParse(inner, out IPAddress? v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return $"'{text}' is not an IPv6 address";
            }

            host = inner;
            return null;
        }

        if (text.All(c => char.IsAsciiDigit(c) || c == '.'))
        {
            // IPAddress.TryParse also takes shorthands such as "127.1"; an address that means something
            // other than it reads is not accepted.
            string[] parts = text.Split('.');
            bool dotted = parts.Length == 4 && parts.All(p =>
                p.Length is > 0 and <= 3 && (p.Length == 1 || p[0] != '0') && int.Parse(p, CultureInfo.InvariantCulture) <= 255);
            if (!dotted)
            {
                return $"'{text}' is not a dotted IPv4 address such as 127.0.0.1";
            }

            host = text;
            return null;
        }

        if (text.Length > 253)
        {
            return "the host name is longer than 253 characters";
        }

        foreach (string label in text.Split('.'))
        {
            if (label.Length is 0 or > 63)
            {
                return $"'{text}' is not a host name: every dot-separated label has 1 to 63 characters";
            }

            if (!label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') || label[0] == '-' || label[^1] == '-')
            {
                return $"'{text}' is not a host name: use letters, digits, '-' and '_' (IDNs in punycode)";
            }
        }

        host = text;
        return null;
    }

    private static string? CheckUnixPath(string path)
    {
        if (path.Length == 0)
        {
            return "the unix socket path is missing; " + Forms;
        }

        if (path[0] == '@')
        {
            return "abstract unix sockets are not supported; give an absolute path";
        }

        if (path[0] != '/')
        {
            return $"the unix socket path '{path}' is not absolute";
        }

        if (path.Any(char.IsControl))
        {
            return "the unix socket path contains a control character";
        }

        int bytes = Encoding.UTF8.GetByteCount(path);
        return bytes > MaxUnixPathBytes
            ? string.Create(CultureInfo.InvariantCulture, $"the unix socket path is {bytes} bytes long; the limit is {MaxUnixPathBytes}")
            : null;
    }

    private static string Printable(string? text)
    {
        if (text is null)
        {
            return "";
        }

        var builder = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (char.IsControl(c))
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
