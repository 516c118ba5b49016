using System.Text.Json.Serialization;

namespace Airlock.Client;

/// <summary>
/// A command to run in a sandbox (<c>POST /v1/sandboxes/{id}/exec</c>): the program and its arguments, with no shell
/// unless you name one (<c>["sh", "-c", "make test"]</c>).
/// </summary>
public sealed record ExecCommandRequest
{
    /// <summary>The program and its arguments.</summary>
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>Environment variables over the sandbox's.</summary>
    public IReadOnlyDictionary<string, string>? Env { get; init; }

    /// <summary>The working directory inside the sandbox (absolute, or relative to its workdir); its workdir when null.</summary>
    public string? Workdir { get; init; }

    /// <summary>Text for the command's standard input; closed at once when null.</summary>
    public string? Stdin { get; init; }

    /// <summary>Kill the command after this long, such as <c>30s</c>; the gateway's maximum (10m) when null.</summary>
    public string? Timeout { get; init; }
}

/// <summary>What a chunk of a streamed exec carries.</summary>
public enum ExecChunkKind
{
    /// <summary>Bytes the command wrote to standard output.</summary>
    Stdout,

    /// <summary>Bytes the command wrote to standard error.</summary>
    Stderr,

    /// <summary>The end: the exit code, or why there is none. Always the last chunk.</summary>
    Exit,
}

/// <summary>One chunk of a streamed exec, in the order the command wrote them.</summary>
public sealed record ExecChunk
{
    /// <summary>Output on stdout or stderr, or the end.</summary>
    public required ExecChunkKind Kind { get; init; }

    /// <summary>The bytes as the command wrote them (empty for <see cref="ExecChunkKind.Exit"/>).</summary>
    public ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>For <see cref="ExecChunkKind.Exit"/>: the exit code; null when the command could not run or timed out.</summary>
    public int? ExitCode { get; init; }

    /// <summary>For <see cref="ExecChunkKind.Exit"/>: why there is no exit code, such as <c>timed out after 30s; the command was killed</c>.</summary>
    public string? Error { get; init; }
}

/// <summary>A buffered exec's result (<c>?buffered=true</c>).</summary>
public sealed record ExecResult
{
    /// <summary>Standard output as UTF-8 text (its first 1 MiB).</summary>
    public required string Stdout { get; init; }

    /// <summary>Standard error as UTF-8 text (its first 1 MiB).</summary>
    public required string Stderr { get; init; }

    /// <summary>The exit code; null when the command could not run or timed out (<see cref="Error"/> says why).</summary>
    [JsonPropertyName("exit")]
    public int? ExitCode { get; init; }

    /// <summary>Whether either stream was cut at 1 MiB.</summary>
    public bool Truncated { get; init; }

    /// <summary>Why there is no exit code.</summary>
    public string? Error { get; init; }
}

/// <summary>One line of a streamed exec as the gateway sends it: a chunk (<c>stream</c>, <c>data</c>) or the end (<c>exit</c>, <c>error</c>).</summary>
internal sealed record ExecLine(string? Stream, byte[]? Data, int? Exit, string? Error);

/// <summary>One entry of a directory in a sandbox.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Type"><c>file</c>, <c>dir</c>, <c>link</c> or <c>other</c>.</param>
/// <param name="Size">Its size in bytes (of a link: the link's own).</param>
/// <param name="Mode">Its permission bits in octal, such as <c>0644</c>.</param>
public sealed record FileEntry(string Name, string Type, long Size, string Mode);

/// <summary>A directory listing (<c>GET /v1/sandboxes/{id}/files?list=true</c>).</summary>
/// <param name="Path">The directory, as asked.</param>
/// <param name="Entries">Its entries by name (not <c>.</c> and <c>..</c>).</param>
/// <param name="Truncated">Whether it had more entries than one answer holds.</param>
public sealed record FileList(string Path, IReadOnlyList<FileEntry> Entries, bool Truncated);
