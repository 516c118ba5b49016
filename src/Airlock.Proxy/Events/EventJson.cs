using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Airlock.Proxy.Events;

/// <summary>
/// The events v1 wire format: one <see cref="EgressEvent"/> as one line of JSON (NDJSON).
/// </summary>
/// <remarks>
/// Fields are written in a fixed order: <c>v, type, ts, session, id, conn, decision, reason, rule, mode,
/// would_deny, client, host, port, scheme, method, path, status, resolved_ip, tls, bytes_in, bytes_out,
/// duration_ms, detail</c>. <c>decision</c>, <c>reason</c> and <c>rule</c> are always present (null when
/// absent); the other nullable fields are omitted when null. Strings are escaped with
/// <see cref="JavaScriptEncoder.Default"/>: every control character, every non-ASCII character (line and
/// paragraph separators, bidi overrides, zero-width characters) and the HTML-sensitive characters
/// <c>&lt; &gt; &amp; ' + `</c> become <c>\uXXXX</c>, so a hostile host, path or detail can neither break the
/// line nor spoof text in a terminal. The cost is that <c>&amp;</c> in a query reads as <c>\u0026</c> to
/// <c>grep</c>; JSON readers (<c>jq</c>, the control plane) see the original text.
/// </remarks>
public static class EventJson
{
    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    // A ToJson buffer that grew past this is not kept for the thread's next call.
    private const int MaxCachedBufferBytes = 64 * 1024;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.Default };

    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
    };

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    /// <summary>Writes one NDJSON line: the event as a JSON object followed by <c>\n</c>.</summary>
    /// <param name="output">Where the UTF-8 bytes go.</param>
    /// <param name="egressEvent">The event (already redacted).</param>
    public static void Write(IBufferWriter<byte> output, EgressEvent egressEvent)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(egressEvent);
        WriteObject(output, egressEvent);
        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }

    /// <summary>The event as a JSON object, without the line's terminating <c>\n</c>.</summary>
    /// <param name="egressEvent">The event (already redacted).</param>
    public static string ToJson(EgressEvent egressEvent)
    {
        ArgumentNullException.ThrowIfNull(egressEvent);
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        WriteObject(buffer, egressEvent);
        var json = Encoding.UTF8.GetString(buffer.WrittenSpan);
        if (buffer.Capacity > MaxCachedBufferBytes)
        {
            t_buffer = null;
        }

        return json;
    }

    /// <summary>Parses one events v1 line (a trailing <c>\n</c> or <c>\r\n</c> is allowed).</summary>
    /// <param name="line">The UTF-8 bytes of one line.</param>
    /// <returns>The event. <see cref="EgressEvent.Ts"/> has millisecond precision, as on the wire.</returns>
    /// <exception cref="JsonException">
    /// The line is not one JSON object, a field has the wrong type or is repeated, a required field is missing,
    /// or <c>v</c> is not 1. Unknown fields are skipped, so later additive v1 fields do not break readers.
    /// </exception>
    public static EgressEvent Parse(ReadOnlySpan<byte> line) => EventJsonReader.Read(line, ReaderOptions);

    /// <summary>The wire name of an event type (lower case).</summary>
    /// <param name="type">The event type.</param>
    public static string TypeName(EgressEventType type) => type switch
    {
        EgressEventType.Connection => "connection",
        EgressEventType.Request => "request",
        EgressEventType.Close => "close",
        EgressEventType.Ask => "ask",
        EgressEventType.Policy => "policy",
        EgressEventType.Error => "error",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    private static void WriteObject(IBufferWriter<byte> output, EgressEvent e)
    {
        var json = t_writer;
        if (json is null)
        {
            json = new Utf8JsonWriter(output, WriterOptions);
            t_writer = json;
        }
        else
        {
            json.Reset(output);
        }

        json.WriteStartObject();
        json.WriteNumber("v"u8, e.V);
        json.WriteString("type"u8, TypeName(e.Type));
        Span<byte> ts = stackalloc byte[32];
        if (!e.Ts.UtcDateTime.TryFormat(ts, out var tsLength, TimestampFormat, CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("A timestamp did not fit its buffer.");
        }

        json.WriteString("ts"u8, ts[..tsLength]);
        json.WriteString("session"u8, e.Session);
        json.WriteString("id"u8, e.Id);
        json.WriteString("conn"u8, e.Conn);
        json.WriteString("decision"u8, e.Decision);
        json.WriteString("reason"u8, e.Reason);
        if (e.Rule is { } rule)
        {
            json.WriteStartObject("rule"u8);
            json.WriteNumber("index"u8, rule.Index);
            json.WriteString("kind"u8, rule.Kind);
            if (rule.Name is not null)
            {
                json.WriteString("name"u8, rule.Name);
            }

            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("rule"u8);
        }

        json.WriteString("mode"u8, e.Mode);
        json.WriteBoolean("would_deny"u8, e.WouldDeny);
        WriteOptional(json, "client"u8, e.Client);
        WriteOptional(json, "host"u8, e.Host);
        WriteOptional(json, "port"u8, e.Port);
        WriteOptional(json, "scheme"u8, e.Scheme);
        WriteOptional(json, "method"u8, e.Method);
        WriteOptional(json, "path"u8, e.Path);
        WriteOptional(json, "status"u8, e.Status);
        WriteOptional(json, "resolved_ip"u8, e.ResolvedIp);
        json.WriteString("tls"u8, e.Tls);
        WriteOptional(json, "bytes_in"u8, e.BytesIn);
        WriteOptional(json, "bytes_out"u8, e.BytesOut);
        WriteOptional(json, "duration_ms"u8, e.DurationMs);
        WriteOptional(json, "detail"u8, e.Detail);
        json.WriteEndObject();
        json.Flush();
    }

    private static void WriteOptional(Utf8JsonWriter json, ReadOnlySpan<byte> name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    private static void WriteOptional(Utf8JsonWriter json, ReadOnlySpan<byte> name, long? value)
    {
        if (value is { } number)
        {
            json.WriteNumber(name, number);
        }
    }
}
