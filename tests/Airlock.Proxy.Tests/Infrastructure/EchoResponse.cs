using System.Text.Json;
using System.Text.Json.Serialization;

namespace Airlock.Proxy.Tests.Infrastructure;

/// <summary>The JSON body of <c>/echo</c> and the catch-all route: the request as the origin saw it.</summary>
public sealed record EchoResponse
{
    /// <summary>The request method.</summary>
    public required string Method { get; init; }

    /// <summary>The decoded path.</summary>
    public required string Path { get; init; }

    /// <summary>The query string with its leading <c>?</c>, or empty.</summary>
    public required string Query { get; init; }

    /// <summary>The request-target as received.</summary>
    public required string RawTarget { get; init; }

    /// <summary><c>HTTP/1.1</c> or <c>HTTP/2</c>.</summary>
    public required string Protocol { get; init; }

    /// <summary><c>https</c> or <c>http</c>.</summary>
    public required string Scheme { get; init; }

    /// <summary>The Host header or <c>:authority</c>.</summary>
    public string? Host { get; init; }

    /// <summary>The TLS SNI, if any.</summary>
    public string? Sni { get; init; }

    /// <summary>Request headers, as received.</summary>
    public required Dictionary<string, string[]> Headers { get; init; }

    /// <summary>Request body bytes received.</summary>
    public required long BodyLength { get; init; }

    /// <summary>Hex SHA-256 of the request body.</summary>
    public required string BodySha256 { get; init; }

    /// <summary>The header's values joined with <c>", "</c> (name case-insensitive), or null when absent.</summary>
    public string? Header(string name)
    {
        foreach (var (key, values) in Headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return string.Join(", ", values);
            }
        }

        return null;
    }

    internal static EchoResponse From(OriginRequest request) => new()
    {
        Method = request.Method,
        Path = request.Path,
        Query = request.Query,
        RawTarget = request.RawTarget,
        Protocol = request.Protocol,
        Scheme = request.Scheme,
        Host = request.Host,
        Sni = request.Sni,
        Headers = new Dictionary<string, string[]>(request.Headers, StringComparer.OrdinalIgnoreCase),
        BodyLength = request.BodyLength,
        BodySha256 = request.BodySha256,
    };
}

/// <summary>Source-generated JSON for the origin's bodies (camelCase); tests deserialize with it too.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(EchoResponse))]
[JsonSerializable(typeof(Dictionary<string, string[]>))]
public sealed partial class FakeOriginJson : JsonSerializerContext;
