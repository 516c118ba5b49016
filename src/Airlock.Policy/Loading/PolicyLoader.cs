using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace Airlock.Policy.Loading;

/// <summary>
/// Loads YAML or JSON policies into the immutable model. Every user error is reported, all at once, as
/// <c>file:line:col: message</c> with a suggestion where one is obvious; nothing thrown is a user error.
/// </summary>
public static class PolicyLoader
{
    /// <summary>The largest policy accepted, in bytes (16 MiB).</summary>
    public const int MaxPolicyBytes = 16 * 1024 * 1024;

    /// <summary>How deeply mappings and lists may nest; a valid policy needs six levels.</summary>
    internal const int MaxNestingDepth = 64;

    private static readonly SearchValues<char> Whitespace = SearchValues.Create(" \t\r\n");

    /// <summary>
    /// Reads and loads a policy file: JSON when the extension is <c>.json</c> or the first non-whitespace
    /// character is <c>{</c>, YAML otherwise. A file that cannot be read, is over <see cref="MaxPolicyBytes"/>
    /// or is not UTF-8 is reported as an error, not thrown.
    /// </summary>
    /// <param name="path">The file; diagnostics name it as given.</param>
    public static PolicyLoadResult LoadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var diagnostics = new DiagnosticList(path);
        if (!TryReadFile(path, diagnostics, out var bytes))
        {
            return Failed(diagnostics);
        }

        var content = bytes.AsSpan();
        if (content.StartsWith(Encoding.UTF8.Preamble))
        {
            content = content[Encoding.UTF8.Preamble.Length..];
        }

        if (content.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || content.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]))
        {
            diagnostics.Error(1, 1, "the file is UTF-16", "save it as UTF-8");
            return Failed(diagnostics);
        }

        if (!Utf8.IsValid(content))
        {
            Utf8.ToUtf16(content, new char[content.Length], out var valid, out _, replaceInvalidSequences: false);
            var (line, column) = new Utf8PositionTracker(content).PositionOf(valid);
            diagnostics.Error(line, column, "the file is not valid UTF-8", "save it as UTF-8");
            return Failed(diagnostics);
        }

        var json = Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase) || StartsWithBrace(content);
        return json ? LoadJson(content, diagnostics) : LoadYaml(Encoding.UTF8.GetString(content), diagnostics);
    }

    /// <summary>Loads a policy from text: JSON when the first non-whitespace character is <c>{</c>, YAML otherwise.</summary>
    /// <param name="text">The policy text.</param>
    /// <param name="sourceName">The name diagnostics and <see cref="Model.EgressPolicy.Source"/> use, such as a file name.</param>
    public static PolicyLoadResult Parse(string text, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(sourceName);
        var diagnostics = new DiagnosticList(sourceName);
        if (text.Length > MaxPolicyBytes)
        {
            diagnostics.Error(1, 1, TooLarge(text.Length, "characters"), "split the policy or remove unused rules");
            return Failed(diagnostics);
        }

        var start = text.AsSpan().IndexOfAnyExcept(Whitespace);
        if (start >= 0 && text[start] == '\uFEFF')
        {
            text = text[(start + 1)..];
            start = text.AsSpan().IndexOfAnyExcept(Whitespace);
        }

        return start >= 0 && text[start] == '{'
            ? LoadJson(Encoding.UTF8.GetBytes(text), diagnostics)
            : LoadYaml(text, diagnostics);
    }

    private static PolicyLoadResult LoadYaml(string text, DiagnosticList diagnostics)
    {
        var root = YamlTreeReader.Read(text, diagnostics);
        if (root is null && diagnostics.HasErrors)
        {
            return Failed(diagnostics);
        }

        return Validate(root, json: false, diagnostics);
    }

    private static PolicyLoadResult LoadJson(ReadOnlySpan<byte> utf8, DiagnosticList diagnostics)
    {
        if (utf8.IndexOfAnyExcept(" \t\r\n"u8) < 0)
        {
            return Validate(root: null, json: true, diagnostics);
        }

        var root = JsonTreeReader.Read(utf8, diagnostics);
        return root is null ? Failed(diagnostics) : Validate(root, json: true, diagnostics);
    }

    private static PolicyLoadResult Validate(PolicyNode? root, bool json, DiagnosticList diagnostics)
    {
        var policy = PolicyValidator.Validate(root, json, diagnostics);
        if (policy is null)
        {
            return Failed(diagnostics);
        }

        foreach (var shadowed in ShadowedRuleAnalysis.Find(policy.Egress))
        {
            diagnostics.Add(ShadowedRuleAnalysis.ToWarning(shadowed, diagnostics.File));
        }

        return new PolicyLoadResult(policy, diagnostics.ToSortedArray());
    }

    private static PolicyLoadResult Failed(DiagnosticList diagnostics) => new(null, diagnostics.ToSortedArray());

    private static bool TryReadFile(string path, DiagnosticList diagnostics, out byte[] bytes)
    {
        bytes = [];
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            if (stream.CanSeek && stream.Length > MaxPolicyBytes)
            {
                diagnostics.Error(1, 1, TooLarge(stream.Length, "bytes"), "split the policy or remove unused rules");
                return false;
            }

            // Read one byte more than allowed, for files whose length is unknown up front (pipes, /dev/stdin).
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > MaxPolicyBytes)
                {
                    diagnostics.Error(1, 1, TooLarge(buffer.Length, "bytes or more"), "split the policy or remove unused rules");
                    return false;
                }
            }

            bytes = buffer.ToArray();
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            diagnostics.Error(1, 1, $"cannot read the policy: {ex.Message}");
            return false;
        }
    }

    private static string TooLarge(long size, string unit) => string.Create(
        CultureInfo.InvariantCulture,
        $"the policy is {size:N0} {unit}; the limit is {MaxPolicyBytes:N0} bytes (16 MiB)");

    private static bool StartsWithBrace(ReadOnlySpan<byte> utf8)
    {
        var start = utf8.IndexOfAnyExcept(" \t\r\n"u8);
        return start >= 0 && utf8[start] == (byte)'{';
    }
}
