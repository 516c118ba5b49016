using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Airlock.Proxy.Control;

/// <summary>The kinds of message the control plane sends that the proxy acts on.</summary>
internal enum PlaneMessageKind
{
    /// <summary>Not a valid message; <see cref="PlaneMessage.Error"/> says why. Logged and skipped.</summary>
    Malformed,

    /// <summary>A well-formed message of a type this proxy does not know. Logged and ignored.</summary>
    Unknown,

    /// <summary><c>policy.update</c>.</summary>
    PolicyUpdate,

    /// <summary><c>decision</c>.</summary>
    Decision,

    /// <summary><c>events.ack</c>: the plane has stored the first <see cref="PlaneMessage.Events"/> event lines of this connection.</summary>
    EventsAck,
}

/// <summary>One parsed line from the control plane.</summary>
/// <param name="Kind">What it is.</param>
/// <param name="Type">The <c>type</c> field, when there is one.</param>
/// <param name="Version">policy.update: the version.</param>
/// <param name="Policy">policy.update: the policy text; null when missing or not a string (then <paramref name="Error"/> says so).</param>
/// <param name="AskId">decision: the ask id.</param>
/// <param name="Answer">decision: allow or deny, and the scope.</param>
/// <param name="Error">Malformed: why; policy.update: what is wrong with the policy field.</param>
/// <param name="Events">events.ack: how many event lines of this connection are stored.</param>
internal readonly record struct PlaneMessage(
    PlaneMessageKind Kind,
    string? Type = null,
    string? Version = null,
    string? Policy = null,
    string? AskId = null,
    AskAnswer Answer = default,
    string? Error = null,
    long Events = 0)
{
    public static PlaneMessage Malformed(string error, string? type = null) => new(PlaneMessageKind.Malformed, type, Error: error);
}

/// <summary>The NDJSON wire format of the control channel (one UTF-8 JSON object a line, both ways).</summary>
internal static class ControlProtocol
{
    /// <summary>The longest line either side may send, without its <c>\n</c>: 1 MiB.</summary>
    public const int MaxLineBytes = 1024 * 1024;

    /// <summary>Versions are short identifiers; a longer one is a malformed message.</summary>
    public const int MaxVersionLength = 256;

    /// <summary>An ack carries at most this many errors…</summary>
    public const int MaxAckErrors = 100;

    /// <summary>…each cut to this many characters, so that an ack always fits in a line.</summary>
    public const int MaxAckErrorLength = 2000;

    /// <summary>Compact output; non-ASCII and quotes stay readable (the lines are never embedded in HTML).</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    /// <summary>
    /// Copies a pre-serialised event into a line of its own: one trailing <c>\n</c> is accepted and kept,
    /// any other <c>\n</c>, an empty line or one over <see cref="MaxLineBytes"/> is a bug in the caller.
    /// </summary>
    /// <exception cref="ArgumentException">The line cannot be framed.</exception>
    public static byte[] ToEventLine(ReadOnlySpan<byte> line)
    {
        if (!line.IsEmpty && line[^1] == (byte)'\n')
        {
            line = line[..^1];
        }

        if (line.IsEmpty)
        {
            throw new ArgumentException("An event line is empty.", nameof(line));
        }

        if (line.Length > MaxLineBytes)
        {
            throw new ArgumentException($"An event line is longer than {MaxLineBytes} bytes.", nameof(line));
        }

        if (line.Contains((byte)'\n'))
        {
            throw new ArgumentException("An event line contains a line feed; events are one JSON object a line.", nameof(line));
        }

        byte[] copy = new byte[line.Length + 1];
        line.CopyTo(copy);
        copy[^1] = (byte)'\n';
        return copy;
    }

    /// <summary><c>{"type":"hello","session":…,"proxy_version":…,"policy_version":…,"spool_overflow":N}</c> and a line feed.</summary>
    public static void WriteHello(IBufferWriter<byte> output, Utf8JsonWriter json, string session, string proxyVersion, string? policyVersion, long spoolOverflow)
    {
        json.Reset(output);
        json.WriteStartObject();
        json.WriteString("type"u8, "hello"u8);
        json.WriteString("session"u8, session);
        json.WriteString("proxy_version"u8, proxyVersion);
        json.WriteString("policy_version"u8, policyVersion);
        json.WriteNumber("spool_overflow"u8, spoolOverflow);
        json.WriteEndObject();
        EndLine(output, json);
    }

    /// <summary>An <c>ask</c> line.</summary>
    public static void WriteAsk(IBufferWriter<byte> output, Utf8JsonWriter json, AskRequest ask, string session, long timeoutMs)
    {
        json.Reset(output);
        json.WriteStartObject();
        json.WriteString("type"u8, "ask.request"u8);
        json.WriteString("ask_id"u8, ask.AskId);
        json.WriteString("session"u8, session);
        json.WriteString("conn"u8, ask.Conn);
        json.WriteString("host"u8, ask.Host);
        json.WriteNumber("port"u8, ask.Port);
        json.WriteStartObject("rule"u8);
        json.WriteNumber("index"u8, ask.Rule.Index);
        json.WriteString("kind"u8, ask.Rule.Kind);
        json.WriteString("name"u8, ask.Rule.Name);
        json.WriteEndObject();
        json.WriteNumber("timeout_ms"u8, timeoutMs);
        json.WriteEndObject();
        EndLine(output, json);
    }

    /// <summary>A <c>policy.ack</c> line, with at most <see cref="MaxAckErrors"/> errors of at most <see cref="MaxAckErrorLength"/> characters.</summary>
    public static byte[] SerializeAck(string version, PolicyUpdateResult result)
    {
        var output = new ArrayBufferWriter<byte>(256);
        using var json = new Utf8JsonWriter(output, WriterOptions);
        json.WriteStartObject();
        json.WriteString("type"u8, "policy.ack"u8);
        json.WriteString("version"u8, version);
        json.WriteBoolean("ok"u8, result.Ok);
        if (!result.Ok)
        {
            json.WriteStartArray("errors"u8);
            foreach (string error in result.Errors.Take(MaxAckErrors))
            {
                json.WriteStringValue(error.Length > MaxAckErrorLength ? string.Concat(error.AsSpan(0, MaxAckErrorLength - 1), "…") : error);
            }

            if (result.Errors.Count > MaxAckErrors)
            {
                json.WriteStringValue($"… and {result.Errors.Count - MaxAckErrors} more errors");
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
        EndLine(output, json);
        return output.WrittenSpan.ToArray();
    }

    /// <summary><c>{"type":"events.ack","events":N}</c> and a line feed: the first N event lines of this connection are stored.</summary>
    public static byte[] SerializeEventsAck(long events) =>
        System.Text.Encoding.UTF8.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{{\"type\":\"events.ack\",\"events\":{events}}}\n"));

    /// <summary>Parses one line from the control plane. Never throws on bad input.</summary>
    public static PlaneMessage Parse(ReadOnlySpan<byte> line)
    {
        string? type = null, version = null, policy = null, askId = null, decision = null, scope = null;
        string? policyError = null;
        long? events = null;
        try
        {
            var reader = new Utf8JsonReader(line, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return PlaneMessage.Malformed("a message must be a JSON object");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                reader.Read();
                if (name == "events")
                {
                    if (!seen.Add(name) || reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long count) || count < 0)
                    {
                        return PlaneMessage.Malformed("\"events\" must be a count, once", type);
                    }

                    events = count;
                    continue;
                }

                bool known = name is "type" or "version" or "policy" or "ask_id" or "decision" or "scope";
                if (!known)
                {
                    reader.Skip();
                    continue;
                }

                if (!seen.Add(name))
                {
                    return PlaneMessage.Malformed($"\"{name}\" appears twice", type);
                }

                if (reader.TokenType != JsonTokenType.String)
                {
                    if (name == "policy")
                    {
                        policyError = "\"policy\" must be a string holding the policy's YAML or JSON text";
                        reader.Skip();
                        continue;
                    }

                    return PlaneMessage.Malformed($"\"{name}\" must be a string", type);
                }

                string value = reader.GetString()!;
                switch (name)
                {
                    case "type": type = value; break;
                    case "version": version = value; break;
                    case "policy": policy = value; break;
                    case "ask_id": askId = value; break;
                    case "decision": decision = value; break;
                    default: scope = value; break;
                }
            }

            // Reading past the end of the object makes the reader reject anything that follows it.
            while (reader.Read())
            {
            }
        }
        catch (JsonException ex)
        {
            return PlaneMessage.Malformed("invalid JSON: " + ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            return PlaneMessage.Malformed("invalid string: " + ex.Message);
        }

        return type switch
        {
            null => PlaneMessage.Malformed("the message has no \"type\""),
            "policy.update" => PolicyUpdate(version, policy, policyError),
            "decision" => Decision(askId, decision, scope),
            "events.ack" => events is { } count
                ? new PlaneMessage(PlaneMessageKind.EventsAck, type, Events: count)
                : PlaneMessage.Malformed("events.ack needs \"events\": the count of stored event lines", type),
            _ => new PlaneMessage(PlaneMessageKind.Unknown, type),
        };
    }

    private static PlaneMessage PolicyUpdate(string? version, string? policy, string? policyError)
    {
        if (string.IsNullOrEmpty(version) || version.Length > MaxVersionLength || version.Any(char.IsControl))
        {
            return PlaneMessage.Malformed($"policy.update needs a \"version\" of 1 to {MaxVersionLength} printable characters", "policy.update");
        }

        policyError ??= policy is null ? "policy.update has no \"policy\" text" : null;
        return new PlaneMessage(PlaneMessageKind.PolicyUpdate, "policy.update", version, policyError is null ? policy : null, Error: policyError);
    }

    private static PlaneMessage Decision(string? askId, string? decision, string? scope)
    {
        if (string.IsNullOrEmpty(askId))
        {
            return PlaneMessage.Malformed("decision needs an \"ask_id\"", "decision");
        }

        AskOutcome? outcome = decision switch { "allow" => AskOutcome.Allow, "deny" => AskOutcome.Deny, _ => null };
        AskScope? reach = scope switch { null or "once" => AskScope.Once, "session" => AskScope.Session, _ => null };
        if (outcome is null || reach is null)
        {
            // Failing closed: a decision the proxy cannot read is no decision, and the ask times out as a deny.
            return PlaneMessage.Malformed("decision needs \"decision\": \"allow\" or \"deny\" and \"scope\": \"once\" or \"session\"", "decision");
        }

        return new PlaneMessage(PlaneMessageKind.Decision, "decision", AskId: askId, Answer: new AskAnswer(outcome.Value, reach.Value));
    }

    private static void EndLine(IBufferWriter<byte> output, Utf8JsonWriter json)
    {
        json.Flush();
        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }
}
