using System.Collections.Immutable;

namespace Airlock.Policy.Model;

/// <summary>The local sandbox's view of the file system. Paths are as written (<c>~</c> and <c>.</c> are resolved by the driver).</summary>
public sealed record FilesystemPolicy
{
    /// <summary>Paths mounted read-write.</summary>
    public ImmutableArray<string> ReadWrite { get; init; } = [];

    /// <summary>Paths mounted read-only.</summary>
    public ImmutableArray<string> ReadOnly { get; init; } = [];

    /// <summary>Paths masked with an empty directory or file.</summary>
    public ImmutableArray<string> Hidden { get; init; } = [];

    /// <summary>No file system settings.</summary>
    public static FilesystemPolicy Empty { get; } = new();
}
