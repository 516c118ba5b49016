using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Airlock.Sandboxes.Limits;

/// <summary>
/// Resource limits as written on the command line: memory such as <c>512M</c>, <c>1.5G</c>, <c>512MiB</c> or
/// <c>1048576</c> (binary units, so <c>1K</c> is 1024 bytes and <c>MB</c> means <c>MiB</c>), pids as a whole
/// number, cpus as a decimal number of CPUs such as <c>0.5</c> or <c>2</c>.
/// </summary>
public static partial class ResourceLimitSyntax
{
    /// <summary>The least memory limit: below it nothing, not even the sandbox itself, can start.</summary>
    public const long MinimumMemoryBytes = 1L << 20;

    /// <summary>The most pids: the kernel's own maximum number of process ids.</summary>
    public const int MaximumPids = 4_194_304;

    /// <summary>The least cpus: the kernel's smallest CPU quota is 1 ms in each 100 ms.</summary>
    public const double MinimumCpus = 0.01;

    /// <summary>The most cpus: far above any machine, and small enough for the kernel's quota arithmetic.</summary>
    public const double MaximumCpus = 1_000_000;

    private const string MemoryExample = "such as 512M, 1.5G or 512MiB";

    /// <summary>Reads a memory limit; on failure <paramref name="error"/> says what is wrong and what to write.</summary>
    public static bool TryParseMemory(string? text, out long bytes, [NotNullWhen(false)] out string? error)
    {
        bytes = 0;
        var trimmed = text?.Trim() ?? string.Empty;
        if (trimmed.Length == 0)
        {
            error = $"memory limit is empty: write a size {MemoryExample}";
            return false;
        }

        if (trimmed.StartsWith('-'))
        {
            error = $"memory limit '{trimmed}' is negative: write a positive size {MemoryExample}";
            return false;
        }

        var match = MemoryPattern().Match(trimmed);
        if (!match.Success)
        {
            error = $"memory limit '{trimmed}' is not a size: write a number with an optional unit K, M, G or T (1K = 1024 bytes), {MemoryExample}";
            return false;
        }

        var unit = match.Groups["unit"].Value.ToUpperInvariant();
        var multiplier = unit switch
        {
            "K" => 1L << 10,
            "M" => 1L << 20,
            "G" => 1L << 30,
            "T" => 1L << 40,
            _ => 1L,
        };
        if (!decimal.TryParse(match.Groups["number"].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)
            || number > long.MaxValue / (decimal)multiplier)
        {
            error = $"memory limit '{trimmed}' is too large: it must fit in a 64-bit count of bytes";
            return false;
        }

        var value = (long)decimal.Floor(number * multiplier);
        if (value == 0)
        {
            error = $"memory limit '{trimmed}' is zero: write a positive size {MemoryExample}";
            return false;
        }

        if (value < MinimumMemoryBytes)
        {
            var hint = unit.Length == 0 ? $" (did you mean {match.Groups["number"].Value}M?)" : string.Empty;
            error = string.Create(CultureInfo.InvariantCulture, $"memory limit '{trimmed}' is only {value} bytes: the least is 1M{hint}");
            return false;
        }

        bytes = value;
        error = null;
        return true;
    }

    /// <summary>Reads a limit on the number of processes; on failure <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParsePids(string? text, out int pids, [NotNullWhen(false)] out string? error)
    {
        pids = 0;
        var trimmed = text?.Trim() ?? string.Empty;
        if (trimmed.Length == 0)
        {
            error = "pids limit is empty: write a whole number of processes such as 256";
            return false;
        }

        if (trimmed.StartsWith('-'))
        {
            error = $"pids limit '{trimmed}' is negative: write a positive whole number such as 256";
            return false;
        }

        if (!trimmed.All(char.IsAsciiDigit))
        {
            error = $"pids limit '{trimmed}' is not a whole number: write a number of processes such as 256";
            return false;
        }

        if (!int.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > MaximumPids)
        {
            error = string.Create(CultureInfo.InvariantCulture, $"pids limit '{trimmed}' is too large: the most is {MaximumPids}");
            return false;
        }

        if (value == 0)
        {
            error = $"pids limit '{trimmed}' is zero: write at least 1";
            return false;
        }

        pids = value;
        error = null;
        return true;
    }

    /// <summary>Reads a CPU limit; on failure <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParseCpus(string? text, out double cpus, [NotNullWhen(false)] out string? error)
    {
        cpus = 0;
        var trimmed = text?.Trim() ?? string.Empty;
        if (trimmed.Length == 0)
        {
            error = "cpus limit is empty: write a number of CPUs such as 0.5 or 2";
            return false;
        }

        if (trimmed.StartsWith('-'))
        {
            error = $"cpus limit '{trimmed}' is negative: write a positive number of CPUs such as 0.5 or 2";
            return false;
        }

        if (!CpusPattern().IsMatch(trimmed))
        {
            error = $"cpus limit '{trimmed}' is not a number: write a number of CPUs such as 0.5 or 2";
            return false;
        }

        if (!decimal.TryParse(trimmed, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value > (decimal)MaximumCpus)
        {
            error = string.Create(CultureInfo.InvariantCulture, $"cpus limit '{trimmed}' is too large: the most is {MaximumCpus}");
            return false;
        }

        if (value == 0)
        {
            error = $"cpus limit '{trimmed}' is zero: write a positive number of CPUs such as 0.5";
            return false;
        }

        if (value < (decimal)MinimumCpus)
        {
            error = string.Create(CultureInfo.InvariantCulture, $"cpus limit '{trimmed}' is too small: the least is {MinimumCpus}");
            return false;
        }

        cpus = (double)value;
        error = null;
        return true;
    }

    /// <summary>Writes a byte count the way it would be typed: <c>512M</c>, <c>1536K</c>, <c>1048577</c>.</summary>
    internal static string FormatMemory(long bytes) =>
        bytes % (1L << 30) == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes >> 30}G")
        : bytes % (1L << 20) == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes >> 20}M")
        : bytes % (1L << 10) == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes >> 10}K")
        : bytes.ToString(CultureInfo.InvariantCulture);

    internal static string FormatCpus(double cpus) => cpus.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(?<number>[0-9]+(?:\.[0-9]+)?)(?:(?<unit>[KMGT])I?)?B?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex MemoryPattern();

    [GeneratedRegex(@"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex CpusPattern();
}
