using System.Text.Json;

namespace Airlock.Proxy.Events;

/// <summary>Reads one events v1 line back into an <see cref="EgressEvent"/> (see <see cref="EventJson.Parse"/>).</summary>
internal static class EventJsonReader
{
    // One bit per known field: repeated fields are refused, required ones checked at the end.
    [Flags]
    private enum Field
    {
        None = 0,
        V = 1 << 0,
        Type = 1 << 1,
        Ts = 1 << 2,
        Session = 1 << 3,
        Id = 1 << 4,
        Conn = 1 << 5,
        Decision = 1 << 6,
        Reason = 1 << 7,
        Rule = 1 << 8,
        Mode = 1 << 9,
        WouldDeny = 1 << 10,
        Client = 1 << 11,
        Host = 1 << 12,
        Port = 1 << 13,
        Scheme = 1 << 14,
        Method = 1 << 15,
        Path = 1 << 16,
        Status = 1 << 17,
        ResolvedIp = 1 << 18,
        Tls = 1 << 19,
        BytesIn = 1 << 20,
        BytesOut = 1 << 21,
        DurationMs = 1 << 22,
        Detail = 1 << 23,
    }

    private static readonly (Field Field, string Name)[] Required =
    [
        (Field.V, "v"), (Field.Type, "type"), (Field.Ts, "ts"), (Field.Session, "session"), (Field.Id, "id"),
        (Field.Conn, "conn"), (Field.Decision, "decision"), (Field.Reason, "reason"), (Field.Rule, "rule"),
        (Field.Mode, "mode"), (Field.WouldDeny, "would_deny"), (Field.Tls, "tls"),
    ];

    public static EgressEvent Read(ReadOnlySpan<byte> line, JsonReaderOptions options)
    {
        var reader = new Utf8JsonReader(line, options);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("An event line must be one JSON object.");
        }

        var seen = Field.None;
        EgressEventType type = default;
        DateTimeOffset ts = default;
        string? session = null, id = null, conn = null, decision = null, reason = null, mode = null, tls = null;
        string? client = null, host = null, scheme = null, method = null, path = null, resolvedIp = null, detail = null;
        EventRule? rule = null;
        var wouldDeny = false;
        int? port = null, status = null;
        long? bytesIn = null, bytesOut = null, durationMs = null;

        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }

            var name = reader.GetString()!;
            Next(ref reader);
            var field = name switch
            {
                "v" => Field.V,
                "type" => Field.Type,
                "ts" => Field.Ts,
                "session" => Field.Session,
                "id" => Field.Id,
                "conn" => Field.Conn,
                "decision" => Field.Decision,
                "reason" => Field.Reason,
                "rule" => Field.Rule,
                "mode" => Field.Mode,
                "would_deny" => Field.WouldDeny,
                "client" => Field.Client,
                "host" => Field.Host,
                "port" => Field.Port,
                "scheme" => Field.Scheme,
                "method" => Field.Method,
                "path" => Field.Path,
                "status" => Field.Status,
                "resolved_ip" => Field.ResolvedIp,
                "tls" => Field.Tls,
                "bytes_in" => Field.BytesIn,
                "bytes_out" => Field.BytesOut,
                "duration_ms" => Field.DurationMs,
                "detail" => Field.Detail,
                _ => Field.None,
            };

            if (field == Field.None)
            {
                reader.Skip();
                continue;
            }

            if ((seen & field) != 0)
            {
                throw new JsonException($"Field '{name}' appears twice.");
            }

            seen |= field;
            switch (field)
            {
                case Field.V:
                    if (ReadInt32(ref reader, name) != 1)
                    {
                        throw new JsonException("Unsupported events version; only v 1 is known.");
                    }

                    break;
                case Field.Type: type = ReadType(ref reader); break;
                case Field.Ts: ts = ReadTimestamp(ref reader); break;
                case Field.Session: session = ReadString(ref reader, name); break;
                case Field.Id: id = ReadString(ref reader, name); break;
                case Field.Conn: conn = ReadString(ref reader, name); break;
                case Field.Decision: decision = ReadNullableString(ref reader, name); break;
                case Field.Reason: reason = ReadNullableString(ref reader, name); break;
                case Field.Rule: rule = ReadRule(ref reader); break;
                case Field.Mode: mode = ReadString(ref reader, name); break;
                case Field.WouldDeny: wouldDeny = ReadBoolean(ref reader, name); break;
                case Field.Client: client = ReadNullableString(ref reader, name); break;
                case Field.Host: host = ReadNullableString(ref reader, name); break;
                case Field.Port: port = ReadNullableInt32(ref reader, name); break;
                case Field.Scheme: scheme = ReadNullableString(ref reader, name); break;
                case Field.Method: method = ReadNullableString(ref reader, name); break;
                case Field.Path: path = ReadNullableString(ref reader, name); break;
                case Field.Status: status = ReadNullableInt32(ref reader, name); break;
                case Field.ResolvedIp: resolvedIp = ReadNullableString(ref reader, name); break;
                case Field.Tls: tls = ReadString(ref reader, name); break;
                case Field.BytesIn: bytesIn = ReadNullableInt64(ref reader, name); break;
                case Field.BytesOut: bytesOut = ReadNullableInt64(ref reader, name); break;
                case Field.DurationMs: durationMs = ReadNullableInt64(ref reader, name); break;
                case Field.Detail: detail = ReadNullableString(ref reader, name); break;
                default: throw new InvalidOperationException($"Field {field} has no reader.");
            }
        }

        // Anything but whitespace after the object makes the reader throw here.
        if (reader.Read())
        {
            throw new JsonException("An event line must hold exactly one JSON object.");
        }

        foreach (var (field, fieldName) in Required)
        {
            if ((seen & field) == 0)
            {
                throw new JsonException($"Required field '{fieldName}' is missing.");
            }
        }

        return new EgressEvent
        {
            Type = type,
            Ts = ts,
            Session = session!,
            Id = id!,
            Conn = conn!,
            Decision = decision,
            Reason = reason,
            Rule = rule,
            Mode = mode!,
            WouldDeny = wouldDeny,
            Client = client,
            Host = host,
            Port = port,
            Scheme = scheme,
            Method = method,
            Path = path,
            Status = status,
            ResolvedIp = resolvedIp,
            Tls = tls!,
            BytesIn = bytesIn,
            BytesOut = bytesOut,
            DurationMs = durationMs,
            Detail = detail,
        };
    }

    private static void Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("The event line ends inside the object.");
        }
    }

    private static EgressEventType ReadType(ref Utf8JsonReader reader) => ReadString(ref reader, "type") switch
    {
        "connection" => EgressEventType.Connection,
        "request" => EgressEventType.Request,
        "close" => EgressEventType.Close,
        "ask" => EgressEventType.Ask,
        "policy" => EgressEventType.Policy,
        "error" => EgressEventType.Error,
        var other => throw new JsonException($"Unknown event type '{other}'."),
    };

    private static DateTimeOffset ReadTimestamp(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String || !reader.TryGetDateTimeOffset(out var ts))
        {
            throw new JsonException("Field 'ts' must be an RFC 3339 timestamp.");
        }

        return ts;
    }

    private static EventRule? ReadRule(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("Field 'rule' must be an object or null.");
        }

        int? index = null;
        string? kind = null, name = null;
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }

            var member = reader.GetString()!;
            Next(ref reader);
            switch (member)
            {
                case "index" when index is null: index = ReadInt32(ref reader, "rule.index"); break;
                case "kind" when kind is null: kind = ReadString(ref reader, "rule.kind"); break;
                case "name" when name is null: name = ReadNullableString(ref reader, "rule.name"); break;
                case "index" or "kind" or "name": throw new JsonException($"Field 'rule.{member}' appears twice.");
                default: reader.Skip(); break;
            }
        }

        if (index is null || kind is null)
        {
            throw new JsonException("Field 'rule' needs 'index' and 'kind'.");
        }

        return new EventRule(index.Value, kind, name);
    }

    private static string ReadString(ref Utf8JsonReader reader, string name) =>
        reader.TokenType == JsonTokenType.String
            ? reader.GetString()!
            : throw new JsonException($"Field '{name}' must be a string.");

    private static string? ReadNullableString(ref Utf8JsonReader reader, string name) =>
        reader.TokenType == JsonTokenType.Null ? null : ReadString(ref reader, name);

    private static bool ReadBoolean(ref Utf8JsonReader reader, string name) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw new JsonException($"Field '{name}' must be true or false."),
    };

    private static int ReadInt32(ref Utf8JsonReader reader, string name) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value)
            ? value
            : throw new JsonException($"Field '{name}' must be a 32-bit integer.");

    private static int? ReadNullableInt32(ref Utf8JsonReader reader, string name) =>
        reader.TokenType == JsonTokenType.Null ? null : ReadInt32(ref reader, name);

    private static long? ReadNullableInt64(ref Utf8JsonReader reader, string name) =>
        reader.TokenType == JsonTokenType.Null
            ? null
            : reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value)
                ? value
                : throw new JsonException($"Field '{name}' must be a 64-bit integer.");
}
