using System.Collections.Immutable;
using System.Net;
using System.Text.RegularExpressions;
using Airlock.Policy.Addresses;
using Airlock.Policy.Model;

namespace Airlock.Policy.Loading;

/// <summary>The <c>addresses</c>, <c>filesystem</c> and <c>redact</c> sections.</summary>
internal sealed partial class PolicyValidator
{
    private AddressPolicy ReadAddresses(PolicyNode node)
    {
        if (node is not MappingNode map)
        {
            if (node is not InvalidNode)
            {
                _diagnostics.Error(node, $"expected {MappingNoun} with 'allow' and 'deny' lists, got {Describe(node)}");
            }

            return AddressPolicy.Empty;
        }

        CheckKeys(map, PolicyKeys.Addresses, "in addresses");
        return new AddressPolicy
        {
            Allow = map.TryGet("allow", out var allow) ? ReadNetworks(allow) : [],
            Deny = map.TryGet("deny", out var deny) ? ReadNetworks(deny) : [],
        };
    }

    private ImmutableArray<IPNetwork> ReadNetworks(MappingEntry entry)
    {
        var networks = ImmutableArray.CreateBuilder<IPNetwork>();
        foreach (var (scalar, text) in ReadStrings(entry.Value, entry.Key.Value, "CIDR ranges or IP addresses", emptySuggestion: null) ?? [])
        {
            if (AddressRangeSyntax.TryParse(text, out var network, out var error))
            {
                networks.Add(network);
            }
            else
            {
                Report(scalar, error);
            }
        }

        return networks.DrainToImmutable();
    }

    private FilesystemPolicy ReadFilesystem(PolicyNode node)
    {
        if (node is not MappingNode map)
        {
            if (node is not InvalidNode)
            {
                _diagnostics.Error(node, $"expected {MappingNoun} with 'read_write', 'read_only' and 'hidden' lists, got {Describe(node)}");
            }

            return FilesystemPolicy.Empty;
        }

        CheckKeys(map, PolicyKeys.Filesystem, "in filesystem");
        return new FilesystemPolicy
        {
            ReadWrite = map.TryGet("read_write", out var readWrite) ? ReadPaths(readWrite) : [],
            ReadOnly = map.TryGet("read_only", out var readOnly) ? ReadPaths(readOnly) : [],
            Hidden = map.TryGet("hidden", out var hidden) ? ReadPaths(hidden) : [],
        };
    }

    private ImmutableArray<string> ReadPaths(MappingEntry entry)
    {
        var paths = ImmutableArray.CreateBuilder<string>();
        foreach (var (scalar, path) in ReadStrings(entry.Value, entry.Key.Value, "paths", emptySuggestion: null) ?? [])
        {
            var nul = path.IndexOf('\0', StringComparison.Ordinal);
            if (path.Length == 0)
            {
                _diagnostics.Error(scalar, "a path cannot be empty");
            }
            else if (nul >= 0)
            {
                var (line, column) = scalar.PositionAt(nul);
                _diagnostics.Error(line, column, "a path cannot contain NUL");
            }
            else
            {
                paths.Add(path);
            }
        }

        return paths.DrainToImmutable();
    }

    private ImmutableArray<string> ReadRedact(PolicyNode node)
    {
        var patterns = ImmutableArray.CreateBuilder<string>();
        foreach (var (scalar, pattern) in ReadStrings(node, "redact", "regular expressions", emptySuggestion: null) ?? [])
        {
            if (ValidateRedactPattern(scalar, pattern))
            {
                patterns.Add(pattern);
            }
        }

        return patterns.DrainToImmutable();
    }

    private bool ValidateRedactPattern(ScalarNode node, string pattern)
    {
        Regex regex;
        try
        {
            // The proxy runs these over logged values; linear-time matching keeps a pattern from being a ReDoS.
            regex = new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        }
        catch (RegexParseException ex)
        {
            var (line, column) = node.PositionAt(Math.Clamp(ex.Offset - 1, 0, pattern.Length));
            _diagnostics.Error(line, column, $"invalid regular expression {Text.Quote(pattern)}: {ex.Error.ToString()}", FirstSentence(ex.Message));
            return false;
        }
        catch (NotSupportedException ex)
        {
            _diagnostics.Error(node, $"regular expression {Text.Quote(pattern)} is not supported: {ex.Message}", "redact patterns run in linear time: no backreferences, lookarounds, atomic groups or conditionals");
            return false;
        }
        catch (ArgumentException ex)
        {
            _diagnostics.Error(node, $"invalid regular expression {Text.Quote(pattern)}: {ex.Message}");
            return false;
        }

        if (regex.IsMatch(string.Empty))
        {
            _diagnostics.Error(node, $"regular expression {Text.Quote(pattern)} matches the empty string", "it would redact between every character; make it match at least one character");
            return false;
        }

        return true;
    }

    private static string FirstSentence(string message)
    {
        // "Invalid pattern '(a' at offset 2. Not enough )'s." → "Not enough )'s."
        var dot = message.IndexOf(". ", StringComparison.Ordinal);
        return dot < 0 ? message : message[(dot + 2)..];
    }
}
