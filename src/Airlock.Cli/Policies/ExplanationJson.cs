using System.Text.Json;
using Airlock.Policy.Decisions;
using Airlock.Policy.Model;

namespace Airlock.Cli.Policies;

/// <summary>Renders a <see cref="PolicyExplanation"/> as one JSON object (field names as in events v1).</summary>
internal static class ExplanationJson
{
    public static void Write(TextWriter writer, EgressPolicy policy, PolicyExplanation explanation)
    {
        var final = explanation.Final;
        var target = explanation.Target;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("decision", final.Verdict switch
            {
                Verdict.Allow => "allow",
                Verdict.Pending => "pending",
                _ => "deny",
            });
            json.WriteString("reason", final.ReasonName);
            json.WriteString("hint", DecisionReasons.Hint(final.Reason));
            if (final.Rule is { } rule)
            {
                json.WriteStartObject("rule");
                json.WriteNumber("index", rule.Index);
                json.WriteString("kind", rule.KindName);
                if (rule.Name is not null)
                {
                    json.WriteString("name", rule.Name);
                }

                json.WriteString("host", rule.Host.Text);
                if (rule.Location is not null)
                {
                    json.WriteString("location", rule.Location.ToString());
                }

                json.WriteEndObject();
            }
            else
            {
                json.WriteNull("rule");
            }

            json.WriteString("mode", policy.Mode == PolicyMode.Audit ? "audit" : "enforce");
            json.WriteBoolean("would_deny", final.WouldDeny);
            json.WriteString("host", explanation.Host?.Value ?? target.Host);
            json.WriteNumber("port", target.Port);
            json.WriteString("scheme", target.Scheme);
            if (target.IsHttp)
            {
                json.WriteString("method", explanation.Method);
                json.WriteString("path", target.PathAndQuery);
            }

            json.WriteBoolean("addresses_checked", explanation.AddressesChecked);
            json.WriteStartArray("addresses");
            foreach (var check in explanation.Addresses)
            {
                json.WriteStartObject();
                json.WriteString("address", check.Address.ToString());
                json.WriteBoolean("allowed", check.Verdict.Allowed);
                if (check.Verdict.Reason is { } reason)
                {
                    json.WriteString("reason", DecisionReasons.Name(reason));
                }

                json.WriteString("detail", check.Verdict.Detail);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteString("policy", policy.Source);
            json.WriteEndObject();
        }

        writer.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
