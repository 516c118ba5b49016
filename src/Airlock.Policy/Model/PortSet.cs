using System.Collections.Immutable;
using System.Globalization;

namespace Airlock.Policy.Model;

/// <summary>A set of TCP ports as inclusive ranges, or every port.</summary>
public sealed class PortSet : IEquatable<PortSet>
{
    private readonly ImmutableArray<PortRange> _ranges;

    private PortSet(ImmutableArray<PortRange> ranges, bool any)
    {
        _ranges = ranges;
        IsAny = any;
    }

    /// <summary>Every port, 1 to 65535.</summary>
    public static PortSet Any { get; } = new([], any: true);

    /// <summary>80 and 443, the default of allow rules.</summary>
    public static PortSet WebDefault { get; } = Of(new PortRange(80, 80), new PortRange(443, 443));

    /// <summary>Whether this set holds every port.</summary>
    public bool IsAny { get; }

    /// <summary>The ranges, sorted and merged; empty when <see cref="IsAny"/>.</summary>
    public ImmutableArray<PortRange> Ranges => _ranges;

    /// <summary>Builds a set from ranges (sorted and merged here).</summary>
    /// <param name="ranges">Inclusive ranges within 1–65535.</param>
    public static PortSet Of(params IEnumerable<PortRange> ranges)
    {
        var sorted = ranges.OrderBy(r => r.First).ToList();
        var merged = ImmutableArray.CreateBuilder<PortRange>();
        foreach (var range in sorted)
        {
            if (merged.Count > 0 && range.First <= merged[^1].Last + 1)
            {
                var last = merged[^1];
                merged[^1] = new PortRange(last.First, Math.Max(last.Last, range.Last));
            }
            else
            {
                merged.Add(range);
            }
        }

        if (merged.Count == 1 && merged[0].First == 1 && merged[0].Last == 65535)
        {
            return Any;
        }

        return new PortSet(merged.ToImmutable(), any: false);
    }

    /// <summary>Whether <paramref name="port"/> is in the set. Allocation-free.</summary>
    /// <param name="port">A TCP port.</param>
    public bool Contains(int port)
    {
        if (IsAny)
        {
            return port is >= 1 and <= 65535;
        }

        foreach (var range in _ranges.AsSpan())
        {
            if (port < range.First)
            {
                return false;
            }

            if (port <= range.Last)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether every port of <paramref name="other"/> is in this set.</summary>
    /// <param name="other">The set that may be covered.</param>
    public bool Covers(PortSet other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (IsAny)
        {
            return true;
        }

        if (other.IsAny)
        {
            return false;
        }

        return other._ranges.All(o => _ranges.Any(r => r.First <= o.First && o.Last <= r.Last));
    }

    /// <inheritdoc/>
    public bool Equals(PortSet? other) =>
        other is not null && IsAny == other.IsAny && _ranges.AsSpan().SequenceEqual(other._ranges.AsSpan());

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as PortSet);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(IsAny);
        foreach (var range in _ranges)
        {
            hash.Add(range);
        }

        return hash.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() =>
        IsAny ? "any" : string.Join(", ", _ranges.Select(r => r.ToString()));
}

/// <summary>An inclusive range of TCP ports.</summary>
/// <param name="First">The first port.</param>
/// <param name="Last">The last port.</param>
public readonly record struct PortRange(int First, int Last)
{
    /// <inheritdoc/>
    public override string ToString() => First == Last
        ? First.ToString(CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{First}-{Last}");
}
