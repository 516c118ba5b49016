namespace Airlock.Server.Store;

/// <summary>One version of a named policy.</summary>
/// <param name="Name">The policy's name.</param>
/// <param name="Version">Its version: 1 for the first, then 2, 3, ….</param>
/// <param name="Text">The policy document as given (YAML or JSON).</param>
/// <param name="CreatedAt">When this version was stored.</param>
public sealed record PolicyVersionRecord(string Name, int Version, string Text, DateTimeOffset CreatedAt);

/// <summary>A named policy and its latest version.</summary>
/// <param name="Name">The policy's name.</param>
/// <param name="LatestVersion">Its highest version.</param>
/// <param name="UpdatedAt">When that version was stored.</param>
public sealed record PolicySummary(string Name, int LatestVersion, DateTimeOffset UpdatedAt);
