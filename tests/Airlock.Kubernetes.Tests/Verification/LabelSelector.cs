using System.Text.Json;
using System.Text.Json.Nodes;

namespace Airlock.Kubernetes.Tests.Verification;

/// <summary>
/// A <c>metav1.LabelSelector</c>: <c>matchLabels</c> and <c>matchExpressions</c> (In, NotIn, Exists,
/// DoesNotExist), all ANDed. An empty selector matches everything.
/// </summary>
public sealed class LabelSelector
{
    private readonly IReadOnlyList<Func<IReadOnlyDictionary<string, string>, bool>> _requirements;

    private LabelSelector(IReadOnlyList<Func<IReadOnlyDictionary<string, string>, bool>> requirements) => _requirements = requirements;

    /// <summary>Reads a selector object; throws on an operator or shape the API server would refuse.</summary>
    public static LabelSelector Parse(JsonNode selector)
    {
        ArgumentNullException.ThrowIfNull(selector);
        var requirements = new List<Func<IReadOnlyDictionary<string, string>, bool>>();
        if (selector["matchLabels"] is JsonObject matchLabels)
        {
            foreach (var (key, value) in matchLabels)
            {
                var expected = value!.GetValue<string>();
                requirements.Add(labels => labels.TryGetValue(key, out var actual) && actual == expected);
            }
        }

        if (selector["matchExpressions"] is JsonArray expressions)
        {
            foreach (var expression in expressions)
            {
                var key = expression!["key"]!.GetValue<string>();
                var values = expression["values"] is JsonArray list
                    ? list.Select(v => v!.GetValue<string>()).ToHashSet(StringComparer.Ordinal)
                    : [];
                requirements.Add(expression["operator"]!.GetValue<string>() switch
                {
                    "In" => labels => labels.TryGetValue(key, out var actual) && values.Contains(actual),
                    "NotIn" => labels => !labels.TryGetValue(key, out var actual) || !values.Contains(actual),
                    "Exists" => labels => labels.ContainsKey(key),
                    "DoesNotExist" => labels => !labels.ContainsKey(key),
                    var other => throw new ArgumentException($"Label selector operator '{other}' is not one of In, NotIn, Exists, DoesNotExist.", nameof(selector)),
                });
            }
        }

        return new LabelSelector(requirements);
    }

    /// <summary>Whether <paramref name="labels"/> satisfy every requirement.</summary>
    public bool Matches(IReadOnlyDictionary<string, string> labels) => _requirements.All(r => r(labels));

    internal static bool IsPresent(JsonNode? node) => node is not null && node.GetValueKind() != JsonValueKind.Null;
}
