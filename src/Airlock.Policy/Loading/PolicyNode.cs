namespace Airlock.Policy.Loading;

/// <summary>
/// A node of the small document tree that both the YAML and the JSON reader produce, so one validator serves
/// both formats. Every node knows where it starts (1-based line and column, in UTF-16 code units).
/// </summary>
internal abstract class PolicyNode(int line, int column)
{
    public int Line { get; } = line;

    public int Column { get; } = column;
}

/// <summary>A mapping (JSON object) with unique string keys, in source order.</summary>
internal sealed class MappingNode(int line, int column) : PolicyNode(line, column)
{
    private readonly List<MappingEntry> _entries = [];
    private readonly Dictionary<string, int> _byKey = new(StringComparer.Ordinal);

    public IReadOnlyList<MappingEntry> Entries => _entries;

    /// <summary>Adds an entry unless the key is already there; returns the earlier key otherwise.</summary>
    public bool TryAdd(ScalarNode key, PolicyNode value, out ScalarNode? earlier)
    {
        if (_byKey.TryGetValue(key.Value, out var index))
        {
            earlier = _entries[index].Key;
            return false;
        }

        _byKey.Add(key.Value, _entries.Count);
        _entries.Add(new MappingEntry(key, value));
        earlier = null;
        return true;
    }

    public bool TryGet(string key, out MappingEntry entry)
    {
        if (_byKey.TryGetValue(key, out var index))
        {
            entry = _entries[index];
            return true;
        }

        entry = default;
        return false;
    }
}

/// <summary>A key and its value.</summary>
internal readonly record struct MappingEntry(ScalarNode Key, PolicyNode Value);

/// <summary>A list (JSON array).</summary>
internal sealed class SequenceNode(int line, int column) : PolicyNode(line, column)
{
    public List<PolicyNode> Items { get; } = [];
}

/// <summary>
/// A scalar: its text and whether it was quoted. YAML plain scalars and JSON numbers, booleans and null are
/// unquoted; the validator decides what they mean from where they are.
/// </summary>
internal sealed class ScalarNode : PolicyNode
{
    private readonly int _contentLine;
    private readonly int _contentColumn;
    private readonly bool _verbatim;

    /// <param name="line">Where the scalar starts (at the opening quote, if any).</param>
    /// <param name="column">Where the scalar starts.</param>
    /// <param name="value">The value, with escapes resolved.</param>
    /// <param name="quoted">Whether the source quoted it (or, in YAML, used a block scalar).</param>
    /// <param name="contentColumn">The column of the value's first character (after the opening quote).</param>
    /// <param name="verbatim">Whether the source spells the value character for character on one line, so a
    /// position inside the value maps to a column.</param>
    public ScalarNode(int line, int column, string value, bool quoted, int contentColumn, bool verbatim)
        : base(line, column)
    {
        Value = value;
        Quoted = quoted;
        _contentLine = line;
        _contentColumn = contentColumn;
        _verbatim = verbatim;
    }

    public string Value { get; }

    public bool Quoted { get; }

    /// <summary>Whether this is YAML's or JSON's null (an unquoted empty value, <c>~</c> or <c>null</c>).</summary>
    public bool IsNull => !Quoted && Value is "" or "~" or "null" or "Null" or "NULL";

    /// <summary>The position of the character at <paramref name="index"/> in <see cref="Value"/>, or the
    /// scalar's start when the source does not spell the value verbatim.</summary>
    public (int Line, int Column) PositionAt(int index)
    {
        if (_verbatim && index >= 0 && index <= Value.Length && !Value.AsSpan(0, index).ContainsAny('\r', '\n'))
        {
            return (_contentLine, _contentColumn + index);
        }

        return (Line, Column);
    }
}

/// <summary>Stands for something the reader already reported (an alias, nesting that is too deep).</summary>
internal sealed class InvalidNode(int line, int column) : PolicyNode(line, column);
