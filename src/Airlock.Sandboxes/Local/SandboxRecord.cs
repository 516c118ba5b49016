using System.Text.Json;
using System.Text.Json.Serialization;
using Airlock.Sandboxes.Limits;

namespace Airlock.Sandboxes.Local;

/// <summary>
/// What the supervisor of a local sandbox writes to <c>sandbox.json</c> in the sandbox's state directory, for
/// listings and for finding its events after the fact. It holds no secrets.
/// </summary>
internal sealed record SandboxRecord
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("state")]
    public required string State { get; init; }

    [JsonPropertyName("created_at")]
    public required DateTimeOffset CreatedAt { get; init; }

    [JsonPropertyName("expires_at")]
    public DateTimeOffset? ExpiresAt { get; init; }

    [JsonPropertyName("workdir")]
    public required string WorkDirectory { get; init; }

    [JsonPropertyName("policy")]
    public required string PolicySource { get; init; }

    [JsonPropertyName("events")]
    public required string EventsPath { get; init; }

    [JsonPropertyName("supervisor_pid")]
    public int SupervisorPid { get; init; }

    [JsonPropertyName("limits")]
    public IReadOnlyList<AppliedLimit> Limits { get; init; } = [];

    public const string FileName = "sandbox.json";

    public const string Running = "running";

    public const string Exited = "exited";

    public SandboxInfo ToInfo(bool alive) => new()
    {
        Id = Id,
        Driver = LocalSandboxDriver.DriverName,
        State = alive && State == Running ? SandboxState.Running : SandboxState.Exited,
        CreatedAt = CreatedAt,
        ExpiresAt = ExpiresAt,
        WorkDirectory = WorkDirectory,
        PolicySource = PolicySource,
        EventsPath = EventsPath,
        Limits = Limits,
    };

    /// <summary>Writes the record beside its final name and renames it over, so a reader never sees half of it.</summary>
    public void Write(string directory)
    {
        var temporary = Path.Combine(directory, FileName + ".tmp");
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(this, SandboxJson.Default.SandboxRecord));
        File.Move(temporary, Path.Combine(directory, FileName), overwrite: true);
    }

    /// <summary>Reads a record, or null when there is none or it is unreadable.</summary>
    public static SandboxRecord? Read(string directory)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(directory, FileName)), SandboxJson.Default.SandboxRecord);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>What <c>airlock sandbox create</c> hands its supervisor on standard input (secrets never touch disk or argv).</summary>
internal sealed record SupervisorSpec
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("policy_text")]
    public required string PolicyText { get; init; }

    [JsonPropertyName("policy_source")]
    public required string PolicySource { get; init; }

    [JsonPropertyName("workdir")]
    public required string WorkDirectory { get; init; }

    [JsonPropertyName("env")]
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    [JsonPropertyName("secrets")]
    public IReadOnlyDictionary<string, string> Secrets { get; init; } = new Dictionary<string, string>();

    [JsonPropertyName("limits")]
    public ResourceLimits Limits { get; init; } = new();

    [JsonPropertyName("ttl_seconds")]
    public double? TimeToLiveSeconds { get; init; }

    [JsonPropertyName("resolve")]
    public IReadOnlyDictionary<string, string[]> Resolve { get; init; } = new Dictionary<string, string[]>();

    [JsonPropertyName("resolve_ports")]
    public IReadOnlyDictionary<string, int> ResolvePorts { get; init; } = new Dictionary<string, int>();

    [JsonPropertyName("upstream_roots_pem")]
    public string? UpstreamRootsPem { get; init; }

    [JsonPropertyName("events")]
    public required string EventsPath { get; init; }

    [JsonPropertyName("airlock")]
    public required IReadOnlyList<string> AirlockCommand { get; init; }

    /// <summary>The control plane the proxy dials, in its <c>--control</c> form; null for none.</summary>
    [JsonPropertyName("control")]
    public string? Control { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SandboxRecord))]
[JsonSerializable(typeof(SupervisorSpec))]
internal sealed partial class SandboxJson : JsonSerializerContext;
