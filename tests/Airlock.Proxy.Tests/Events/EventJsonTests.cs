using System.Buffers;
using System.Text;
using System.Text.Json;
using Airlock.Proxy.Events;

namespace Airlock.Proxy.Tests.Events;

public class EventJsonTests
{
    private const string FullLine =
        """{"v":1,"type":"request","ts":"2026-11-23T12:00:00.123Z","session":"ses_1","id":"evt_1","conn":"conn_1","decision":"allow","reason":"allowed_by_rule","rule":{"index":2,"kind":"allow","name":"github"},"mode":"enforce","would_deny":false,"client":"127.0.0.1:50312","host":"api.github.com","port":443,"scheme":"https","method":"GET","path":"/repos/o/r","status":200,"resolved_ip":"140.82.112.6","tls":"inspect","bytes_in":10,"bytes_out":20,"duration_ms":5,"detail":"ok"}""";

    private const string CloseLine =
        """{"v":1,"type":"close","ts":"2026-11-23T12:00:00.123Z","session":"ses_1","id":"evt_2","conn":"conn_1","decision":null,"reason":null,"rule":null,"mode":"audit","would_deny":false,"tls":"passthrough","bytes_in":0,"bytes_out":1234567890123}""";

    [Fact]
    public void Writes_every_field_in_order_with_snake_case_names()
    {
        Assert.Equal(FullLine, EventJson.ToJson(SampleEvents.Full()));
    }

    [Fact]
    public void Writes_decision_reason_and_rule_as_null_and_omits_other_null_fields()
    {
        Assert.Equal(CloseLine, EventJson.ToJson(SampleEvents.Close()));
    }

    [Fact]
    public void Omits_the_rule_name_when_absent_and_writes_audit_fields()
    {
        var e = SampleEvents.Full() with { Rule = new EventRule(0, "deny", null), WouldDeny = true, Mode = "audit" };

        var json = EventJson.ToJson(e);

        Assert.Contains("\"rule\":{\"index\":0,\"kind\":\"deny\"},\"mode\":\"audit\",\"would_deny\":true,", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_appends_exactly_one_line_feed()
    {
        var buffer = new ArrayBufferWriter<byte>();

        EventJson.Write(buffer, SampleEvents.Full());
        EventJson.Write(buffer, SampleEvents.Close());

        Assert.Equal(FullLine + "\n" + CloseLine + "\n", Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Theory]
    [InlineData(EgressEventType.Connection, "connection")]
    [InlineData(EgressEventType.Request, "request")]
    [InlineData(EgressEventType.Close, "close")]
    [InlineData(EgressEventType.Ask, "ask")]
    [InlineData(EgressEventType.Policy, "policy")]
    [InlineData(EgressEventType.Error, "error")]
    public void Writes_the_type_in_lower_case_and_reads_it_back(EgressEventType type, string name)
    {
        var json = EventJson.ToJson(SampleEvents.Close() with { Type = type });

        Assert.Contains($"\"type\":\"{name}\"", json, StringComparison.Ordinal);
        Assert.Equal(type, EventJson.Parse(Encoding.UTF8.GetBytes(json)).Type);
    }

    [Theory]
    [InlineData(0, "2026-11-23T12:00:00.000Z")]
    [InlineData(7, "2026-11-23T12:00:00.007Z")]
    [InlineData(999, "2026-11-23T12:00:00.999Z")]
    public void Writes_ts_in_utc_with_exactly_three_fraction_digits(int milliseconds, string expected)
    {
        var ts = new DateTimeOffset(2026, 11, 23, 12, 0, 0, milliseconds, TimeSpan.Zero);

        Assert.Equal(expected, TimestampOf(SampleEvents.Close() with { Ts = ts }));
    }

    [Fact]
    public void Converts_ts_to_utc_and_truncates_below_a_millisecond()
    {
        var ts = new DateTimeOffset(2026, 11, 24, 1, 30, 0, 456, TimeSpan.FromHours(13.5)).AddTicks(9_999);

        Assert.Equal("2026-11-23T12:00:00.456Z", TimestampOf(SampleEvents.Close() with { Ts = ts }));
    }

    [Fact]
    public void Parse_round_trips_a_full_event()
    {
        var e = SampleEvents.Full();

        Assert.Equal(e, EventJson.Parse(Encoding.UTF8.GetBytes(FullLine)));
    }

    [Fact]
    public void Parse_round_trips_a_close_event_and_accepts_the_line_end()
    {
        var bytes = Encoding.UTF8.GetBytes(CloseLine + "\r\n");

        Assert.Equal(SampleEvents.Close(), EventJson.Parse(bytes));
    }

    [Fact]
    public void Parse_reads_fields_in_any_order_and_skips_unknown_ones()
    {
        const string line = """{"tls":"none","future":{"a":[1,2,{"b":null}]},"mode":"enforce","would_deny":true,"rule":{"kind":"ask","index":4,"extra":1},"reason":"ask_pending","decision":"pending","conn":"c","id":"i","session":"s","ts":"2026-11-23T12:00:00.123+01:00","type":"ask","v":1}""";

        var e = EventJson.Parse(Encoding.UTF8.GetBytes(line));

        Assert.Equal(EgressEventType.Ask, e.Type);
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 11, 0, 0, 123, TimeSpan.Zero), e.Ts);
        Assert.Equal(new EventRule(4, "ask", null), e.Rule);
        Assert.True(e.WouldDeny);
        Assert.Equal("pending", e.Decision);
        Assert.Null(e.Host);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("{")]
    [InlineData("{} {}")]
    [InlineData("""{"v":1}""")]
    [InlineData("""{"v":1,"v":1}""")]
    [InlineData("""{"v":2,"type":"close","ts":"2026-11-23T12:00:00.123Z","session":"s","id":"i","conn":"c","decision":null,"reason":null,"rule":null,"mode":"enforce","would_deny":false,"tls":"none"}""")]
    [InlineData("""{"v":1,"type":"Close","ts":"2026-11-23T12:00:00.123Z","session":"s","id":"i","conn":"c","decision":null,"reason":null,"rule":null,"mode":"enforce","would_deny":false,"tls":"none"}""")]
    [InlineData("""{"v":1,"type":"close","ts":"yesterday","session":"s","id":"i","conn":"c","decision":null,"reason":null,"rule":null,"mode":"enforce","would_deny":false,"tls":"none"}""")]
    [InlineData("""{"v":1,"type":"close","ts":"2026-11-23T12:00:00.123Z","session":null,"id":"i","conn":"c","decision":null,"reason":null,"rule":null,"mode":"enforce","would_deny":false,"tls":"none"}""")]
    [InlineData("""{"v":1,"type":"close","ts":"2026-11-23T12:00:00.123Z","session":"s","id":"i","conn":"c","reason":null,"rule":null,"mode":"enforce","would_deny":false,"tls":"none"}""")]
    [InlineData("""{"v":1,"type":"close","ts":"2026-11-23T12:00:00.123Z","session":"s","id":"i","conn":"c","decision":null,"reason":null,"mode":"enforce","would_deny":false,"tls":"none"}""")]
    [InlineData("""{"v":1,"type":"close","ts":"2026-11-23T12:00:00.123Z","session":"s","id":"i","conn":"c","decision":null,"reason":null,"rule":{"index":1},"mode":"enforce","would_deny":false,"tls":"none"}""")]
    [InlineData("""{"v":1,"type":"close","ts":"2026-11-23T12:00:00.123Z","session":"s","id":"i","conn":"c","decision":null,"reason":null,"rule":null,"mode":"enforce","would_deny":"no","tls":"none"}""")]
    [InlineData("""{"v":1,"type":"close","ts":"2026-11-23T12:00:00.123Z","session":"s","id":"i","conn":"c","decision":null,"reason":null,"rule":null,"mode":"enforce","would_deny":false,"tls":"none","port":"443"}""")]
    [InlineData("""{"v":1,"type":"close","ts":"2026-11-23T12:00:00.123Z","session":"s","id":"i","conn":"c","decision":null,"reason":null,"rule":null,"mode":"enforce","would_deny":false,"tls":"none","bytes_in":1.5}""")]
    [InlineData("""{"v":1,"type":"close","ts":"2026-11-23T12:00:00.123Z","session":"s","id":"i","conn":"c","decision":null,"reason":null,"rule":null,"mode":"enforce","would_deny":false,"tls":"none"} x""")]
    [InlineData("""{"v":1,"type":"close","ts":"2026-11-23T12:00:00.123Z","session":"s","id":"i","conn":"c","decision":null,"reason":null,"rule":null,"mode":"enforce","would_deny":false,"tls":"none",}""")]
    public void Parse_refuses_what_is_not_one_valid_v1_event(string line)
    {
        Assert.ThrowsAny<JsonException>(() => EventJson.Parse(Encoding.UTF8.GetBytes(line)));
    }

    [Theory]
    [InlineData("evil.com\n{\"v\":1,\"type\":\"request\",\"decision\":\"allow\"}")]
    [InlineData("a\r\nb")]
    [InlineData("quote\" \\ backslash")]
    [InlineData("line\u2028separator\u2029paragraph\u0085next")]
    [InlineData("bidi\u202Eoverride\u200Bzero-width\uFEFFbom")]
    [InlineData("nul\0del\u007Fesc\u001B[31m")]
    [InlineData("html <script>&'+`")]
    [InlineData("emoji \U0001F600 é")]
    public void Hostile_text_stays_on_one_printable_ascii_line_and_reads_back_unchanged(string hostile)
    {
        var e = SampleEvents.Full() with { Host = hostile, Path = "/" + hostile, Detail = hostile, Method = hostile };
        var buffer = new ArrayBufferWriter<byte>();

        EventJson.Write(buffer, e);

        var bytes = buffer.WrittenSpan;
        Assert.Equal(bytes.Length - 1, bytes.IndexOf((byte)'\n'));
        Assert.All(bytes[..^1].ToArray(), b => Assert.InRange(b, (byte)0x20, (byte)0x7E));
        Assert.Equal(e, EventJson.Parse(bytes));
    }

    [Fact]
    public void A_lone_surrogate_becomes_the_replacement_character()
    {
        var e = SampleEvents.Full() with { Path = "/a\uD800b" };

        var parsed = EventJson.Parse(Encoding.UTF8.GetBytes(EventJson.ToJson(e)));

        Assert.Equal("/a\uFFFDb", parsed.Path);
    }

    [Fact]
    public void Query_separators_are_escaped_as_unicode()
    {
        var json = EventJson.ToJson(SampleEvents.Full() with { Path = "/search?q=a+b&page=2" });

        Assert.Contains("\"path\":\"/search?q=a\\u002Bb\\u0026page=2\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Serialises_consistently_from_many_threads()
    {
        var results = new string[2_000];

        Parallel.For(0, results.Length, i => results[i] = EventJson.ToJson(SampleEvents.Numbered(i)));

        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(SampleEvents.Numbered(i), EventJson.Parse(Encoding.UTF8.GetBytes(results[i])));
        }
    }

    [Fact]
    public void A_large_event_does_not_break_later_ones()
    {
        var large = SampleEvents.Full() with { Detail = new string('x', 200_000) };

        Assert.Equal(large, EventJson.Parse(Encoding.UTF8.GetBytes(EventJson.ToJson(large))));
        Assert.Equal(FullLine, EventJson.ToJson(SampleEvents.Full()));
    }

    private static string TimestampOf(EgressEvent e)
    {
        using var document = JsonDocument.Parse(EventJson.ToJson(e));
        return document.RootElement.GetProperty("ts").GetString()!;
    }
}
