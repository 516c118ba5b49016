using System.Net;
using System.Text;
using System.Text.Json;

namespace Airlock.Client;

/// <summary>
/// The gateway answered with an error: its HTTP status and the Problem Details (RFC 9457) it sent. A validation
/// failure (<c>400</c>) names each field in <see cref="Errors"/>; <see cref="Exception.Message"/> has the title, the
/// detail and one <c>field: message</c> line per field error, ready to print.
/// </summary>
public sealed class AirlockApiException : Exception
{
    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> NoErrors = new Dictionary<string, IReadOnlyList<string>>();
    private static readonly IReadOnlyDictionary<string, JsonElement> NoExtensions = new Dictionary<string, JsonElement>();

    /// <summary>Creates the exception without a response (prefer the gateway's).</summary>
    public AirlockApiException()
        : this("the gateway answered with an error")
    {
    }

    /// <summary>Creates the exception without a response (prefer the gateway's).</summary>
    /// <param name="message">What went wrong.</param>
    public AirlockApiException(string message)
        : base(message)
    {
        Errors = NoErrors;
        Extensions = NoExtensions;
    }

    /// <summary>Creates the exception without a response (prefer the gateway's).</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public AirlockApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = NoErrors;
        Extensions = NoExtensions;
    }

    /// <summary>Creates the exception for a gateway's error answer.</summary>
    /// <param name="statusCode">The HTTP status.</param>
    /// <param name="title">The problem's title.</param>
    /// <param name="detail">The problem's detail.</param>
    /// <param name="errors">Field errors (validation problems), by field name.</param>
    /// <param name="extensions">Other members of the problem object, such as <c>id</c> of a sandbox that failed to start.</param>
    public AirlockApiException(
        HttpStatusCode statusCode,
        string? title,
        string? detail,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? errors = null,
        IReadOnlyDictionary<string, JsonElement>? extensions = null)
        : base(Describe(statusCode, title, detail, errors))
    {
        StatusCode = statusCode;
        Title = title;
        Detail = detail;
        Errors = errors ?? NoErrors;
        Extensions = extensions ?? NoExtensions;
    }

    /// <summary>The HTTP status, such as 400, 401, 404 or 502.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The problem's title, such as <c>Unauthorized</c>.</summary>
    public string? Title { get; }

    /// <summary>The problem's detail: what to do about it.</summary>
    public string? Detail { get; }

    /// <summary>Field errors of a validation problem, by field name (such as <c>policy</c> or <c>ttl</c>); empty otherwise.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Errors { get; }

    /// <summary>The problem's other members (such as <c>id</c>, the sandbox that failed to start); empty when none.</summary>
    public IReadOnlyDictionary<string, JsonElement> Extensions { get; }

    private static string Describe(HttpStatusCode status, string? title, string? detail, IReadOnlyDictionary<string, IReadOnlyList<string>>? errors)
    {
        var text = new StringBuilder();
        text.Append(title ?? $"HTTP {(int)status}");
        if (!string.IsNullOrEmpty(detail))
        {
            text.Append(": ").Append(detail);
        }

        foreach (var (field, messages) in errors ?? NoErrors)
        {
            foreach (var message in messages)
            {
                text.Append('\n').Append(field).Append(": ").Append(message);
            }
        }

        return text.ToString();
    }
}
