using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Airlock.Kubernetes.Tests.Verification;

/// <summary>Which flavour of OpenAPI schema is being walked; they differ on objects that declare no fields.</summary>
internal enum SchemaDialect
{
    /// <summary>
    /// The built-in types' OpenAPI v3 documents: an object schema with neither <c>properties</c> nor
    /// <c>additionalProperties</c> (<c>RawExtension</c>, <c>FieldsV1</c>) holds arbitrary JSON.
    /// </summary>
    OpenApi,

    /// <summary>
    /// A CRD's structural schema: a field not in <c>properties</c> is unknown (pruned, and an error under strict
    /// field validation) unless <c>x-kubernetes-preserve-unknown-fields</c> or <c>additionalProperties</c> keeps it.
    /// </summary>
    Structural,
}

/// <summary>
/// Validates a JSON value against an OpenAPI v3 schema the way the API server does under strict field validation:
/// unknown fields, required fields, types, formats, enums, patterns, bounds, list-map keys. Errors are
/// <c>path: message</c> strings such as <c>spec.containers[0].securityContext.runAsUser: expected integer, got string</c>.
/// Not evaluated: <c>x-kubernetes-validations</c> (CEL rules), defaults, and the hand-written validation the
/// API server runs after decoding (names, label syntax, cross-field rules), apart from the enums in
/// <see cref="KubernetesEnums"/>.
/// </summary>
internal sealed partial class StrictSchemaValidator
{
    private static readonly ConcurrentDictionary<string, Regex> Patterns = new(StringComparer.Ordinal);

    private readonly SchemaDialect _dialect;
    private readonly Func<string, JsonObject>? _resolveReference;
    private readonly IReadOnlyDictionary<JsonNode, IReadOnlyList<string>> _enumsBySchema;
    private readonly JsonNode? _quantitySchema;
    private readonly Action<JsonNode, string, List<string>>? _validateEmbeddedMetadata;

    internal StrictSchemaValidator(
        SchemaDialect dialect,
        Func<string, JsonObject>? resolveReference,
        IReadOnlyDictionary<JsonNode, IReadOnlyList<string>>? enumsBySchema,
        JsonNode? quantitySchema,
        Action<JsonNode, string, List<string>>? validateEmbeddedMetadata)
    {
        _dialect = dialect;
        _resolveReference = resolveReference;
        _enumsBySchema = enumsBySchema ?? new Dictionary<JsonNode, IReadOnlyList<string>>();
        _quantitySchema = quantitySchema;
        _validateEmbeddedMetadata = validateEmbeddedMetadata;
    }

    /// <summary>Appends to <paramref name="errors"/> every way <paramref name="value"/> breaks <paramref name="schema"/>.</summary>
    internal void Validate(JsonNode? value, JsonObject schema, string path, List<string> errors)
    {
        var nullable = IsTrue(schema, "nullable");
        var resolved = Resolve(schema);
        nullable |= IsTrue(resolved, "nullable");

        if (value is null || value.GetValueKind() == JsonValueKind.Null)
        {
            if (!nullable)
            {
                errors.Add($"{Where(path)}: must not be null (the field is not nullable: omit it instead)");
            }

            return;
        }

        if (ReferenceEquals(resolved, _quantitySchema))
        {
            ValidateQuantity(value, path, errors);
            return;
        }

        if (IsTrue(resolved, "x-kubernetes-int-or-string") || Text(resolved, "format") == "int-or-string")
        {
            ValidateIntOrString(value, resolved, path, errors);
            ValidateEnum(value, schema, resolved, path, errors);
            return;
        }

        if (!MatchesAlternatives(value, resolved, path, errors))
        {
            return;
        }

        var type = Text(resolved, "type") ?? (resolved["properties"] is not null ? "object" : null);
        switch (type)
        {
            case "object":
                if (value is JsonObject obj)
                {
                    ValidateObject(obj, resolved, path, errors);
                }
                else
                {
                    errors.Add(TypeError(path, "object", value));
                }

                break;
            case "array":
                if (value is JsonArray array)
                {
                    ValidateArray(array, resolved, path, errors);
                }
                else
                {
                    errors.Add(TypeError(path, "array", value));
                }

                break;
            case "string":
                if (value.GetValueKind() == JsonValueKind.String)
                {
                    ValidateString(value.GetValue<string>(), resolved, path, errors);
                }
                else
                {
                    errors.Add(TypeError(path, "string", value));
                }

                break;
            case "integer":
                ValidateInteger(value, resolved, path, errors);
                break;
            case "number":
                ValidateNumber(value, resolved, path, errors);
                break;
            case "boolean":
                if (value.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
                {
                    errors.Add(TypeError(path, "boolean", value));
                }

                break;
            case null:
                break;
            default:
                throw new NotSupportedException($"Schema type '{type}' at {Where(path)} is not supported.");
        }

        ValidateEnum(value, schema, resolved, path, errors);
    }

    /// <summary>
    /// Walks the whole tree once: a parsed <see cref="JsonObject"/> builds its dictionary lazily on first access, which
    /// is not thread-safe, and the loaded schemas are read by tests running in parallel.
    /// </summary>
    internal static void MaterializeForConcurrentReads(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, child) in obj)
                {
                    MaterializeForConcurrentReads(child);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    MaterializeForConcurrentReads(child);
                }

                break;
            default:
                break;
        }
    }

    private JsonObject Resolve(JsonObject schema)
    {
        while (true)
        {
            if (Text(schema, "$ref") is { } reference)
            {
                schema = _resolveReference?.Invoke(reference)
                    ?? throw new NotSupportedException($"$ref '{reference}' in a schema without references.");
            }
            else if (schema["allOf"] is JsonArray allOf)
            {
                // Kubernetes wraps a $ref in a one-element allOf so the property can carry its own description and default.
                if (allOf.Count != 1 || schema["properties"] is not null || schema["type"] is not null)
                {
                    throw new NotSupportedException("allOf other than a single wrapped $ref is not supported.");
                }

                schema = (JsonObject)allOf[0]!;
            }
            else
            {
                return schema;
            }
        }
    }

    private bool MatchesAlternatives(JsonNode value, JsonObject schema, string path, List<string> errors)
    {
        foreach (var (keyword, exactlyOne) in new[] { ("anyOf", false), ("oneOf", true) })
        {
            if (schema[keyword] is not JsonArray branches)
            {
                continue;
            }

            var matching = branches.Count(branch =>
            {
                var branchErrors = new List<string>();
                Validate(value, (JsonObject)branch!, path, branchErrors);
                return branchErrors.Count == 0;
            });
            if (matching == 0 || (exactlyOne && matching > 1))
            {
                errors.Add($"{Where(path)}: {Describe(value)} matches {matching} of the {keyword} alternatives");
                return false;
            }
        }

        return true;
    }

    private void ValidateObject(JsonObject obj, JsonObject schema, string path, List<string> errors)
    {
        var properties = schema["properties"] as JsonObject;
        var additional = schema["additionalProperties"];
        var preserveUnknown = IsTrue(schema, "x-kubernetes-preserve-unknown-fields");
        var embedded = IsTrue(schema, "x-kubernetes-embedded-resource");
        var freeForm = _dialect == SchemaDialect.OpenApi && properties is null && additional is null;

        foreach (var (key, child) in obj)
        {
            if (properties?[key] is JsonObject propertySchema)
            {
                Validate(child, propertySchema, Join(path, key), errors);
            }
            else if (embedded && key is "apiVersion" or "kind")
            {
                if (child?.GetValueKind() != JsonValueKind.String)
                {
                    errors.Add(TypeError(Join(path, key), "string", child));
                }
            }
            else if (embedded && key == "metadata" && child is not null && _validateEmbeddedMetadata is not null)
            {
                _validateEmbeddedMetadata(child, Join(path, key), errors);
            }
            else if (additional is JsonObject valueSchema)
            {
                Validate(child, valueSchema, $"{path}[{key}]", errors);
            }
            else if (additional?.GetValueKind() == JsonValueKind.True || preserveUnknown || freeForm)
            {
                continue;
            }
            else
            {
                errors.Add($"{Join(path, key)}: unknown field \"{key}\"");
            }
        }

        if (schema["required"] is JsonArray required)
        {
            foreach (var name in required.Select(r => r!.GetValue<string>()))
            {
                if (obj[name] is null)
                {
                    errors.Add($"{Join(path, name)}: required field is missing");
                }
            }
        }
    }

    private void ValidateArray(JsonArray array, JsonObject schema, string path, List<string> errors)
    {
        if (schema["items"] is JsonObject items)
        {
            for (var i = 0; i < array.Count; i++)
            {
                Validate(array[i], items, $"{path}[{i}]", errors);
            }
        }

        if (Number(schema, "minItems") is { } minItems && array.Count < minItems)
        {
            errors.Add($"{Where(path)}: must have at least {minItems} items, has {array.Count}");
        }

        if (Number(schema, "maxItems") is { } maxItems && array.Count > maxItems)
        {
            errors.Add($"{Where(path)}: must have at most {maxItems} items, has {array.Count}");
        }

        var listType = Text(schema, "x-kubernetes-list-type");
        if (listType is "map" or "set")
        {
            var keys = schema["x-kubernetes-list-map-keys"] is JsonArray mapKeys
                ? mapKeys.Select(k => k!.GetValue<string>()).ToArray()
                : [];
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < array.Count; i++)
            {
                var identity = listType == "map"
                    ? string.Join(", ", keys.Select(k => $"{k}={(array[i] as JsonObject)?[k]?.ToJsonString() ?? "null"}"))
                    : array[i]?.ToJsonString() ?? "null";
                if (!seen.Add(identity))
                {
                    errors.Add($"{path}[{i}]: duplicate entry ({identity}) in a list of type {listType}");
                }
            }
        }
    }

    private static void ValidateString(string text, JsonObject schema, string path, List<string> errors)
    {
        switch (Text(schema, "format"))
        {
            case "date-time" when !IsRfc3339(text):
                errors.Add($"{Where(path)}: \"{text}\" is not an RFC 3339 date-time");
                break;
            case "byte" when !Base64Pattern().IsMatch(text):
                errors.Add($"{Where(path)}: value is not standard padded base64 (format byte)");
                break;
            default:
                break;
        }

        var length = text.EnumerateRunes().Count();
        if (Number(schema, "minLength") is { } minLength && length < minLength)
        {
            errors.Add($"{Where(path)}: must be at least {minLength} characters long");
        }

        if (Number(schema, "maxLength") is { } maxLength && length > maxLength)
        {
            errors.Add($"{Where(path)}: must be at most {maxLength} characters long, is {length}");
        }

        if (Text(schema, "pattern") is { } pattern && !Patterns.GetOrAdd(pattern, p => new Regex(p, RegexOptions.CultureInvariant)).IsMatch(text))
        {
            errors.Add($"{Where(path)}: \"{text}\" does not match the pattern {pattern}");
        }
    }

    private static void ValidateInteger(JsonNode value, JsonObject schema, string path, List<string> errors)
    {
        if (value.GetValueKind() != JsonValueKind.Number
            || !BigInteger.TryParse(value.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            errors.Add(TypeError(path, "integer", value));
            return;
        }

        var (min, max) = Text(schema, "format") switch
        {
            "int32" => (int.MinValue, int.MaxValue),
            "int64" or null => (long.MinValue, (BigInteger)long.MaxValue),
            var other => throw new NotSupportedException($"Integer format '{other}' at {Where(path)} is not supported."),
        };
        if (integer < min || integer > max)
        {
            errors.Add($"{Where(path)}: {integer} is out of range for {Text(schema, "format") ?? "int64"}");
            return;
        }

        CheckBounds((double)integer, schema, path, errors);
    }

    private static void ValidateNumber(JsonNode value, JsonObject schema, string path, List<string> errors)
    {
        if (value.GetValueKind() != JsonValueKind.Number)
        {
            errors.Add(TypeError(path, "number", value));
            return;
        }

        CheckBounds(double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture), schema, path, errors);
    }

    private static void CheckBounds(double number, JsonObject schema, string path, List<string> errors)
    {
        if (Number(schema, "minimum") is { } minimum && number < minimum)
        {
            errors.Add($"{Where(path)}: must be greater than or equal to {minimum}");
        }

        if (Number(schema, "maximum") is { } maximum && number > maximum)
        {
            errors.Add($"{Where(path)}: must be less than or equal to {maximum}");
        }
    }

    private static void ValidateQuantity(JsonNode value, string path, List<string> errors)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.Number:
                break;
            case JsonValueKind.String when KubernetesQuantity.IsValid(value.GetValue<string>()):
                break;
            case JsonValueKind.String:
                errors.Add($"{Where(path)}: \"{value.GetValue<string>()}\" is not a quantity (expected e.g. 500m, 1.5, 64Mi, 1e3)");
                break;
            default:
                errors.Add(TypeError(path, "quantity (string or number)", value));
                break;
        }
    }

    private static void ValidateIntOrString(JsonNode value, JsonObject schema, string path, List<string> errors)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                ValidateString(value.GetValue<string>(), schema, path, errors);
                break;
            case JsonValueKind.Number:
                ValidateInteger(value, new JsonObject { ["format"] = "int32" }, path, errors);
                break;
            default:
                errors.Add(TypeError(path, "integer or string", value));
                break;
        }
    }

    private void ValidateEnum(JsonNode value, JsonObject schema, JsonObject resolved, string path, List<string> errors)
    {
        var allowed = (resolved["enum"] ?? schema["enum"]) is JsonArray keyword
            ? keyword.Select(v => v?.ToJsonString() ?? "null").ToArray()
            : _enumsBySchema.TryGetValue(schema, out var listed) || _enumsBySchema.TryGetValue(resolved, out listed)
                ? listed.Select(v => JsonValue.Create(v).ToJsonString()).ToArray()
                : null;
        var actual = value.ToJsonString();
        if (allowed is not null && !allowed.Contains(actual, StringComparer.Ordinal))
        {
            errors.Add($"{Where(path)}: unsupported value {actual}: supported values: {string.Join(", ", allowed)}");
        }
    }

    private static bool IsRfc3339(string text) =>
        Rfc3339Pattern().IsMatch(text)
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _);

    internal static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    internal static string Where(string path) => path.Length == 0 ? "(root)" : path;

    private static string TypeError(string path, string expected, JsonNode? value) =>
        $"{Where(path)}: expected {expected}, got {Describe(value)}";

    private static string Describe(JsonNode? value) => value?.GetValueKind() switch
    {
        null or JsonValueKind.Null => "null",
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => $"number {value.ToJsonString()}",
    };

    private static bool IsTrue(JsonObject schema, string keyword) => schema[keyword]?.GetValueKind() == JsonValueKind.True;

    private static string? Text(JsonObject schema, string keyword) =>
        schema[keyword] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private static double? Number(JsonObject schema, string keyword) =>
        schema[keyword] is JsonValue value && value.GetValueKind() == JsonValueKind.Number
            ? double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture)
            : null;

    [GeneratedRegex(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})\z", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339Pattern();

    [GeneratedRegex(@"^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex Base64Pattern();
}
