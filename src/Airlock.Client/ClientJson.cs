using System.Text.Json;
using System.Text.Json.Serialization;

namespace Airlock.Client;

/// <summary>The API's JSON: camelCase, source-generated (the SDK works under NativeAOT).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateSandboxRequest))]
[JsonSerializable(typeof(Sandbox))]
[JsonSerializable(typeof(SandboxPage))]
[JsonSerializable(typeof(ExecCommandRequest))]
[JsonSerializable(typeof(ExecLine))]
[JsonSerializable(typeof(ExecResult))]
[JsonSerializable(typeof(FileList))]
[JsonSerializable(typeof(PolicyValidation))]
[JsonSerializable(typeof(PolicyVersion))]
[JsonSerializable(typeof(PolicyListWire))]
[JsonSerializable(typeof(ApplyPolicyRequest))]
[JsonSerializable(typeof(SuggestPolicyWire))]
[JsonSerializable(typeof(PolicySuggestion))]
[JsonSerializable(typeof(Approval))]
[JsonSerializable(typeof(ApprovalListWire))]
[JsonSerializable(typeof(DecideApprovalWire))]
internal sealed partial class ClientJsonContext : JsonSerializerContext;

/// <summary>Events are the proxy's own lines: snake_case.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(EgressEvent))]
internal sealed partial class EventJsonContext : JsonSerializerContext;

/// <summary>Sandbox states on the wire are lowercase names; one this SDK does not know reads as <see cref="SandboxState.Unknown"/>.</summary>
internal sealed class SandboxStateConverter : JsonConverter<SandboxState>
{
    public static string Name(SandboxState state) => state switch
    {
        SandboxState.Pending => "pending",
        SandboxState.Ready => "ready",
        SandboxState.Failed => "failed",
        SandboxState.Deleting => "deleting",
        SandboxState.Deleted => "deleted",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not a state the gateway knows"),
    };

    public override SandboxState Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetString() switch
        {
            "pending" => SandboxState.Pending,
            "ready" => SandboxState.Ready,
            "failed" => SandboxState.Failed,
            "deleting" => SandboxState.Deleting,
            "deleted" => SandboxState.Deleted,
            _ => SandboxState.Unknown,
        };

    public override void Write(Utf8JsonWriter writer, SandboxState value, JsonSerializerOptions options) =>
        writer.WriteStringValue(Name(value));
}
