using System.Text.Json.Serialization;

namespace Airlock.Server.Store;

/// <summary>Source-generated JSON for what the store keeps as JSON (sandbox labels).</summary>
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSourceGenerationOptions(WriteIndented = false)]
internal sealed partial class StoreJson : JsonSerializerContext;
