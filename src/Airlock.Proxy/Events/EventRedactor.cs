using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;

namespace Airlock.Proxy.Events;

/// <summary>
/// Replaces secrets in logged values with <c>[REDACTED]</c>: matches of the policy's <c>redact</c> patterns
/// and the actual values of injected secrets.
/// </summary>
/// <remarks>
/// <para>
/// Patterns are compiled with <see cref="RegexOptions.NonBacktracking"/>, so redaction is linear in the
/// value's length whatever the pattern (no match timeout needed), and with
/// <see cref="RegexOptions.ExplicitCapture"/>, so matching skips the capture phase (a pattern the policy
/// loader accepted has no backreference that could need a numbered group). A match of zero characters is
/// left alone.
/// </para>
/// <para>
/// Secret values are added at start-up (<see cref="AddSecret"/>). Each is looked for raw, percent-encoded
/// (<c>%XX</c> for every byte outside the URI unreserved set; also <c>+</c> for a space), and base64 of its
/// UTF-8 bytes (standard and URL-safe alphabet, without padding). Matching ignores case, so lower-case
/// percent-encoding hex is caught too; the price, redacting a value that differs from a secret only by case,
/// errs on the safe side. Values shorter than <see cref="MinimumSecretLength"/> characters are ignored:
/// redacting every <c>abc</c> would make the log useless and such a value is no secret. The base64 forms are
/// those of the value on its own: inside a longer encoded text (<c>Basic</c> of <c>user:secret</c>) the
/// secret's encoding depends on its neighbours and is not found; that is what the patterns are for.
/// </para>
/// <para>
/// Thread-safe: <see cref="Redact(string)"/> reads an immutable snapshot; <see cref="AddSecret"/> swaps it.
/// </para>
/// </remarks>
public sealed class EventRedactor
{
    /// <summary>What a redacted match is replaced with.</summary>
    public const string Replacement = "[REDACTED]";

    /// <summary>Secret values shorter than this are not redacted.</summary>
    public const int MinimumSecretLength = 4;

    private const RegexOptions PatternOptions =
        RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture;

    private static readonly MatchEvaluator ReplaceNonEmpty = static match => match.Length == 0 ? string.Empty : Replacement;

    private readonly Regex[] _patterns;
    private readonly Lock _secretsLock = new();
    private volatile SecretSet? _secrets;

    /// <summary>Creates a redactor from <c>redact</c> patterns (a policy's <c>Redact</c> list).</summary>
    /// <param name="patterns">.NET regular expressions; the policy loader has already checked them.</param>
    /// <exception cref="ArgumentException">A pattern is not a valid regular expression.</exception>
    /// <exception cref="NotSupportedException">A pattern needs backtracking (backreferences, lookarounds, …).</exception>
    public EventRedactor(IEnumerable<string> patterns)
        : this(CompilePatterns(patterns), secrets: null)
    {
    }

    private EventRedactor(Regex[] patterns, SecretSet? secrets)
    {
        _patterns = patterns;
        _secrets = secrets;
    }

    /// <summary>Whether <see cref="Redact(string)"/> can change anything (there are patterns or secrets).</summary>
    public bool IsActive => _patterns.Length != 0 || _secrets is not null;

    /// <summary>Adds the value of an injected secret; every later <see cref="Redact(string)"/> replaces it.</summary>
    /// <param name="value">The secret's actual value.</param>
    /// <returns>False if the value is shorter than <see cref="MinimumSecretLength"/> and is therefore not redacted.</returns>
    public bool AddSecret(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length < MinimumSecretLength)
        {
            return false;
        }

        lock (_secretsLock)
        {
            _secrets = SecretSet.With(_secrets, value);
        }

        return true;
    }

    /// <summary>
    /// A redactor with other patterns (a reloaded policy's) and this one's secrets. Secrets added to either
    /// afterwards are not shared.
    /// </summary>
    /// <param name="patterns">The new policy's <c>redact</c> patterns.</param>
    public EventRedactor WithPatterns(IEnumerable<string> patterns) => new(CompilePatterns(patterns), _secrets);

    /// <summary>Replaces every secret value and every pattern match in <paramref name="value"/> with <c>[REDACTED]</c>.</summary>
    /// <param name="value">A value about to be logged.</param>
    /// <returns>The redacted value; the same instance when nothing matched.</returns>
    public string Redact(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var secrets = _secrets;
        if (secrets is null && _patterns.Length == 0)
        {
            return value;
        }

        // Secrets first: a pattern matching part of a secret would otherwise leave the rest of it behind.
        var result = secrets is null ? value : secrets.Redact(value);
        foreach (var pattern in _patterns)
        {
            result = pattern.Replace(result, ReplaceNonEmpty);
        }

        return result;
    }

    /// <summary>Redacts an event's <c>host</c>, <c>path</c> and <c>detail</c>.</summary>
    /// <param name="egressEvent">The event.</param>
    /// <returns>The redacted event; the same instance when nothing matched.</returns>
    public EgressEvent Redact(EgressEvent egressEvent)
    {
        ArgumentNullException.ThrowIfNull(egressEvent);
        if (!IsActive)
        {
            return egressEvent;
        }

        var host = RedactNullable(egressEvent.Host);
        var path = RedactNullable(egressEvent.Path);
        var detail = RedactNullable(egressEvent.Detail);
        if (ReferenceEquals(host, egressEvent.Host)
            && ReferenceEquals(path, egressEvent.Path)
            && ReferenceEquals(detail, egressEvent.Detail))
        {
            return egressEvent;
        }

        return egressEvent with { Host = host, Path = path, Detail = detail };
    }

    private string? RedactNullable(string? value) => value is null ? null : Redact(value);

    private static Regex[] CompilePatterns(IEnumerable<string> patterns)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        return [.. patterns.Select(static pattern => new Regex(pattern, PatternOptions))];
    }

    /// <summary>An immutable set of secret values and their encoded forms, searched in one pass.</summary>
    private sealed class SecretSet
    {
        private readonly string[] _values;

        // Longest first, so where forms overlap the longest one is redacted.
        private readonly string[] _forms;
        private readonly SearchValues<string> _search;

        private SecretSet(string[] values)
        {
            _values = values;
            _forms = [.. values.SelectMany(Forms).Distinct(StringComparer.OrdinalIgnoreCase).OrderByDescending(static form => form.Length)];
            _search = SearchValues.Create(_forms, StringComparison.OrdinalIgnoreCase);
        }

        public static SecretSet With(SecretSet? set, string value) =>
            set is not null && set._values.Contains(value, StringComparer.Ordinal)
                ? set
                : new SecretSet([.. set?._values ?? [], value]);

        public string Redact(string value)
        {
            var rest = value.AsSpan();
            var index = rest.IndexOfAny(_search);
            if (index < 0)
            {
                return value;
            }

            var builder = new StringBuilder(value.Length);
            while (index >= 0)
            {
                builder.Append(rest[..index]);
                rest = rest[index..];
                var length = MatchLength(rest);
                if (length == 0)
                {
                    // The search and StartsWith disagree on a character; keep it and move on.
                    builder.Append(rest[0]);
                    rest = rest[1..];
                }
                else
                {
                    builder.Append(Replacement);
                    rest = rest[length..];
                }

                index = rest.IndexOfAny(_search);
            }

            return builder.Append(rest).ToString();
        }

        private int MatchLength(ReadOnlySpan<char> text)
        {
            foreach (var form in _forms)
            {
                if (text.StartsWith(form, StringComparison.OrdinalIgnoreCase))
                {
                    return form.Length;
                }
            }

            return 0;
        }

        private static IEnumerable<string> Forms(string value)
        {
            yield return value;
            var escaped = Uri.EscapeDataString(value);
            yield return escaped;
            if (value.Contains(' ', StringComparison.Ordinal))
            {
                yield return escaped.Replace("%20", "+", StringComparison.Ordinal);
            }

            var base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(value)).TrimEnd('=');
            yield return base64;
            yield return base64.Replace('+', '-').Replace('/', '_');
        }
    }
}
