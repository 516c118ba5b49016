using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Airlock.Policy.Http;

/// <summary>
/// A request target normalised for policy matching. Parsing is strict because this is where path-confusion
/// bypasses live: anything an origin server could read as a different path than the one matched is malformed.
/// </summary>
/// <remarks>
/// <para>Input is the origin-form target as received (<c>/repos/a/../b?x=1</c>) or the asterisk-form <c>*</c>.
/// Absolute-form targets must be reduced to origin-form (and their authority checked) by the caller.</para>
/// <para>Path rules:</para>
/// <list type="bullet">
/// <item>It must start with <c>/</c>; it is split at <c>/</c> into segments and each segment is percent-decoded
/// once, into strict UTF-8 (invalid escapes, invalid UTF-8 and overlong forms are malformed).</item>
/// <item>Raw spaces, control characters, non-ASCII characters and <c>#</c> are malformed: clients never send
/// them, and an origin that treats <c>#</c> as part of the path would disagree with one that drops a fragment.</item>
/// <item>A decoded segment containing <c>/</c>, <c>\</c> or a control character (<c>%2F</c>, <c>%5C</c>,
/// <c>%00</c>) is malformed, as is a Unicode look-alike that folds to <c>/</c>, <c>\</c> or dots.</item>
/// <item><c>.</c> and <c>..</c> segments, including encoded ones (<c>%2e</c>, <c>%2E%2e</c>), are resolved as in
/// RFC 3986 §5.2.4; a trailing one leaves a trailing slash. Going above the root is malformed. Other
/// segments made only of dots, or dots followed by <c>;parameters</c> or spaces (<c>...</c>, <c>..;</c>,
/// <c>..%20</c>), are malformed: some servers read them as <c>..</c>.</item>
/// <item>An empty segment (<c>//</c>) is malformed except as the last one (a trailing slash): servers that
/// merge slashes and servers that do not would resolve a following <c>..</c> differently.</item>
/// <item>Decoding happens once. A segment that decodes a second time to a dot segment, <c>/</c>, <c>\</c> or
/// a control character (<c>%252e%252e</c>, <c>%252F</c>) is malformed, since some servers decode twice;
/// other <c>%</c> characters stay literal (<c>%2525</c> is the segment <c>%25</c>).</item>
/// </list>
/// <para>Segments: <c>/</c> is one empty segment, <c>/a</c> is <c>[a]</c>, <c>/a/</c> is <c>[a, ""]</c>.</para>
/// <para>Query: everything after the first <c>?</c>, split at <c>&amp;</c>, each pair at its first <c>=</c>,
/// percent-decoded with <c>+</c> as a space. Invalid escapes, invalid UTF-8, control characters in names and
/// NUL in values are malformed.</para>
/// </remarks>
public sealed class RequestPath
{
    private const string NotOriginForm = "the request target must start with '/' (origin-form) or be '*'";
    private const string RawCharacter = "the request target contains a space, control, non-ASCII or '#' character that should have been percent-encoded";
    private const string EmptySegment = "the path has an empty segment ('//')";
    private const string InvalidEscape = "the request target has a '%' that is not followed by two hex digits";
    private const string InvalidUtf8 = "the request target percent-decodes to invalid UTF-8";
    private const string AboveRoot = "the path goes above the root with '..'";
    private const string EncodedSlash = "a path segment contains an encoded '/' (%2F)";
    private const string Backslash = "a path segment contains '\\'";
    private const string ControlCharacter = "a path segment contains a control character";
    private const string DotLike = "a path segment is made of dots with parameters or trailing spaces ('..;', '...', '.. ')";
    private const string DoubleEncoded = "a path segment is double-encoded ('%252e', '%252F')";
    private const string Lookalike = "a path segment contains a Unicode look-alike of '/', '\\' or '.'";
    private const string QueryNameControl = "a query parameter name contains a control character";
    private const string QueryValueNul = "a query parameter value contains NUL (%00)";

    private RequestPath(
        ImmutableArray<string> segments,
        string path,
        string? query,
        ImmutableArray<QueryParameter> parameters,
        ImmutableArray<QueryParameter> semicolonParameters)
    {
        Segments = segments;
        Path = path;
        Query = query;
        QueryParameters = parameters;
        SemicolonQueryParameters = semicolonParameters;
    }

    /// <summary>Whether the target is the asterisk-form <c>*</c> (no segments, no query).</summary>
    public bool IsAsterisk => Segments.IsEmpty;

    /// <summary>The decoded path segments after dot-segment resolution; empty only for the asterisk-form.</summary>
    public ImmutableArray<string> Segments { get; }

    /// <summary>
    /// The path with dot segments resolved and every other segment exactly as received (so an origin decodes
    /// it as the policy did). This, not the received target, is what a proxy should forward.
    /// </summary>
    public string Path { get; }

    /// <summary>The raw query after the first <c>?</c> (possibly empty), or <see langword="null"/> when there is no <c>?</c>.</summary>
    public string? Query { get; }

    /// <summary>The query's parameters in order, split at <c>&amp;</c>; repeated names appear once per occurrence.</summary>
    public ImmutableArray<QueryParameter> QueryParameters { get; }

    /// <summary>
    /// The query split at both <c>&amp;</c> and <c>;</c>, as some servers do; the same as
    /// <see cref="QueryParameters"/> when the query has no <c>;</c>.
    /// </summary>
    internal ImmutableArray<QueryParameter> SemicolonQueryParameters { get; }

    /// <summary>The path and, when present, <c>?</c> and the query: the target to forward.</summary>
    public string PathAndQuery => Query is null ? Path : Path + "?" + Query;

    /// <summary>Parses and normalises a request target.</summary>
    /// <param name="target">The origin-form target as received, or <c>*</c>.</param>
    /// <param name="path">The normalised target on success.</param>
    /// <param name="problem">Why the target is malformed, on failure. Never echoes the target.</param>
    public static bool TryParse(string target, [NotNullWhen(true)] out RequestPath? path, [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(target);
        path = null;
        if (target == "*")
        {
            path = new RequestPath([], "*", null, [], []);
            problem = null;
            return true;
        }

        if (target.Length == 0 || target[0] != '/')
        {
            problem = NotOriginForm;
            return false;
        }

        foreach (var c in target)
        {
            if (c <= ' ' || c >= '\u007f' || c == '#')
            {
                problem = RawCharacter;
                return false;
            }
        }

        var queryStart = target.IndexOf('?', StringComparison.Ordinal);
        var pathEnd = queryStart < 0 ? target.Length : queryStart;
        problem = ParseSegments(target.AsSpan(0, pathEnd), out var segments, out var normalizedPath);
        if (problem is not null)
        {
            return false;
        }

        string? query = null;
        ImmutableArray<QueryParameter> parameters = [];
        var semicolonParameters = parameters;
        if (queryStart >= 0)
        {
            query = target[(queryStart + 1)..];
            if (!PercentDecoder.HasValidEscapes(query))
            {
                problem = InvalidEscape;
                return false;
            }

            problem = ParseQuery(query, "&", out parameters);
            semicolonParameters = parameters;
            if (problem is null && query.Contains(';', StringComparison.Ordinal))
            {
                problem = ParseQuery(query, "&;", out semicolonParameters);
            }

            if (problem is not null)
            {
                return false;
            }
        }

        path = new RequestPath(segments, normalizedPath ?? target[..pathEnd], query, parameters, semicolonParameters);
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => PathAndQuery;

    /// <summary>
    /// Why a decoded segment (other than exactly <c>.</c> or <c>..</c>) could be read by some server as
    /// something else, or <see langword="null"/> when it is safe to match literally.
    /// </summary>
    internal static string? CheckDecodedSegment(string segment)
    {
        var ascii = true;
        foreach (var c in segment)
        {
            if (c == '/')
            {
                return EncodedSlash;
            }

            if (c == '\\')
            {
                return Backslash;
            }

            if (char.IsControl(c))
            {
                return ControlCharacter;
            }

            if (IsSlashLookalike(c))
            {
                return Lookalike;
            }

            ascii &= char.IsAscii(c);
        }

        if (IsDotOnly(segment))
        {
            return DotLike;
        }

        if (segment.Contains('%', StringComparison.Ordinal)
            && PercentDecoder.TryDecode(segment, plusIsSpace: false, out var twice) == PercentDecodeStatus.Done
            && IsUnsafeAfterFolding(twice))
        {
            return DoubleEncoded;
        }

        if (!ascii && IsUnsafeAfterFolding(segment.Normalize(NormalizationForm.FormKC)))
        {
            return Lookalike;
        }

        return null;
    }

    private static string? ParseSegments(ReadOnlySpan<char> rawPath, out ImmutableArray<string> segments, out string? normalizedPath)
    {
        segments = [];
        normalizedPath = null;
        var decodedSegments = ImmutableArray.CreateBuilder<string>();
        List<Range>? kept = null;
        var start = 1;
        while (true)
        {
            var slash = rawPath[start..].IndexOf('/');
            var last = slash < 0;
            var end = last ? rawPath.Length : start + slash;
            var raw = rawPath[start..end];
            if (raw.IsEmpty && !last)
            {
                return EmptySegment;
            }

            switch (PercentDecoder.TryDecode(raw, plusIsSpace: false, out var decoded))
            {
                case PercentDecodeStatus.InvalidEscape:
                    return InvalidEscape;
                case PercentDecodeStatus.InvalidUtf8:
                    return InvalidUtf8;
            }

            if (decoded is "." or "..")
            {
                // Resolution needs the raw text of the segments that survive; collect it from here on.
                kept ??= CollectRanges(rawPath, start);
                if (decoded == "..")
                {
                    if (decodedSegments.Count == 0)
                    {
                        return AboveRoot;
                    }

                    decodedSegments.RemoveAt(decodedSegments.Count - 1);
                    kept.RemoveAt(kept.Count - 1);
                }

                if (last)
                {
                    decodedSegments.Add(string.Empty);
                    kept.Add(end..end);
                }
            }
            else
            {
                var problem = CheckDecodedSegment(decoded);
                if (problem is not null)
                {
                    return problem;
                }

                decodedSegments.Add(decoded);
                kept?.Add(start..end);
            }

            if (last)
            {
                break;
            }

            start = end + 1;
        }

        segments = decodedSegments.DrainToImmutable();
        if (kept is not null)
        {
            var builder = new StringBuilder(rawPath.Length);
            foreach (var range in kept)
            {
                builder.Append('/').Append(rawPath[range]);
            }

            normalizedPath = builder.ToString();
        }

        return null;
    }

    // The raw ranges of the segments before `end` (all of them plain: a dot segment starts the collection).
    private static List<Range> CollectRanges(ReadOnlySpan<char> rawPath, int end)
    {
        var ranges = new List<Range>();
        var start = 1;
        while (start < end)
        {
            var slash = rawPath[start..].IndexOf('/') + start;
            ranges.Add(start..slash);
            start = slash + 1;
        }

        return ranges;
    }

    private static string? ParseQuery(string query, string separators, out ImmutableArray<QueryParameter> parameters)
    {
        parameters = [];
        var builder = ImmutableArray.CreateBuilder<QueryParameter>();
        var rest = query.AsSpan();
        while (true)
        {
            var separator = rest.IndexOfAny(separators);
            var pair = separator < 0 ? rest : rest[..separator];
            if (!pair.IsEmpty)
            {
                var equals = pair.IndexOf('=');
                var rawName = equals < 0 ? pair : pair[..equals];
                var rawValue = equals < 0 ? ReadOnlySpan<char>.Empty : pair[(equals + 1)..];
                if (PercentDecoder.TryDecode(rawName, plusIsSpace: true, out var name) != PercentDecodeStatus.Done
                    || PercentDecoder.TryDecode(rawValue, plusIsSpace: true, out var value) != PercentDecodeStatus.Done)
                {
                    // Escapes were checked up front, so only the UTF-8 can be wrong.
                    return InvalidUtf8;
                }

                foreach (var c in name)
                {
                    if (char.IsControl(c))
                    {
                        return QueryNameControl;
                    }
                }

                if (value.Contains('\0', StringComparison.Ordinal))
                {
                    return QueryValueNul;
                }

                builder.Add(new QueryParameter(name, value));
            }

            if (separator < 0)
            {
                break;
            }

            rest = rest[(separator + 1)..];
        }

        parameters = builder.DrainToImmutable();
        return null;
    }

    // Dots only, ignoring `;parameters` and trailing spaces: `.`, `..`, `...`, `..;x`, `.. `.
    private static bool IsDotOnly(ReadOnlySpan<char> segment)
    {
        var semicolon = segment.IndexOf(';');
        var core = (semicolon < 0 ? segment : segment[..semicolon]).TrimEnd(' ');
        return !core.IsEmpty && !core.ContainsAnyExcept('.');
    }

    private static bool IsUnsafeAfterFolding(string text)
    {
        foreach (var c in text)
        {
            if (c is '/' or '\\' || char.IsControl(c) || IsSlashLookalike(c))
            {
                return true;
            }
        }

        return IsDotOnly(text);
    }

    // Characters that Windows "best fit" mapping and similar folds turn into a path separator but that
    // NFKC leaves alone: division slash, fraction slash, set minus, reverse solidus operator.
    private static bool IsSlashLookalike(char c) => c is '\u2215' or '\u2044' or '\u2216' or '\u29f5';
}
