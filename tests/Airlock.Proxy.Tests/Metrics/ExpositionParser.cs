using System.Globalization;
using System.Text;

namespace Airlock.Proxy.Tests.Metrics;

/// <summary>
/// A strict reader of the Prometheus text format 0.0.4, enough to check what the proxy writes: every line
/// ends with <c>\n</c>, families have one HELP and one TYPE before their samples, samples belong to the
/// family last declared, label values are unescaped.
/// </summary>
internal sealed class ExpositionParser
{
    private ExpositionParser()
    {
    }

    /// <summary>Family name → type.</summary>
    public Dictionary<string, string> Types { get; } = new(StringComparer.Ordinal);

    /// <summary>Family name → help text (unescaped).</summary>
    public Dictionary<string, string> Help { get; } = new(StringComparer.Ordinal);

    /// <summary>Samples in order.</summary>
    public List<Sample> Samples { get; } = [];

    public static ExpositionParser Parse(string text)
    {
        Assert.True(text.Length == 0 || text.EndsWith('\n'), "the exposition must end with a line feed");
        Assert.DoesNotContain('\r', text);
        var result = new ExpositionParser();
        string? family = null;
        foreach (var line in text[..^1].Split('\n'))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var (name, help) = SplitOnce(line["# HELP ".Length..]);
                Assert.True(result.Help.TryAdd(name, UnescapeHelp(help)), $"second HELP for {name}");
                family = name;
            }
            else if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var (name, type) = SplitOnce(line["# TYPE ".Length..]);
                Assert.Contains(type, new[] { "counter", "gauge", "histogram", "summary", "untyped" });
                Assert.Equal(family, name);
                Assert.True(result.Types.TryAdd(name, type), $"second TYPE for {name}");
            }
            else
            {
                Assert.False(line.StartsWith('#'), $"unexpected comment: {line}");
                var sample = ParseSample(line);
                Assert.NotNull(family);
                Assert.True(result.Types.ContainsKey(family), $"{sample.Name} before its TYPE");
                Assert.True(BelongsTo(sample.Name, family, result.Types[family]), $"{sample.Name} is not in family {family}");
                result.Samples.Add(sample);
            }
        }

        return result;
    }

    /// <summary>The value of the one sample with this name and exactly these labels.</summary>
    public double Value(string name, params (string Name, string Value)[] labels)
    {
        var matches = Samples.Where(s => s.Name == name && s.Labels.Count == labels.Length
            && labels.All(l => s.Labels.TryGetValue(l.Name, out var v) && v == l.Value)).ToList();
        Assert.Single(matches);
        return matches[0].Value;
    }

    private static bool BelongsTo(string sample, string family, string type) => type switch
    {
        "histogram" => sample == family + "_bucket" || sample == family + "_sum" || sample == family + "_count",
        _ => sample == family,
    };

    private static Sample ParseSample(string line)
    {
        var i = 0;
        while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] is '_' or ':'))
        {
            i++;
        }

        Assert.True(i > 0 && !char.IsAsciiDigit(line[0]), $"bad metric name: {line}");
        var name = line[..i];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var start = i;
                while (char.IsAsciiLetterOrDigit(line[i]) || line[i] == '_')
                {
                    i++;
                }

                var labelName = line[start..i];
                Assert.NotEmpty(labelName);
                Assert.Equal("=\"", line.Substring(i, 2));
                i += 2;
                var value = new StringBuilder();
                while (line[i] != '"')
                {
                    if (line[i] == '\\')
                    {
                        i++;
                        value.Append(line[i] switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            var other => throw new FormatException($"bad escape \\{other} in: {line}"),
                        });
                    }
                    else
                    {
                        value.Append(line[i]);
                    }

                    i++;
                }

                i++;
                Assert.True(labels.TryAdd(labelName, value.ToString()), $"label {labelName} twice: {line}");
                if (line[i] == ',')
                {
                    i++;
                }
            }

            i++;
        }

        Assert.Equal(' ', line[i]);
        var text = line[(i + 1)..];
        var number = text switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
        return new Sample(name, labels, number);
    }

    private static (string, string) SplitOnce(string text)
    {
        var space = text.IndexOf(' ', StringComparison.Ordinal);
        Assert.True(space > 0, $"expected 'name text': {text}");
        return (text[..space], text[(space + 1)..]);
    }

    private static string UnescapeHelp(string help)
    {
        var result = new StringBuilder();
        for (var i = 0; i < help.Length; i++)
        {
            if (help[i] == '\\')
            {
                i++;
                result.Append(help[i] == 'n' ? '\n' : help[i]);
            }
            else
            {
                result.Append(help[i]);
            }
        }

        return result.ToString();
    }

    internal sealed record Sample(string Name, Dictionary<string, string> Labels, double Value);
}
