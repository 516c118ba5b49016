using System.Collections.Immutable;
using Airlock.Policy.Model;

namespace Airlock.Policy.Loading;

/// <summary>Collects the diagnostics of one load, all positioned in the same source.</summary>
internal sealed class DiagnosticList(string file)
{
    private readonly List<PolicyDiagnostic> _items = [];

    public string File { get; } = file;

    public int ErrorCount { get; private set; }

    public bool HasErrors => ErrorCount > 0;

    public SourceLocation At(int line, int column) => new(File, line, column);

    public SourceLocation At(PolicyNode node) => new(File, node.Line, node.Column);

    public void Error(int line, int column, string message, string? suggestion = null) =>
        Add(new PolicyDiagnostic(DiagnosticSeverity.Error, At(line, column), message, suggestion));

    public void Error(PolicyNode node, string message, string? suggestion = null) =>
        Error(node.Line, node.Column, message, suggestion);

    public void Add(PolicyDiagnostic diagnostic)
    {
        if (diagnostic.Severity == DiagnosticSeverity.Error)
        {
            ErrorCount++;
        }

        _items.Add(diagnostic);
    }

    /// <summary>The diagnostics sorted by position; diagnostics at the same position keep the order they were found in.</summary>
    public ImmutableArray<PolicyDiagnostic> ToSortedArray() =>
        [.. _items.OrderBy(d => d.Location.Line).ThenBy(d => d.Location.Column)];
}
