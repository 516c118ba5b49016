namespace Airlock.Proxy.Tests.Infrastructure;

/// <summary>How a request the <see cref="FakeOrigin"/> received ended.</summary>
public enum OriginRequestEnd
{
    /// <summary>The route finished and the connection was still up.</summary>
    Completed,

    /// <summary>The client (or the route, as in <c>/reset</c>) aborted the request or its connection.</summary>
    Aborted,

    /// <summary>The route threw.</summary>
    Failed,
}

/// <summary>
/// One request as it reached the <see cref="FakeOrigin"/>: what a proxy actually forwarded upstream.
/// Recorded after the request body was read and before the route ran, so it is visible before any
/// response byte leaves the origin. Immutable except for <see cref="Ended"/>, which completes later.
/// </summary>
public sealed class OriginRequest
{
    internal OriginRequest(
        long sequence,
        string connectionId,
        string scheme,
        int localPort,
        string protocol,
        string method,
        string rawTarget,
        string path,
        string query,
        string? host,
        string? sni,
        IReadOnlyDictionary<string, string[]> headers,
        long bodyLength,
        string bodySha256,
        Task<OriginRequestEnd> ended)
    {
        Sequence = sequence;
        ConnectionId = connectionId;
        Scheme = scheme;
        LocalPort = localPort;
        Protocol = protocol;
        Method = method;
        RawTarget = rawTarget;
        Path = path;
        Query = query;
        Host = host;
        Sni = sni;
        Headers = headers;
        BodyLength = bodyLength;
        BodySha256 = bodySha256;
        Ended = ended;
    }

    /// <summary>Arrival order, from 1, per origin.</summary>
    public long Sequence { get; }

    /// <summary>Kestrel's connection id: equal for requests that shared a connection.</summary>
    public string ConnectionId { get; }

    /// <summary><c>https</c> or <c>http</c>: which port it arrived on.</summary>
    public string Scheme { get; }

    /// <summary>The origin port it arrived on.</summary>
    public int LocalPort { get; }

    /// <summary><c>HTTP/1.1</c>, <c>HTTP/2</c> or <c>HTTP/1.0</c>.</summary>
    public string Protocol { get; }

    /// <summary>The request method, as received.</summary>
    public string Method { get; }

    /// <summary>The request-target exactly as received (origin-form, or absolute-form if a proxy forwarded one).</summary>
    public string RawTarget { get; }

    /// <summary>The decoded path.</summary>
    public string Path { get; }

    /// <summary>The query string with its leading <c>?</c>, or empty.</summary>
    public string Query { get; }

    /// <summary>Path and query.</summary>
    public string PathAndQuery => Path + Query;

    /// <summary>The Host header (HTTP/2: <c>:authority</c>), or null when absent.</summary>
    public string? Host { get; }

    /// <summary>The TLS server name the client sent, or null (plain HTTP, or no SNI as when connecting by IP).</summary>
    public string? Sni { get; }

    /// <summary>Request headers, names case-insensitive, values as received (repeated fields in order).</summary>
    public IReadOnlyDictionary<string, string[]> Headers { get; }

    /// <summary>Bytes of request body received (after de-chunking).</summary>
    public long BodyLength { get; }

    /// <summary>Lower-case hex SHA-256 of the request body, to check uploads arrive intact.</summary>
    public string BodySha256 { get; }

    /// <summary>Completes when the route is done with the request.</summary>
    public Task<OriginRequestEnd> Ended { get; }

    /// <summary>The header's values joined with <c>", "</c>, or null when absent.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var values) ? string.Join(", ", values) : null;

    /// <summary>True when the header was received, even empty.</summary>
    public bool HasHeader(string name) => Headers.ContainsKey(name);

    /// <inheritdoc />
    public override string ToString() => $"#{Sequence} {Method} {RawTarget} {Protocol} {Scheme} host={Host} sni={Sni} body={BodyLength}";
}
