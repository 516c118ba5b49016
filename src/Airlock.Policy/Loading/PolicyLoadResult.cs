using System.Collections.Immutable;
using Airlock.Policy.Model;

namespace Airlock.Policy.Loading;

/// <summary>
/// The outcome of loading a policy: the policy when there is no error, and every diagnostic in source order.
/// </summary>
/// <param name="Policy">The loaded policy; null if and only if <paramref name="Diagnostics"/> holds an error.</param>
/// <param name="Diagnostics">Every error and warning, sorted by position.</param>
public sealed record PolicyLoadResult(EgressPolicy? Policy, ImmutableArray<PolicyDiagnostic> Diagnostics)
{
    /// <summary>Whether the policy loaded (there may still be warnings).</summary>
    public bool Succeeded => Policy is not null;

    /// <summary>The errors, in source order.</summary>
    public IEnumerable<PolicyDiagnostic> Errors => Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error);

    /// <summary>The warnings, in source order.</summary>
    public IEnumerable<PolicyDiagnostic> Warnings => Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning);
}
