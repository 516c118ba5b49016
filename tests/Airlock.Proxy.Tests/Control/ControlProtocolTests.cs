using System.Buffers;
using System.Text;
using System.Text.Json;
using Airlock.Proxy.Control;

namespace Airlock.Proxy.Tests.Control;

public class ControlProtocolTests
{
    public static TheoryData<string, string> Malformed() => new()
    {
        // line, a fragment of the reason
        { "not json", "invalid JSON" },
        { "{\"type\":", "invalid JSON" },
        { "{\"type\":\"decision\"} trailing", "invalid JSON" },
        { "{\"type\":\"decision\"}{}", "invalid JSON" },
        { "[1,2]", "must be a JSON object" },
        { "\"hello\"", "must be a JSON object" },
        { "{}", "no \"type\"" },
        { "{\"kind\":\"decision\"}", "no \"type\"" },
        { "{\"type\":7}", "\"type\" must be a string" },
        { "{\"type\":\"decision\",\"type\":\"policy.update\"}", "appears twice" },
        { "{\"type\":\"decision\",\"decision\":\"allow\"}", "needs an \"ask_id\"" },
        { "{\"type\":\"decision\",\"ask_id\":\"a\"}", "\"allow\" or \"deny\"" },
        { "{\"type\":\"decision\",\"ask_id\":\"a\",\"decision\":\"maybe\"}", "\"allow\" or \"deny\"" },
        { "{\"type\":\"decision\",\"ask_id\":\"a\",\"decision\":\"ALLOW\"}", "\"allow\" or \"deny\"" },
        { "{\"type\":\"decision\",\"ask_id\":\"a\",\"decision\":\"allow\",\"scope\":\"forever\"}", "\"once\" or \"session\"" },
        { "{\"type\":\"decision\",\"ask_id\":\"a\",\"decision\":\"allow\",\"scope\":null}", "\"scope\" must be a string" },
        { "{\"type\":\"decision\",\"ask_id\":1,\"decision\":\"allow\"}", "\"ask_id\" must be a string" },
        { "{\"type\":\"policy.update\",\"policy\":\"x\"}", "needs a \"version\"" },
        { "{\"type\":\"events.ack\"}", "needs \"events\"" },
        { "{\"type\":\"events.ack\",\"events\":-1}", "\"events\" must be a count" },
        { "{\"type\":\"events.ack\",\"events\":\"3\"}", "\"events\" must be a count" },
        { "{\"type\":\"events.ack\",\"events\":1.5}", "\"events\" must be a count" },
        { "{\"type\":\"policy.update\",\"version\":\"\",\"policy\":\"x\"}", "needs a \"version\"" },
        { "{\"type\":\"policy.update\",\"version\":\"v\\n1\",\"policy\":\"x\"}", "needs a \"version\"" },
        { "{\"type\":\"policy.update\",\"version\":\"" + new string('v', 257) + "\",\"policy\":\"x\"}", "needs a \"version\"" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_lines_say_why(string line, string fragment)
    {
        PlaneMessage message = ControlProtocol.Parse(Encoding.UTF8.GetBytes(line));
        Assert.Equal(PlaneMessageKind.Malformed, message.Kind);
        Assert.Contains(fragment, message.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_events_ack_carries_its_count_and_round_trips()
    {
        PlaneMessage message = ControlProtocol.Parse(ControlProtocol.SerializeEventsAck(12345));

        Assert.Equal((PlaneMessageKind.EventsAck, 12345L), (message.Kind, message.Events));
    }

    [Fact]
    public void Invalid_utf8_is_malformed_not_an_exception()
    {
        byte[] line = [.. "{\"type\":\"decision\",\"ask_id\":\""u8, 0xC3, 0x28, .. "\"}"u8];
        Assert.Equal(PlaneMessageKind.Malformed, ControlProtocol.Parse(line).Kind);
    }

    [Theory]
    [InlineData("{\"type\":\"decision\",\"ask_id\":\"a1\",\"decision\":\"allow\",\"scope\":\"once\"}", AskOutcome.Allow, AskScope.Once)]
    [InlineData("{\"type\":\"decision\",\"ask_id\":\"a1\",\"decision\":\"deny\",\"scope\":\"session\"}", AskOutcome.Deny, AskScope.Session)]
    [InlineData("{\"scope\":\"session\",\"decision\":\"allow\",\"ask_id\":\"a1\",\"type\":\"decision\",\"extra\":{\"nested\":[1,2]}}", AskOutcome.Allow, AskScope.Session)]
    [InlineData("{\"type\":\"decision\",\"ask_id\":\"a1\",\"decision\":\"deny\"}", AskOutcome.Deny, AskScope.Once)]
    public void Decisions_parse(string line, AskOutcome outcome, AskScope scope)
    {
        PlaneMessage message = ControlProtocol.Parse(Encoding.UTF8.GetBytes(line));
        Assert.Equal(PlaneMessageKind.Decision, message.Kind);
        Assert.Equal("a1", message.AskId);
        Assert.Equal(new AskAnswer(outcome, scope), message.Answer);
    }

    [Fact]
    public void Policy_updates_parse_with_the_text_unescaped()
    {
        PlaneMessage message = ControlProtocol.Parse("{\"type\":\"policy.update\",\"version\":\"v7\",\"policy\":\"version: 1\\negress:\\n  - allow: \\\"a.example\\\"\\n\"}"u8);
        Assert.Equal(PlaneMessageKind.PolicyUpdate, message.Kind);
        Assert.Equal("v7", message.Version);
        Assert.Equal("version: 1\negress:\n  - allow: \"a.example\"\n", message.Policy);
        Assert.Null(message.Error);
    }

    [Theory]
    [InlineData("{\"type\":\"policy.update\",\"version\":\"v7\"}", "has no \"policy\"")]
    [InlineData("{\"type\":\"policy.update\",\"version\":\"v7\",\"policy\":{\"version\":1}}", "must be a string")]
    public void A_policy_update_without_policy_text_keeps_its_version_so_it_can_be_refused(string line, string fragment)
    {
        PlaneMessage message = ControlProtocol.Parse(Encoding.UTF8.GetBytes(line));
        Assert.Equal(PlaneMessageKind.PolicyUpdate, message.Kind);
        Assert.Equal("v7", message.Version);
        Assert.Null(message.Policy);
        Assert.Contains(fragment, message.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_types_are_recognised_as_such()
    {
        PlaneMessage message = ControlProtocol.Parse("{\"type\":\"session.end\",\"whatever\":[{}]}"u8);
        Assert.Equal(PlaneMessageKind.Unknown, message.Kind);
        Assert.Equal("session.end", message.Type);
    }

    [Fact]
    public void Hello_ask_and_acks_are_single_lines_of_the_documented_shape()
    {
        var output = new ArrayBufferWriter<byte>();
        using var json = new Utf8JsonWriter(output, ControlProtocol.WriterOptions);
        ControlProtocol.WriteHello(output, json, "s1", "1.2.3", null, 4);
        ControlProtocol.WriteAsk(output, json, new AskRequest { AskId = "k1", Conn = "c9", Host = "api.example.com", Port = 443, Rule = new AskRule(3, "ask", null) }, "s1", 30000);
        output.Write(ControlProtocol.SerializeAck("v7", PolicyUpdateResult.Accepted));
        output.Write(ControlProtocol.SerializeAck("v8", PolicyUpdateResult.Rejected(["p.yaml:3:5: error: 'x' is not a key"])));

        string[] lines = Encoding.UTF8.GetString(output.WrittenSpan).Split('\n');
        Assert.Equal(
            [
                "{\"type\":\"hello\",\"session\":\"s1\",\"proxy_version\":\"1.2.3\",\"policy_version\":null,\"spool_overflow\":4}",
                "{\"type\":\"ask.request\",\"ask_id\":\"k1\",\"session\":\"s1\",\"conn\":\"c9\",\"host\":\"api.example.com\",\"port\":443,\"rule\":{\"index\":3,\"kind\":\"ask\",\"name\":null},\"timeout_ms\":30000}",
                "{\"type\":\"policy.ack\",\"version\":\"v7\",\"ok\":true}",
                "{\"type\":\"policy.ack\",\"version\":\"v8\",\"ok\":false,\"errors\":[\"p.yaml:3:5: error: 'x' is not a key\"]}",
                "",
            ],
            lines);
    }

    [Fact]
    public void An_ack_with_very_many_errors_is_cut_to_fit_a_line()
    {
        string[] errors = [.. Enumerable.Range(0, 200).Select(i => $"p.yaml:{i}:1: error: " + new string('x', 5000))];
        byte[] ack = ControlProtocol.SerializeAck("v9", PolicyUpdateResult.Rejected(errors));
        Assert.True(ack.Length < ControlProtocol.MaxLineBytes);
        using var document = JsonDocument.Parse(ack);
        JsonElement list = document.RootElement.GetProperty("errors");
        Assert.Equal(ControlProtocol.MaxAckErrors + 1, list.GetArrayLength());
        Assert.Equal("… and 100 more errors", list[ControlProtocol.MaxAckErrors].GetString());
        Assert.EndsWith("…", list[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Event_lines_are_copied_and_framed_with_one_line_feed()
    {
        byte[] source = "{\"v\":1}"u8.ToArray();
        byte[] line = ControlProtocol.ToEventLine(source);
        source[0] = (byte)'X';
        Assert.Equal("{\"v\":1}\n"u8.ToArray(), line);
        Assert.Equal("{\"v\":1}\n"u8.ToArray(), ControlProtocol.ToEventLine("{\"v\":1}\n"u8));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("{\"a\":1}\n{\"b\":2}")]
    [InlineData("{\"a\":1}\n\n")]
    public void Event_lines_that_cannot_be_framed_are_a_bug(string text)
    {
        Assert.Throws<ArgumentException>(() => ControlProtocol.ToEventLine(Encoding.UTF8.GetBytes(text)));
    }

    [Fact]
    public void Event_lines_over_a_mebibyte_are_a_bug()
    {
        byte[] max = new byte[ControlProtocol.MaxLineBytes];
        max.AsSpan().Fill((byte)'a');
        Assert.Equal(ControlProtocol.MaxLineBytes + 1, ControlProtocol.ToEventLine(max).Length);
        Assert.Throws<ArgumentException>(() => ControlProtocol.ToEventLine(new byte[ControlProtocol.MaxLineBytes + 1]));
    }
}
