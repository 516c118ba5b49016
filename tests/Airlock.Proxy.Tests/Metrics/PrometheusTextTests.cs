using Airlock.Proxy.Metrics;

namespace Airlock.Proxy.Tests.Metrics;

public class PrometheusTextTests
{
    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(0.001, "0.001")]
    [InlineData(0.0025, "0.0025")]
    [InlineData(10.0, "10")]
    [InlineData(1e-7, "1E-07")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    public void Formats_values_as_prometheus_reads_them(double value, string expected)
    {
        Assert.Equal(expected, PrometheusText.FormatValue(value));
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a\"b", "a\\\"b")]
    [InlineData("a\\b", "a\\\\b")]
    [InlineData("a\nb", "a\\nb")]
    [InlineData("\\\"\n", "\\\\\\\"\\n")]
    public void Escapes_label_values(string value, string expected)
    {
        Assert.Equal(expected, PrometheusText.EscapeLabelValue(value));
    }

    [Fact]
    public void An_unescaped_label_value_is_not_copied()
    {
        var value = "allowed_by_rule";

        Assert.Same(value, PrometheusText.EscapeLabelValue(value));
    }

    [Fact]
    public void Writes_help_and_type_with_escaped_help()
    {
        using var writer = new StringWriter();

        PrometheusText.WriteHeader(writer, "m_total", "counter", "two\nlines \\ here");

        Assert.Equal("# HELP m_total two\\nlines \\\\ here\n# TYPE m_total counter\n", writer.ToString());
    }

    [Fact]
    public void The_content_type_names_version_0_0_4()
    {
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", PrometheusText.ContentType);
    }
}
