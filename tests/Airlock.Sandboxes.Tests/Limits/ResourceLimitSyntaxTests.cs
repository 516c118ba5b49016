using Airlock.Sandboxes.Limits;

namespace Airlock.Sandboxes.Tests.Limits;

public class ResourceLimitSyntaxTests
{
    [Theory]
    [InlineData("512M", 536_870_912L)]
    [InlineData("512m", 536_870_912L)]
    [InlineData("512MiB", 536_870_912L)]
    [InlineData("512MB", 536_870_912L)]
    [InlineData("512mi", 536_870_912L)]
    [InlineData("2G", 2_147_483_648L)]
    [InlineData("1.5G", 1_610_612_736L)]
    [InlineData("1.5g", 1_610_612_736L)]
    [InlineData("1024K", 1_048_576L)]
    [InlineData("1048576", 1_048_576L)]
    [InlineData("1048576B", 1_048_576L)]
    [InlineData("1T", 1_099_511_627_776L)]
    [InlineData(" 64M ", 67_108_864L)]
    public void Memory_sizes_are_binary(string text, long expected)
    {
        Assert.True(ResourceLimitSyntax.TryParseMemory(text, out var bytes, out var error), error);
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData(null, "memory limit is empty: write a size such as 512M, 1.5G or 512MiB")]
    [InlineData("", "memory limit is empty: write a size such as 512M, 1.5G or 512MiB")]
    [InlineData("0", "memory limit '0' is zero: write a positive size such as 512M, 1.5G or 512MiB")]
    [InlineData("0G", "memory limit '0G' is zero: write a positive size such as 512M, 1.5G or 512MiB")]
    [InlineData("-1G", "memory limit '-1G' is negative: write a positive size such as 512M, 1.5G or 512MiB")]
    [InlineData("12X", "memory limit '12X' is not a size: write a number with an optional unit K, M, G or T (1K = 1024 bytes), such as 512M, 1.5G or 512MiB")]
    [InlineData("G", "memory limit 'G' is not a size: write a number with an optional unit K, M, G or T (1K = 1024 bytes), such as 512M, 1.5G or 512MiB")]
    [InlineData("1.2.3M", "memory limit '1.2.3M' is not a size: write a number with an optional unit K, M, G or T (1K = 1024 bytes), such as 512M, 1.5G or 512MiB")]
    [InlineData("1e9", "memory limit '1e9' is not a size: write a number with an optional unit K, M, G or T (1K = 1024 bytes), such as 512M, 1.5G or 512MiB")]
    [InlineData("8388608T", "memory limit '8388608T' is too large: it must fit in a 64-bit count of bytes")]
    [InlineData("99999999999999999999999999999999999", "memory limit '99999999999999999999999999999999999' is too large: it must fit in a 64-bit count of bytes")]
    [InlineData("512", "memory limit '512' is only 512 bytes: the least is 1M (did you mean 512M?)")]
    [InlineData("100K", "memory limit '100K' is only 102400 bytes: the least is 1M")]
    public void Bad_memory_sizes_say_what_to_write(string? text, string message)
    {
        Assert.False(ResourceLimitSyntax.TryParseMemory(text, out var bytes, out var error));
        Assert.Equal(message, error);
        Assert.Equal(0, bytes);
    }

    [Fact]
    public void The_largest_memory_size_that_fits_is_accepted()
    {
        Assert.True(ResourceLimitSyntax.TryParseMemory("8388607T", out var bytes, out _));
        Assert.Equal(8_388_607L << 40, bytes);
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("256", 256)]
    [InlineData("4194304", 4_194_304)]
    public void Pids_are_whole_numbers(string text, int expected)
    {
        Assert.True(ResourceLimitSyntax.TryParsePids(text, out var pids, out var error), error);
        Assert.Equal(expected, pids);
    }

    [Theory]
    [InlineData("", "pids limit is empty: write a whole number of processes such as 256")]
    [InlineData("0", "pids limit '0' is zero: write at least 1")]
    [InlineData("-5", "pids limit '-5' is negative: write a positive whole number such as 256")]
    [InlineData("1.5", "pids limit '1.5' is not a whole number: write a number of processes such as 256")]
    [InlineData("many", "pids limit 'many' is not a whole number: write a number of processes such as 256")]
    [InlineData("4194305", "pids limit '4194305' is too large: the most is 4194304")]
    [InlineData("99999999999", "pids limit '99999999999' is too large: the most is 4194304")]
    public void Bad_pids_say_what_to_write(string text, string message)
    {
        Assert.False(ResourceLimitSyntax.TryParsePids(text, out _, out var error));
        Assert.Equal(message, error);
    }

    [Theory]
    [InlineData("0.5", 0.5)]
    [InlineData("2", 2.0)]
    [InlineData("1.25", 1.25)]
    [InlineData(".5", 0.5)]
    [InlineData("0.01", 0.01)]
    public void Cpus_are_decimal_numbers(string text, double expected)
    {
        Assert.True(ResourceLimitSyntax.TryParseCpus(text, out var cpus, out var error), error);
        Assert.Equal(expected, cpus);
    }

    [Theory]
    [InlineData("", "cpus limit is empty: write a number of CPUs such as 0.5 or 2")]
    [InlineData("0", "cpus limit '0' is zero: write a positive number of CPUs such as 0.5")]
    [InlineData("0.0", "cpus limit '0.0' is zero: write a positive number of CPUs such as 0.5")]
    [InlineData("-1", "cpus limit '-1' is negative: write a positive number of CPUs such as 0.5 or 2")]
    [InlineData("0.001", "cpus limit '0.001' is too small: the least is 0.01")]
    [InlineData("2,5", "cpus limit '2,5' is not a number: write a number of CPUs such as 0.5 or 2")]
    [InlineData("1e3", "cpus limit '1e3' is not a number: write a number of CPUs such as 0.5 or 2")]
    [InlineData("NaN", "cpus limit 'NaN' is not a number: write a number of CPUs such as 0.5 or 2")]
    [InlineData("Infinity", "cpus limit 'Infinity' is not a number: write a number of CPUs such as 0.5 or 2")]
    [InlineData("1000001", "cpus limit '1000001' is too large: the most is 1000000")]
    [InlineData("99999999999999999999999999999999999", "cpus limit '99999999999999999999999999999999999' is too large: the most is 1000000")]
    public void Bad_cpus_say_what_to_write(string text, string message)
    {
        Assert.False(ResourceLimitSyntax.TryParseCpus(text, out _, out var error));
        Assert.Equal(message, error);
    }

    [Theory]
    [InlineData(536_870_912L, "512M")]
    [InlineData(2_147_483_648L, "2G")]
    [InlineData(1_610_612_736L, "1536M")]
    [InlineData(1_049_600L, "1025K")]
    [InlineData(1_048_577L, "1048577")]
    public void Memory_is_reported_as_it_would_be_typed(long bytes, string expected) =>
        Assert.Equal(expected, ResourceLimitSyntax.FormatMemory(bytes));
}
