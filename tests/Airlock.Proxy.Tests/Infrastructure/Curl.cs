using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Airlock.Proxy.Tests.Infrastructure;

/// <summary>How <see cref="Curl"/> runs one transfer. Immutable.</summary>
public sealed record CurlOptions
{
    /// <summary>30 s, write-out on, no stdin, no extra environment.</summary>
    public static CurlOptions Default { get; } = new();

    /// <summary>Wall-clock limit; past it the process is killed and <see cref="CurlResult.TimedOut"/> is set. Pair with curl's own <c>--max-time</c> for exit code 28.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Appends <c>--write-out</c> so <see cref="CurlResult"/> can report status, version, sizes and headers;
    /// skipped anyway when the arguments carry their own <c>-w</c>/<c>--write-out</c>.
    /// </summary>
    public bool WriteOut { get; init; } = true;

    /// <summary>Bytes fed to curl's stdin (for <c>--data-binary @-</c>); null closes stdin at once.</summary>
    public byte[]? Stdin { get; init; }

    /// <summary>
    /// Variables set for curl after the inherited <c>*_proxy</c>, <c>CURL_*</c> and <c>SSL_CERT_*</c> ones are
    /// removed, e.g. <c>HTTPS_PROXY</c> to test proxy discovery through the environment. Null values remove.
    /// </summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
}

/// <summary>
/// Runs the real curl binary (installed by <c>scripts/install-deps.sh</c>). <c>-q</c> comes first so no
/// <c>.curlrc</c> applies, and inherited proxy variables are removed, so only the given arguments count.
/// </summary>
/// <example><code>
/// var result = await Curl.RunAsync("-sS", "--cacert", TestCertificates.RootPemPath,
///     "--resolve", origin.CurlResolveHttps(), origin.HttpsUrl("/echo").ToString());
/// Assert.Equal(200, result.StatusCode);
/// </code></example>
public static class Curl
{
    /// <summary>The curl binary.</summary>
    public const string Executable = "/usr/bin/curl";

    /// <summary>Separates the body from the appended write-out on stdout.</summary>
    internal const string WriteOutMarker = "\n--airlock-curl-write-out--\n";

    // curl expands \n itself; the JSON object is {"w": %{json}, "h": %{header_json}}.
    private const string WriteOutFormat = "\\n--airlock-curl-write-out--\\n{\"w\":%{json},\"h\":%{header_json}}";

    /// <summary>Runs curl with <paramref name="args"/> under <see cref="CurlOptions.Default"/>.</summary>
    public static Task<CurlResult> RunAsync(params string[] args) => RunAsync(CurlOptions.Default, args);

    /// <summary>Runs curl with <paramref name="args"/>; never throws for curl's own failures (see <see cref="CurlResult.ExitCode"/>).</summary>
    public static async Task<CurlResult> RunAsync(CurlOptions options, params string[] args)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(args);
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException($"{Executable} not found; run scripts/install-deps.sh");
        }

        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-q");
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var writeOut = options.WriteOut && !args.Any(a => a is "-w" or "--write-out" || a.StartsWith("--write-out=", StringComparison.Ordinal));
        if (writeOut)
        {
            start.ArgumentList.Add("--write-out");
            start.ArgumentList.Add(WriteOutFormat);
        }

        foreach (var name in start.Environment.Keys.Where(IsInheritedCurlSetting).ToList())
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in options.Environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("curl did not start");
        var stdout = ReadAllAsync(process.StandardOutput.BaseStream);
        var stderr = process.StandardError.ReadToEndAsync();
        await FeedStdinAsync(process, options.Stdin);

        var timedOut = false;
        using (var limit = new CancellationTokenSource(options.Timeout))
        {
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                timedOut = true;
                Kill(process);
                await process.WaitForExitAsync();
            }
        }

        var elapsed = clock.Elapsed;
        return CurlResult.Parse(process.ExitCode, await stdout, await stderr, timedOut, elapsed, writeOut);
    }

    private static bool IsInheritedCurlSetting(string name) =>
        name.EndsWith("_proxy", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("CURL_", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("SSL_CERT_", StringComparison.OrdinalIgnoreCase);

    private static async Task FeedStdinAsync(Process process, byte[]? stdin)
    {
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.BaseStream.WriteAsync(stdin);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // curl exited (or closed stdin) before reading it all; its exit code tells the story.
        }
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited between the timeout and the kill.
        }
    }
}

/// <summary>What one curl run produced. Write-out fields are null when write-out was off or curl never printed it.</summary>
public sealed class CurlResult
{
    private CurlResult(int exitCode, byte[] stdoutBytes, string stderr, bool timedOut, TimeSpan elapsed, JsonElement? writeOut, IReadOnlyDictionary<string, string[]> responseHeaders)
    {
        ExitCode = exitCode;
        StdoutBytes = stdoutBytes;
        Stdout = Encoding.UTF8.GetString(stdoutBytes);
        Stderr = stderr;
        TimedOut = timedOut;
        Elapsed = elapsed;
        WriteOut = writeOut;
        ResponseHeaders = responseHeaders;
    }

    /// <summary>curl's exit code (0 success, 7 connect failed, 28 timeout, 35 TLS, 56 recv failure, 60 cert; 137 or -1 when killed).</summary>
    public int ExitCode { get; }

    /// <summary>The response body (without the write-out).</summary>
    public byte[] StdoutBytes { get; }

    /// <summary><see cref="StdoutBytes"/> as UTF-8.</summary>
    public string Stdout { get; }

    /// <summary>curl's stderr (errors with <c>-sS</c>, the trace with <c>-v</c>).</summary>
    public string Stderr { get; }

    /// <summary>True when <see cref="CurlOptions.Timeout"/> passed and the process was killed.</summary>
    public bool TimedOut { get; }

    /// <summary>Wall-clock time from start to exit (or kill).</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>curl's <c>%{json}</c> write-out object (every variable), when present.</summary>
    public JsonElement? WriteOut { get; }

    /// <summary>Headers of the last response (<c>%{header_json}</c>), names lower-case; empty without write-out.</summary>
    public IReadOnlyDictionary<string, string[]> ResponseHeaders { get; }

    /// <summary>The final response status (<c>%{http_code}</c>), or null when no response arrived.</summary>
    public int? StatusCode => NonZero(Number("http_code"));

    /// <summary>The status of the proxy's answer to CONNECT (<c>%{http_connect}</c>), or null when there was none.</summary>
    public int? ConnectStatusCode => NonZero(Number("http_connect"));

    /// <summary><c>1.1</c>, <c>2</c>, ... of the final response (<c>%{http_version}</c>), or null when none.</summary>
    public string? HttpVersion => Text("http_version") is { } v && v != "0" ? v : null;

    /// <summary>Body bytes downloaded (<c>%{size_download}</c>).</summary>
    public long? SizeDownload => Number("size_download");

    /// <summary>curl's error message (<c>%{errormsg}</c>), or null on success.</summary>
    public string? ErrorMessage => Text("errormsg");

    /// <summary>Whether curl exited 0 in time.</summary>
    public bool Succeeded => ExitCode == 0 && !TimedOut;

    /// <summary>A response header's values joined with <c>", "</c>, or null.</summary>
    public string? Header(string name) =>
        ResponseHeaders.TryGetValue(name.ToLowerInvariant(), out var values) ? string.Join(", ", values) : null;

    /// <inheritdoc />
    public override string ToString() =>
        $"curl exit {ExitCode}{(TimedOut ? " (killed on timeout)" : string.Empty)}, status {StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, {Elapsed.TotalMilliseconds:F0} ms; stderr: {Stderr.Trim()}";

    internal static CurlResult Parse(int exitCode, byte[] stdout, string stderr, bool timedOut, TimeSpan elapsed, bool writeOut)
    {
        var marker = Encoding.ASCII.GetBytes(Curl.WriteOutMarker);
        var at = writeOut ? stdout.AsSpan().LastIndexOf(marker) : -1;
        if (at < 0)
        {
            return new CurlResult(exitCode, stdout, stderr, timedOut, elapsed, null, new Dictionary<string, string[]>());
        }

        using var document = JsonDocument.Parse(stdout.AsMemory(at + marker.Length));
        var headers = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in document.RootElement.GetProperty("h").EnumerateObject())
        {
            headers[header.Name] = [.. header.Value.EnumerateArray().Select(v => v.GetString() ?? string.Empty)];
        }

        return new CurlResult(exitCode, stdout[..at], stderr, timedOut, elapsed, document.RootElement.GetProperty("w").Clone(), headers);
    }

    private static int? NonZero(long? value) => value is null or 0 ? null : (int)value;

    private long? Number(string name) =>
        WriteOut is { } w && w.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : null;

    private string? Text(string name) =>
        WriteOut is { } w && w.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
