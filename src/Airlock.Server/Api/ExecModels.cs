using System.Text.Json;
using System.Text.Json.Serialization;

namespace Airlock.Server.Api;

/// <summary><c>POST /v1/sandboxes/{id}/exec</c>.</summary>
public sealed record ExecCommandRequest
{
    /// <summary>The program and its arguments (no shell unless the first is one).</summary>
    public IReadOnlyList<string>? Command { get; init; }

    /// <summary>Environment variables over the sandbox's.</summary>
    public Dictionary<string, string>? Env { get; init; }

    /// <summary>The working directory inside the sandbox; its workdir when null.</summary>
    public string? Workdir { get; init; }

    /// <summary>Text for the command's standard input (UTF-8); closed at once when null.</summary>
    public string? Stdin { get; init; }

    /// <summary>Kill the command after this long, such as <c>30s</c>; at most (and by default) ten minutes.</summary>
    public string? Timeout { get; init; }
}

/// <summary>One chunk of a streamed exec's output: an NDJSON line, or an SSE event's data.</summary>
/// <param name="Stream"><c>stdout</c> or <c>stderr</c>.</param>
/// <param name="Data">The bytes as the command wrote them (base64 in JSON).</param>
public sealed record ExecChunk(string Stream, byte[] Data);

/// <summary>The last line of a streamed exec: the exit code, or why there is none.</summary>
/// <param name="Exit">The exit code; null when the command could not run, timed out, or the sandbox failed.</param>
/// <param name="Error">What went wrong; absent when the command exited.</param>
public sealed record ExecEnd(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? Exit,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error);

/// <summary>A buffered exec's answer (<c>?buffered=true</c>).</summary>
public sealed record ExecResultView
{
    /// <summary>Standard output as UTF-8 text, at most <see cref="GatewayApi.BufferedOutputLimit"/> bytes of it.</summary>
    public required string Stdout { get; init; }

    /// <summary>Standard error, capped the same way.</summary>
    public required string Stderr { get; init; }

    /// <summary>The exit code; null when the command could not run or timed out.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public required int? Exit { get; init; }

    /// <summary>Whether either stream was cut at the cap.</summary>
    public required bool Truncated { get; init; }

    /// <summary>Why there is no exit code; absent when the command exited.</summary>
    public string? Error { get; init; }
}

/// <summary>One entry of a directory listing.</summary>
/// <param name="Name">The entry's name (invalid UTF-8 replaced by U+FFFD).</param>
/// <param name="Type"><c>file</c>, <c>dir</c>, <c>link</c> or <c>other</c> (a FIFO, socket or device).</param>
/// <param name="Size">Its size in bytes (of a link: the link's own).</param>
/// <param name="Mode">Its permission bits in octal, such as <c>0644</c>.</param>
public sealed record FileEntryView(string Name, string Type, long Size, string Mode);

/// <summary><c>GET /v1/sandboxes/{id}/files?list=true</c>.</summary>
/// <param name="Path">The directory listed, as asked.</param>
/// <param name="Entries">Its entries (not <c>.</c> and <c>..</c>), by name.</param>
/// <param name="Truncated">Whether the directory had more entries than one answer holds.</param>
public sealed record FileListView(string Path, IReadOnlyList<FileEntryView> Entries, bool Truncated);

/// <summary>The exec and files endpoints' JSON (source-generated: the gateway runs as NativeAOT).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ExecCommandRequest))]
[JsonSerializable(typeof(ExecChunk))]
[JsonSerializable(typeof(ExecEnd))]
[JsonSerializable(typeof(ExecResultView))]
[JsonSerializable(typeof(FileListView))]
public sealed partial class ExecJsonContext : JsonSerializerContext;
