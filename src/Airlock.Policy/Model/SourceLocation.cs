namespace Airlock.Policy.Model;

/// <summary>A position in a policy source, 1-based, as shown to users.</summary>
/// <param name="File">The file name (or a label such as <c>&lt;inline&gt;</c>).</param>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column.</param>
public sealed record SourceLocation(string File, int Line, int Column)
{
    /// <inheritdoc/>
    public override string ToString() => $"{File}:{Line}:{Column}";
}
