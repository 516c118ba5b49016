using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Airlock.Policy.Decisions;
using Airlock.Policy.Model;

namespace Airlock.Proxy.Denials;

/// <summary>
/// A readable refusal: HTTP 403 (or 4xx/5xx for faults) with a JSON body and <c>X-Airlock-Decision</c>, so an
/// agent can tell a policy block from an outage.
/// </summary>
/// <param name="Status">The HTTP status.</param>
/// <param name="Error">A one-line summary.</param>
/// <param name="Reason">The snake_case reason.</param>
/// <param name="Host">The destination host.</param>
/// <param name="Port">The destination port.</param>
/// <param name="Method">The request method, when there is a request.</param>
/// <param name="Path">The request path (already redacted), when there is a request.</param>
/// <param name="Rule">The deciding rule, if any.</param>
/// <param name="Hint">What to do about it.</param>
internal sealed record Denial(int Status, string Error, string Reason, string? Host, int? Port, string? Method, string? Path, EgressRule? Rule, string Hint)
{
    public const string DecisionHeader = "X-Airlock-Decision";
    public const string ReasonHeader = "X-Airlock-Reason";

    public static Denial ForDecision(EgressDecision decision, string? host, int? port, string? method, string? path) => new(
        403,
        $"airlock: egress to {host}:{port} denied ({decision.ReasonName})",
        decision.ReasonName,
        host,
        port,
        method,
        path,
        decision.Rule,
        DecisionReasons.Hint(decision.Reason));

    public static Denial ForReason(int status, DecisionReason reason, string? host, int? port, string? method, string? path, string? detail = null) => new(
        status,
        $"airlock: {DecisionReasons.Name(reason)}{(detail is null ? string.Empty : ": " + detail)}",
        DecisionReasons.Name(reason),
        host,
        port,
        method,
        path,
        null,
        DecisionReasons.Hint(reason));

    public static Denial ForFault(int status, string reason, string error, string? host, int? port, string? method, string? path, string hint) =>
        new(status, error, reason, host, port, method, path, null, hint);

    /// <summary>The <c>X-Airlock-Decision</c> value: <c>deny</c> for policy refusals, <c>error</c> for faults.</summary>
    public string DecisionValue => Status == 403 ? "deny" : "error";

    public byte[] JsonBody()
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("error", Error);
            json.WriteString("reason", Reason);
            json.WriteString("host", Host);
            if (Port is { } port)
            {
                json.WriteNumber("port", port);
            }
            else
            {
                json.WriteNull("port");
            }

            json.WriteString("method", Method);
            json.WriteString("path", Path);
            if (Rule is { } rule)
            {
                json.WriteStartObject("rule");
                json.WriteNumber("index", rule.Index);
                json.WriteString("kind", rule.KindName);
                json.WriteString("name", rule.Name);
                json.WriteEndObject();
            }
            else
            {
                json.WriteNull("rule");
            }

            json.WriteString("hint", Hint);
            json.WriteEndObject();
        }

        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A complete HTTP/1.1 response for places where Kestrel is not in charge (CONNECT, transparent).</summary>
    public byte[] RawHttpResponse()
    {
        var body = JsonBody();
        var head = string.Create(
            CultureInfo.InvariantCulture,
            $"HTTP/1.1 {Status} {ReasonPhrase(Status)}\r\nContent-Type: application/json\r\n{DecisionHeader}: {DecisionValue}\r\n{ReasonHeader}: {Reason}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        return [.. Encoding.ASCII.GetBytes(head), .. body];
    }

    private static string ReasonPhrase(int status) => status switch
    {
        400 => "Bad Request",
        403 => "Forbidden",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    };
}
