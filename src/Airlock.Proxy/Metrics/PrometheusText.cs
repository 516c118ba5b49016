using System.Globalization;

namespace Airlock.Proxy.Metrics;

/// <summary>The Prometheus text exposition format, version 0.0.4.</summary>
public static class PrometheusText
{
    /// <summary>The <c>Content-Type</c> of a scrape response.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Writes the <c># HELP</c> and <c># TYPE</c> lines of a metric family.</summary>
    /// <param name="writer">The output.</param>
    /// <param name="name">The metric name.</param>
    /// <param name="type"><c>counter</c>, <c>gauge</c> or <c>histogram</c>.</param>
    /// <param name="help">One line of help; backslashes and line feeds are escaped.</param>
    internal static void WriteHeader(TextWriter writer, string name, string type, string help)
    {
        writer.Write("# HELP ");
        writer.Write(name);
        writer.Write(' ');
        writer.Write(EscapeHelp(help));
        writer.Write("\n# TYPE ");
        writer.Write(name);
        writer.Write(' ');
        writer.Write(type);
        writer.Write('\n');
    }

    /// <summary>Writes one sample line, <c>name{labels} value</c>.</summary>
    /// <param name="writer">The output.</param>
    /// <param name="name">The sample name (with a <c>_bucket</c>, <c>_sum</c> or <c>_count</c> suffix where due).</param>
    /// <param name="labels">Label names and unescaped values; empty for none.</param>
    /// <param name="value">The value.</param>
    internal static void WriteSample(TextWriter writer, string name, ReadOnlySpan<(string Name, string Value)> labels, long value)
    {
        WriteSeries(writer, name, labels);
        writer.Write(value.ToString(CultureInfo.InvariantCulture));
        writer.Write('\n');
    }

    /// <inheritdoc cref="WriteSample(TextWriter, string, ReadOnlySpan{ValueTuple{string, string}}, long)"/>
    internal static void WriteSample(TextWriter writer, string name, ReadOnlySpan<(string Name, string Value)> labels, double value)
    {
        WriteSeries(writer, name, labels);
        writer.Write(FormatValue(value));
        writer.Write('\n');
    }

    /// <summary>A float as Prometheus reads it: shortest round-trip form, <c>+Inf</c>, <c>-Inf</c>, <c>NaN</c>.</summary>
    /// <param name="value">The value.</param>
    internal static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>Escapes a label value: backslash, double quote and line feed.</summary>
    /// <param name="value">The raw value.</param>
    internal static string EscapeLabelValue(string value) =>
        value.AsSpan().IndexOfAny("\\\"\n") < 0
            ? value
            : value.Replace("\\", "\\\\", StringComparison.Ordinal)
                .Replace("\"", "\\\"", StringComparison.Ordinal)
                .Replace("\n", "\\n", StringComparison.Ordinal);

    private static string EscapeHelp(string help) =>
        help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static void WriteSeries(TextWriter writer, string name, ReadOnlySpan<(string Name, string Value)> labels)
    {
        writer.Write(name);
        if (!labels.IsEmpty)
        {
            writer.Write('{');
            for (var i = 0; i < labels.Length; i++)
            {
                if (i > 0)
                {
                    writer.Write(',');
                }

                writer.Write(labels[i].Name);
                writer.Write("=\"");
                writer.Write(EscapeLabelValue(labels[i].Value));
                writer.Write('"');
            }

            writer.Write('}');
        }

        writer.Write(' ');
    }
}
