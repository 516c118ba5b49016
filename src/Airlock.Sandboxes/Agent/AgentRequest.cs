using System.Text.Json;
using System.Text.Json.Serialization;

namespace Airlock.Sandboxes.Agent;

/// <summary>
/// What a channel is opened for. <c>exec</c>, <c>put</c>, <c>get</c> and <c>ping</c> are carried out by the
/// agent inside the sandbox; <c>status</c> and <c>shutdown</c> are answered by the supervisor on the host.
/// </summary>
public sealed record AgentRequest
{
    /// <summary>Run a command.</summary>
    public const string Exec = "exec";

    /// <summary>Write a file from the <see cref="FrameKind.Data"/> frames that follow.</summary>
    public const string Put = "put";

    /// <summary>Read a file as <see cref="FrameKind.Data"/> frames.</summary>
    public const string Get = "get";

    /// <summary>Check that the agent answers.</summary>
    public const string Ping = "ping";

    /// <summary>The supervisor's view of the sandbox.</summary>
    public const string Status = "status";

    /// <summary>Delete the sandbox.</summary>
    public const string Shutdown = "shutdown";

    /// <summary>One of the operation names above.</summary>
    [JsonPropertyName("op")]
    public required string Op { get; init; }

    /// <summary>The command and its arguments (<c>exec</c>).</summary>
    [JsonPropertyName("argv")]
    public IReadOnlyList<string>? Argv { get; init; }

    /// <summary>Extra environment (<c>exec</c>), over the sandbox's own.</summary>
    [JsonPropertyName("env")]
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>The working directory (<c>exec</c>; default the sandbox's workdir).</summary>
    [JsonPropertyName("cwd")]
    public string? WorkingDirectory { get; init; }

    /// <summary>The file inside the sandbox (<c>put</c>, <c>get</c>): absolute, or relative to the workdir.</summary>
    [JsonPropertyName("path")]
    public string? Path { get; init; }

    /// <summary>Permission bits of an uploaded file (<c>put</c>; default 0644).</summary>
    [JsonPropertyName("mode")]
    public int? Mode { get; init; }

    /// <summary>Serialises the request.</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, AgentJson.Default.AgentRequest);

    /// <summary>Parses a request, or returns null with a reason.</summary>
    public static AgentRequest? Parse(ReadOnlySpan<byte> json, out string? error)
    {
        try
        {
            var request = JsonSerializer.Deserialize(json, AgentJson.Default.AgentRequest);
            error = request is null ? "empty request" : null;
            return request;
        }
        catch (JsonException e)
        {
            error = "malformed request: " + e.Message;
            return null;
        }
    }
}

/// <summary>How an exec ended.</summary>
/// <param name="ExitCode">The exit code; 128 + N when killed by signal N.</param>
public sealed record ExitStatus([property: JsonPropertyName("exit_code")] int ExitCode);

/// <summary>Source-generated JSON for the agent protocol (NativeAOT).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AgentRequest))]
[JsonSerializable(typeof(ExitStatus))]
internal sealed partial class AgentJson : JsonSerializerContext;
