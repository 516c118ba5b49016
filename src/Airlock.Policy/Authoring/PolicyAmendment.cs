using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Airlock.Policy.Authoring;

/// <summary>Changes to a policy's text made on a person's behalf (an approval "for this session").</summary>
public static class PolicyAmendment
{
    /// <summary>
    /// Adds <c>allow: host, ports: [port]</c> at the end of the policy's egress list. Order does not weaken anything:
    /// <c>deny</c> rules are evaluated before every <c>allow</c>, and an <c>allow</c> before every <c>ask</c>. The
    /// result is YAML (a JSON policy comes back as YAML; comments are not kept).
    /// </summary>
    /// <param name="policyText">A policy that loads.</param>
    /// <param name="host">The canonical host.</param>
    /// <param name="port">The port.</param>
    /// <param name="ruleName">The new rule's name.</param>
    /// <returns>The amended policy.</returns>
    /// <exception cref="ArgumentException">The text is not a policy document (a mapping).</exception>
    public static string AllowDestination(string policyText, string host, int port, string ruleName)
    {
        ArgumentNullException.ThrowIfNull(policyText);
        ArgumentException.ThrowIfNullOrEmpty(host);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(policyText));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new ArgumentException($"not a policy: {e.Message}", nameof(policyText), e);
        }

        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ArgumentException("not a policy: the document is not a mapping", nameof(policyText));
        }

        var key = new YamlScalarNode("egress");
        if (!root.Children.TryGetValue(key, out var egress) || egress is not YamlSequenceNode rules)
        {
            rules = [];
            root.Children[key] = rules;
        }

        // Block style for every mapping and list of mappings, whatever the original was (JSON or flow lists): the
        // result reads as YAML, never as JSON with unquoted keys.
        Blocks(root);
        rules.Add(new YamlMappingNode
        {
            { "name", ruleName },
            { "allow", host },
            { "ports", new YamlSequenceNode(new YamlScalarNode(port.ToString(CultureInfo.InvariantCulture))) { Style = YamlDotNet.Core.Events.SequenceStyle.Flow } },
        });
        rules.Style = YamlDotNet.Core.Events.SequenceStyle.Block;
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString();
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    private static void Blocks(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                mapping.Style = YamlDotNet.Core.Events.MappingStyle.Block;
                foreach (var child in mapping.Children.Values)
                {
                    Blocks(child);
                }

                break;
            case YamlSequenceNode sequence when sequence.Children.Any(c => c is YamlMappingNode):
                sequence.Style = YamlDotNet.Core.Events.SequenceStyle.Block;
                foreach (var child in sequence.Children)
                {
                    Blocks(child);
                }

                break;
        }
    }
}
