using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;

namespace Airlock.Policy.Loading;

/// <summary>Keys, strings, lists and enums, with the type errors they can raise.</summary>
internal sealed partial class PolicyValidator
{
    /// <summary>Reports unknown keys with a suggestion.</summary>
    private void CheckKeys(MappingNode map, ImmutableArray<string> known, string where)
    {
        foreach (var (key, _) in map.Entries)
        {
            if (!known.Contains(key.Value))
            {
                _diagnostics.Error(key, $"unknown key {Text.Quote(key.Value)} {where}", Suggestions.ForKey(key.Value, known));
            }
        }
    }

    private bool TryEnum<T>(MappingEntry entry, (string Name, T Value)[] options, out T value)
    {
        value = default!;
        var names = options.Select(o => o.Name).ToArray();
        if (!TryString(entry.Value, $"one of {Text.OneOf(names)}", out var text))
        {
            return false;
        }

        foreach (var (name, option) in options)
        {
            if (name == text)
            {
                value = option;
                return true;
            }
        }

        var close = Suggestions.Closest(text, names);
        _diagnostics.Error(
            entry.Value,
            $"unknown {entry.Key.Value} {Text.Quote(text)}; expected {Text.OneOf(names)}",
            close is null ? null : $"did you mean {Text.Quote(close)}?");
        return false;
    }

    private bool TryString(PolicyNode node, string expected, [NotNullWhen(true)] out string? value)
    {
        switch (node)
        {
            case ScalarNode { IsNull: false } scalar when scalar.Quoted || !_json:
                value = scalar.Value;
                return true;
            case InvalidNode:
                value = null;
                return false;
            default:
                _diagnostics.Error(node, $"expected {expected}, got {Describe(node)}");
                value = null;
                return false;
        }
    }

    private List<PolicyNode>? ReadList(PolicyNode node, string of)
    {
        switch (node)
        {
            case SequenceNode sequence:
                return sequence.Items;
            case InvalidNode:
                return null;
            default:
                _diagnostics.Error(node, $"expected {ListNoun} of {of}, got {Describe(node)}");
                return null;
        }
    }

    /// <summary>A list of strings; a lone string gets a "write it as a list" suggestion.</summary>
    /// <param name="node">The value.</param>
    /// <param name="key">The key the value belongs to, for "'methods' is empty".</param>
    /// <param name="of">What the list holds, for "expected a list of methods".</param>
    /// <param name="emptySuggestion">When not null, an empty list is an error with this suggestion.</param>
    private List<(ScalarNode Node, string Value)>? ReadStrings(PolicyNode node, string key, string of, string? emptySuggestion)
    {
        if (node is ScalarNode { IsNull: false } lone)
        {
            var example = _json ? $"[\"{lone.Value}\"]" : $"[{Text.Quote(lone.Value)}]";
            _diagnostics.Error(node, $"expected {ListNoun} of {of}, got {Describe(node)}", $"write it as {ListNoun}: {example}");
            return null;
        }

        if (ReadList(node, of) is not { } items)
        {
            return null;
        }

        if (items.Count == 0 && emptySuggestion is not null)
        {
            _diagnostics.Error(node, $"'{key}' is empty", emptySuggestion);
            return null;
        }

        var strings = new List<(ScalarNode, string)>(items.Count);
        foreach (var item in items)
        {
            if (TryString(item, "a string", out var value))
            {
                strings.Add(((ScalarNode)item, value));
            }
        }

        return strings;
    }

    private void Report(ScalarNode node, SyntaxError error)
    {
        var (line, column) = error.Index is { } index ? node.PositionAt(index) : (node.Line, node.Column);
        _diagnostics.Error(line, column, error.Message, error.Suggestion);
    }

    private string Describe(PolicyNode node) => node switch
    {
        MappingNode => MappingNoun,
        SequenceNode => ListNoun,
        ScalarNode { IsNull: true, Value: "" } when !_json => "an empty value",
        ScalarNode { IsNull: true } => "null",
        ScalarNode { Quoted: false } scalar when _json => scalar.Value switch
        {
            "true" or "false" => "a boolean",
            { Length: > 20 } => "a number",
            _ => $"the number {scalar.Value}",
        },
        ScalarNode scalar => Text.Quote(scalar.Value),
        _ => "an invalid value",
    };
}
