using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Airlock.Client;

/// <summary>The answer of a probe (<c>/healthz</c>, <c>/readyz</c>).</summary>
/// <param name="Ok">Whether the gateway said yes (200).</param>
/// <param name="Detail">What it said, such as <c>ready</c> or <c>not ready: the sqlite store: …</c>.</param>
public sealed record ProbeResult(bool Ok, string Detail);

/// <summary>
/// A client of the Airlock gateway's API (<c>airlock serve</c>): sandboxes, events (history and a live stream that
/// resumes by itself) and probes. Thread-safe; one instance can serve a whole program.
/// </summary>
/// <remarks>
/// An error the gateway answers with is an <see cref="AirlockApiException"/> (status, Problem Details, field errors);
/// a gateway that cannot be reached is an <see cref="HttpRequestException"/>. Every call takes a cancellation token.
/// </remarks>
public sealed partial class AirlockClient : IDisposable
{
    /// <summary>The environment variable with the gateway's address.</summary>
    public const string ServerVariable = "AIRLOCK_SERVER";

    /// <summary>The environment variable with the API token.</summary>
    public const string TokenVariable = "AIRLOCK_TOKEN";

    private static readonly ProductInfoHeaderValue UserAgent = new("airlock-client", typeof(AirlockClient).Assembly.GetName().Version?.ToString(3) ?? "0");

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly string? _token;

    /// <summary>Creates a client.</summary>
    /// <param name="server">The gateway's base address, such as <c>http://127.0.0.1:8080</c> (a path prefix is kept).</param>
    /// <param name="token">The API token (<c>airlock token create</c>); null for the probes only.</param>
    /// <param name="httpClient">The HttpClient to send with (not disposed by this client); a new one when null.</param>
    public AirlockClient(Uri server, string? token, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (!server.IsAbsoluteUri || (server.Scheme != Uri.UriSchemeHttp && server.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"the gateway's address must be an absolute http or https URL, not '{server}'", nameof(server));
        }

        Server = server.AbsolutePath.EndsWith('/') ? server : new Uri(server.AbsoluteUri + "/");
        _token = string.IsNullOrWhiteSpace(token) ? null : token.Trim();
        _ownsHttp = httpClient is null;

        // The longest single answer is a buffered exec, which may run for the gateway's maximum of 10 minutes (creating a
        // sandbox waits for the driver: for Kubernetes up to its ready timeout, 3 minutes by default). Streams (exec,
        // events, approvals, downloads) are bounded by this only until their headers arrive.
        _http = httpClient ?? new HttpClient { Timeout = TimeSpan.FromMinutes(12) };
    }

    /// <summary>The gateway's base address (ends in a slash).</summary>
    public Uri Server { get; }

    /// <summary>A client for the gateway in <c>AIRLOCK_SERVER</c> with the token in <c>AIRLOCK_TOKEN</c>.</summary>
    /// <param name="httpClient">The HttpClient to send with (not disposed by this client); a new one when null.</param>
    /// <exception cref="InvalidOperationException"><c>AIRLOCK_SERVER</c> is unset or not an http(s) URL.</exception>
    public static AirlockClient FromEnvironment(HttpClient? httpClient = null) =>
        FromEnvironment(Environment.GetEnvironmentVariable, httpClient);

    internal static AirlockClient FromEnvironment(Func<string, string?> variable, HttpClient? httpClient)
    {
        var server = variable(ServerVariable);
        if (string.IsNullOrWhiteSpace(server))
        {
            throw new InvalidOperationException($"set {ServerVariable} to the gateway's address, such as http://127.0.0.1:8080 (the one airlock serve prints), and {TokenVariable} to a token (airlock token create)");
        }

        if (!Uri.TryCreate(server.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new InvalidOperationException($"{ServerVariable} must be an http or https URL, such as http://127.0.0.1:8080, not '{server}'");
        }

        return new AirlockClient(uri, variable(TokenVariable), httpClient);
    }

    /// <summary>Whether the gateway's process is up (<c>GET /healthz</c>; needs no token).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<ProbeResult> GetHealthAsync(CancellationToken cancellationToken = default) => ProbeAsync("healthz", cancellationToken);

    /// <summary>Whether the gateway can serve: its store and driver answer (<c>GET /readyz</c>; needs no token).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<ProbeResult> GetReadinessAsync(CancellationToken cancellationToken = default) => ProbeAsync("readyz", cancellationToken);

    /// <summary>Disposes the HttpClient if this client created it.</summary>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private async Task<ProbeResult> ProbeAsync(string path, CancellationToken cancellationToken)
    {
        using var request = NewRequest(HttpMethod.Get, path);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return new ProbeResult(response.StatusCode == HttpStatusCode.OK, text.Trim());
    }

    /// <summary>A request to a path relative to <see cref="Server"/>, with the token.</summary>
    private HttpRequestMessage NewRequest(HttpMethod method, string relative)
    {
        var request = new HttpRequestMessage(method, new Uri(Server, relative));
        request.Headers.UserAgent.Add(UserAgent);
        if (_token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        }

        return request;
    }

    /// <summary>Sends a request and reads its JSON answer; any status but <paramref name="expected"/> is an <see cref="AirlockApiException"/>.</summary>
    private async Task<T> SendAsync<T>(HttpRequestMessage request, JsonTypeInfo<T> type, CancellationToken cancellationToken, params HttpStatusCode[] expected)
    {
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!expected.Contains(response.StatusCode))
        {
            throw await ProblemAsync(response, cancellationToken).ConfigureAwait(false);
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await JsonSerializer.DeserializeAsync(stream, type, cancellationToken).ConfigureAwait(false)
                ?? throw new JsonException($"the gateway answered {request.RequestUri} with null");
        }
    }

    /// <summary>Sends a request that answers without a body.</summary>
    private async Task SendAsync(HttpRequestMessage request, HttpStatusCode expected, CancellationToken cancellationToken)
    {
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != expected)
        {
            throw await ProblemAsync(response, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sends a request and parses its JSON answer as a document.</summary>
    private async Task<JsonDocument> SendForDocumentAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw await ProblemAsync(response, cancellationToken).ConfigureAwait(false);
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The exception for an error answer: its Problem Details when it has them, else its status and text.</summary>
    internal static async Task<AirlockApiException> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var reason = response.ReasonPhrase;
        if (response.Content.Headers.ContentType?.MediaType is "application/problem+json" or "application/json")
        {
            try
            {
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.ValueKind == JsonValueKind.Object)
                {
                    return FromProblem(response.StatusCode, reason, document.RootElement);
                }
            }
            catch (JsonException)
            {
                // Not the JSON it claims to be: reported as text below.
            }
        }

        var text = body.Trim();
        return new AirlockApiException(response.StatusCode, reason, text.Length > 500 ? text[..500] + "…" : text);
    }

    private static AirlockApiException FromProblem(HttpStatusCode status, string? reason, JsonElement problem)
    {
        string? title = reason, detail = null;
        var errors = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var extensions = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var member in problem.EnumerateObject())
        {
            switch (member.Name)
            {
                case "title" when member.Value.ValueKind == JsonValueKind.String:
                    title = member.Value.GetString();
                    break;
                case "detail" when member.Value.ValueKind == JsonValueKind.String:
                    detail = member.Value.GetString();
                    break;
                case "errors" when member.Value.ValueKind == JsonValueKind.Object:
                    foreach (var field in member.Value.EnumerateObject())
                    {
                        errors[field.Name] = field.Value.ValueKind == JsonValueKind.Array
                            ? [.. field.Value.EnumerateArray().Select(m => m.ValueKind == JsonValueKind.String ? m.GetString()! : m.GetRawText())]
                            : [field.Value.ToString()];
                    }

                    break;
                case "type" or "status" or "instance":
                    break;
                default:
                    extensions[member.Name] = member.Value.Clone();
                    break;
            }
        }

        return new AirlockApiException(status, title, detail, errors, extensions);
    }
}
