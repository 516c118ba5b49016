using System.Text.Json;
using System.Text.Json.Nodes;

namespace Airlock.Kubernetes.Tests.Verification;

/// <summary>An API group, version and kind; the core group is the empty string.</summary>
public sealed record GroupVersionKind(string Group, string Version, string Kind)
{
    /// <summary>The <c>apiVersion</c> an object of this kind carries (<c>v1</c>, <c>apps/v1</c>).</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>
    /// The kind <paramref name="obj"/> declares through <c>apiVersion</c> and <c>kind</c>, or <see langword="null"/>
    /// with <paramref name="error"/> saying what is missing.
    /// </summary>
    public static GroupVersionKind? Of(JsonNode obj, out string? error)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var apiVersion = obj["apiVersion"] is JsonValue a && a.GetValueKind() == JsonValueKind.String ? a.GetValue<string>() : null;
        var kind = obj["kind"] is JsonValue k && k.GetValueKind() == JsonValueKind.String ? k.GetValue<string>() : null;
        if (string.IsNullOrEmpty(apiVersion) || string.IsNullOrEmpty(kind))
        {
            error = "(root): apiVersion and kind must both be set to non-empty strings";
            return null;
        }

        error = null;
        var slash = apiVersion.IndexOf('/', StringComparison.Ordinal);
        return slash < 0
            ? new GroupVersionKind(string.Empty, apiVersion, kind)
            : new GroupVersionKind(apiVersion[..slash], apiVersion[(slash + 1)..], kind);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{ApiVersion}, Kind={Kind}";
}
