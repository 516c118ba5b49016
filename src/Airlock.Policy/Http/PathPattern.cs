using System.Diagnostics.CodeAnalysis;

namespace Airlock.Policy.Http;

/// <summary>A path glob: <c>*</c> is one segment, <c>**</c> any number of segments.</summary>
public sealed record PathPattern
{
    private PathPattern(string text) => Text = text;

    /// <summary>The pattern as written.</summary>
    public string Text { get; }

    /// <summary>Parses a path glob.</summary>
    /// <param name="text">The glob as written.</param>
    /// <param name="pattern">The pattern on success.</param>
    /// <param name="error">What is wrong on failure.</param>
    public static bool TryParse(string text, [NotNullWhen(true)] out PathPattern? pattern, [NotNullWhen(false)] out string? error)
    {
        throw new NotImplementedException();
    }

    /// <inheritdoc/>
    public override string ToString() => Text;
}
