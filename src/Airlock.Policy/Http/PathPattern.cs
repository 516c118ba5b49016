using System.Diagnostics.CodeAnalysis;

namespace Airlock.Policy.Http;

/// <summary>
/// A path glob over <c>/</c>-separated segments, matched against a <see cref="RequestPath"/>.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>*</c> as a whole segment matches exactly one non-empty segment.</item>
/// <item><c>**</c> as a whole segment matches zero or more segments of any kind: <c>/repos/**</c> matches
/// <c>/repos</c>, <c>/repos/</c> and <c>/repos/a/b</c>; <c>/**</c> matches every path.</item>
/// <item><c>*</c> inside a segment matches any run of characters within that segment: <c>*.tgz</c>, <c>v*</c>.</item>
/// <item>Everything else is literal and case-sensitive. Literals are percent-decoded once when the pattern is
/// parsed and compared with the decoded request segments, so <c>%20</c> and a space in the request are the
/// same, <c>%2A</c> is a literal <c>*</c>, and <c>%252e</c> is the literal text <c>%2e</c>.</item>
/// <item>A trailing slash is significant: <c>/user</c> does not match <c>/user/</c>, and <c>/user/</c> does not
/// match <c>/user</c>. The trailing slash is an empty last segment; only a literal trailing slash or <c>**</c>
/// matches it (<c>*</c> and in-segment globs never match an empty segment).</item>
/// </list>
/// <para>Matching is linear in path length times pattern length: <c>**</c> backtracks only to the most
/// recent <c>**</c>, which is sufficient because every other pattern segment consumes exactly one segment.</para>
/// </remarks>
public sealed record PathPattern
{
    private readonly PathPatternSegment[] _segments;

    private PathPattern(string text, PathPatternSegment[] segments)
    {
        Text = text;
        _segments = segments;
    }

    /// <summary>The pattern as written.</summary>
    public string Text { get; }

    /// <summary>Parses a path glob.</summary>
    /// <param name="text">The glob as written.</param>
    /// <param name="pattern">The pattern on success.</param>
    /// <param name="error">What is wrong on failure.</param>
    public static bool TryParse(string text, [NotNullWhen(true)] out PathPattern? pattern, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        pattern = null;
        error = CheckShape(text);
        if (error is not null)
        {
            return false;
        }

        var raw = text[1..].Split('/');
        var segments = new PathPatternSegment[raw.Length];
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i].Length == 0 && i < raw.Length - 1)
            {
                error = $"'{text}' has an empty segment ('//'); requests with one are rejected as malformed, so write a single '/'";
                return false;
            }

            error = ParseSegment(text, raw[i], out segments[i]);
            if (error is not null)
            {
                return false;
            }
        }

        pattern = new PathPattern(text, segments);
        return true;
    }

    /// <summary>Whether the pattern matches a request's path. The asterisk-form <c>*</c> is never matched.</summary>
    /// <param name="path">A normalised request target.</param>
    public bool Matches(RequestPath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return !path.IsAsterisk && Matches(path.Segments.AsSpan());
    }

    /// <summary>Whether every segment of the pattern matches the decoded <paramref name="segments"/>.</summary>
    internal bool Matches(ReadOnlySpan<string> segments)
    {
        var pattern = _segments;
        var p = 0;
        var s = 0;
        var lastAnyDepth = -1;
        var resumeAt = 0;
        while (s < segments.Length)
        {
            if (p < pattern.Length && pattern[p].Kind == PathSegmentKind.AnyDepth)
            {
                // Let this `**` match nothing for now; come back and give it one more segment on a mismatch.
                lastAnyDepth = p++;
                resumeAt = s;
            }
            else if (p < pattern.Length && pattern[p].Matches(segments[s]))
            {
                p++;
                s++;
            }
            else if (lastAnyDepth >= 0)
            {
                p = lastAnyDepth + 1;
                s = ++resumeAt;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p].Kind == PathSegmentKind.AnyDepth)
        {
            p++;
        }

        return p == pattern.Length;
    }

    /// <summary>Equal when written the same way.</summary>
    /// <param name="other">Another pattern.</param>
    public bool Equals(PathPattern? other) => other is not null && string.Equals(Text, other.Text, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => Text.GetHashCode(StringComparison.Ordinal);

    /// <inheritdoc/>
    public override string ToString() => Text;

    private static string? CheckShape(string text)
    {
        if (text.Length == 0)
        {
            return "a path pattern cannot be empty; write '/**' for any path";
        }

        if (text[0] != '/')
        {
            return text.Contains("://", StringComparison.Ordinal)
                ? $"'{text}' is a URL; a path pattern is only the path, starting with '/'"
                : $"'{text}' must start with '/'; did you mean '/{text}'?";
        }

        foreach (var c in text)
        {
            if (c == '?')
            {
                return $"'{text}' contains '?'; constrain query parameters with 'query:' instead";
            }

            if (c == '#')
            {
                return $"'{text}' contains '#'; fragments are never sent to servers";
            }

            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return $"'{text}' contains whitespace or a control character; write a space as %20";
            }
        }

        return null;
    }

    private static string? ParseSegment(string text, string raw, out PathPatternSegment segment)
    {
        segment = PathPatternSegment.OneSegment;
        if (raw == "**")
        {
            segment = PathPatternSegment.AnyDepth;
            return null;
        }

        if (raw == "*")
        {
            return null;
        }

        if (raw.Contains("**", StringComparison.Ordinal))
        {
            return $"'{text}': '**' must be a whole segment, not part of '{raw}'; use '*' for characters within a segment or '/**' for any number of segments";
        }

        if (raw.Contains('*', StringComparison.Ordinal))
        {
            var parts = raw.Split('*');
            for (var i = 0; i < parts.Length; i++)
            {
                var error = Decode(text, raw, parts[i], out parts[i]);
                if (error is not null)
                {
                    return error;
                }

                if (parts[i].AsSpan().IndexOfAny('/', '\\') >= 0)
                {
                    return $"'{text}': segment '{raw}' decodes to a '/' or '\\'; requests with one are rejected as malformed, so it would never match";
                }
            }

            segment = new PathPatternSegment(PathSegmentKind.Glob, string.Empty, TextGlob.FromParts(parts));
            return null;
        }

        var decodeError = Decode(text, raw, raw, out var literal);
        if (decodeError is not null)
        {
            return decodeError;
        }

        if (literal is "." or "..")
        {
            return $"'{text}': '.' and '..' segments are resolved in requests before matching, so write the path without them";
        }

        var problem = RequestPath.CheckDecodedSegment(literal);
        if (problem is not null)
        {
            return $"'{text}': segment '{raw}' would never match: {problem}, and such requests are rejected as malformed";
        }

        segment = new PathPatternSegment(PathSegmentKind.Literal, literal, null);
        return null;
    }

    private static string? Decode(string text, string raw, string part, out string decoded)
    {
        return PercentDecoder.TryDecode(part, plusIsSpace: false, out decoded) switch
        {
            PercentDecodeStatus.InvalidEscape => $"'{text}': segment '{raw}' has a '%' not followed by two hex digits; write '%25' for a literal '%'",
            PercentDecodeStatus.InvalidUtf8 => $"'{text}': segment '{raw}' percent-decodes to invalid UTF-8",
            _ => null,
        };
    }
}

/// <summary>What one pattern segment matches.</summary>
internal enum PathSegmentKind
{
    /// <summary>One segment equal to the decoded literal.</summary>
    Literal,

    /// <summary><c>*</c>: one non-empty segment.</summary>
    OneSegment,

    /// <summary><c>**</c>: zero or more segments.</summary>
    AnyDepth,

    /// <summary>One segment matching an in-segment glob such as <c>*.tgz</c>.</summary>
    Glob,
}

/// <summary>One compiled segment of a <see cref="PathPattern"/>.</summary>
internal sealed class PathPatternSegment(PathSegmentKind kind, string literal, TextGlob? glob)
{
    public static readonly PathPatternSegment OneSegment = new(PathSegmentKind.OneSegment, string.Empty, null);

    public static readonly PathPatternSegment AnyDepth = new(PathSegmentKind.AnyDepth, string.Empty, null);

    public PathSegmentKind Kind { get; } = kind;

    /// <summary>Whether this segment, which is not <c>**</c>, matches exactly one decoded segment.</summary>
    public bool Matches(string segment) => Kind switch
    {
        PathSegmentKind.Literal => string.Equals(segment, literal, StringComparison.Ordinal),
        PathSegmentKind.OneSegment => segment.Length > 0,
        PathSegmentKind.Glob => glob!.Matches(segment),
        _ => false,
    };
}
