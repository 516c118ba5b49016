using Airlock.Policy.Model;

namespace Airlock.Policy.Loading;

/// <summary>How serious a <see cref="PolicyDiagnostic"/> is.</summary>
public enum DiagnosticSeverity
{
    /// <summary>The policy cannot be loaded.</summary>
    Error,

    /// <summary>The policy loads, but something in it is almost certainly not what its author meant.</summary>
    Warning,
}

/// <summary>
/// A problem found while loading a policy, positioned at the offending key or value.
/// Rendered as <c>policy.yaml:3:5: error: unknown key 'port' in rule; did you mean 'ports'?</c>.
/// </summary>
/// <param name="Severity">Error or warning.</param>
/// <param name="Location">Where the problem is (1-based line and column).</param>
/// <param name="Message">What is wrong, on one line.</param>
/// <param name="Suggestion">What to write instead, when that is obvious; otherwise null.</param>
public sealed record PolicyDiagnostic(DiagnosticSeverity Severity, SourceLocation Location, string Message, string? Suggestion)
{
    /// <summary>Whether this is an error.</summary>
    public bool IsError => Severity == DiagnosticSeverity.Error;

    /// <summary>The diagnostic as <c>file:line:col: error: message; suggestion</c>.</summary>
    public override string ToString()
    {
        var severity = Severity == DiagnosticSeverity.Error ? "error" : "warning";
        return Suggestion is null
            ? $"{Location}: {severity}: {Message}"
            : $"{Location}: {severity}: {Message}; {Suggestion}";
    }
}
