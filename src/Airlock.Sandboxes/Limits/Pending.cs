namespace Airlock.Sandboxes.Limits;

/// <summary>Temporary until the limits branch lands.</summary>
public sealed record ResourceLimits
{
    /// <summary>Memory.</summary>
    public long? MemoryBytes { get; init; }

    /// <summary>Pids.</summary>
    public int? Pids { get; init; }

    /// <summary>Cpus.</summary>
    public double? Cpus { get; init; }
}

/// <summary>Temporary.</summary>
public sealed record AppliedLimit(string Name, string Requested, string Mechanism, string Detail);

/// <summary>Temporary.</summary>
public sealed class LimitPlan : IDisposable
{
    /// <summary>Report.</summary>
    public IReadOnlyList<AppliedLimit> Report { get; } = [];

    /// <summary>Plan.</summary>
    public static LimitPlan ForThisMachine(ResourceLimits limits, string name) => new();

    /// <summary>Wrap.</summary>
    public System.Collections.Immutable.ImmutableArray<string> Wrap(System.Collections.Immutable.ImmutableArray<string> argv) => Report.Count < 0 ? [] : argv;

    /// <summary>Dispose.</summary>
    public void Dispose()
    {
    }
}
