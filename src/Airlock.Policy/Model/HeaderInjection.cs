using System.Collections.Immutable;
using System.Text;

namespace Airlock.Policy.Model;

/// <summary>A header the proxy sets on allowed requests, with secrets filled in by the proxy only.</summary>
/// <param name="Header">The header name.</param>
/// <param name="Value">The value template.</param>
public sealed record HeaderInjection(string Header, InjectionTemplate Value);

/// <summary>
/// A header value with <c>{{secret:NAME}}</c> placeholders, parsed at load time.
/// </summary>
public sealed record InjectionTemplate
{
    /// <summary>Literal text and secret references, in order.</summary>
    public required ImmutableArray<TemplatePart> Parts { get; init; }

    /// <summary>The template as written.</summary>
    public required string Text { get; init; }

    /// <summary>The distinct secret names referenced.</summary>
    public IEnumerable<string> SecretNames => Parts.Where(p => p.IsSecret).Select(p => p.Value).Distinct(StringComparer.Ordinal);

    /// <summary>Fills in secrets; returns null when one is missing.</summary>
    /// <param name="secrets">Looks a secret up by name.</param>
    public string? Render(Func<string, string?> secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        var builder = new StringBuilder();
        foreach (var part in Parts)
        {
            if (!part.IsSecret)
            {
                builder.Append(part.Value);
                continue;
            }

            var secret = secrets(part.Value);
            if (secret is null)
            {
                return null;
            }

            builder.Append(secret);
        }

        return builder.ToString();
    }
}

/// <summary>A piece of an <see cref="InjectionTemplate"/>.</summary>
/// <param name="Value">Literal text, or the secret name when <paramref name="IsSecret"/>.</param>
/// <param name="IsSecret">Whether this part is a <c>{{secret:NAME}}</c> reference.</param>
public readonly record struct TemplatePart(string Value, bool IsSecret);
