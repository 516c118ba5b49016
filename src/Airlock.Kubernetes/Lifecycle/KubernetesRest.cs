using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Airlock.Kubernetes.Lifecycle;

/// <summary>An API server's refusal: its HTTP status, its <c>Status</c> reason and message.</summary>
public sealed class KubernetesApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KubernetesApiException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public KubernetesApiException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public KubernetesApiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a refused request.</summary>
    public KubernetesApiException(HttpStatusCode status, string reason, string message)
        : base(message)
    {
        Status = status;
        Reason = reason;
    }

    /// <summary>The HTTP status.</summary>
    public HttpStatusCode Status { get; }

    /// <summary>The Status object's reason (<c>NotFound</c>, <c>AlreadyExists</c>, <c>Conflict</c>, <c>Invalid</c>, …).</summary>
    public string Reason { get; } = string.Empty;

    /// <summary>Whether the object was not there.</summary>
    public bool IsNotFound => Status == HttpStatusCode.NotFound;
}

/// <summary>
/// The REST calls the lifecycle makes, on JSON bodies, for every kind alike (typed core objects and custom
/// resources: the NativeAOT build of KubernetesClient cannot serialise arbitrary objects, and the paths are the
/// same for all). Uses the Kubernetes client's own HTTP pipeline, so its credentials and TLS settings apply.
/// </summary>
public sealed class KubernetesRest(HttpClient http, Uri baseUri)
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private static readonly MediaTypeHeaderValue MergePatch = new("application/merge-patch+json");

    /// <summary>Over a configured client (kubeconfig, in-cluster or explicit).</summary>
    public KubernetesRest(k8s.Kubernetes client)
        : this((client ?? throw new ArgumentNullException(nameof(client))).HttpClient, client.BaseUri)
    {
    }

    /// <summary>Creates an object; returns it as the server stored it (uid, resourceVersion).</summary>
    public Task<JsonObject> CreateAsync(ClusterObject obj, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return SendAsync(HttpMethod.Post, obj.CollectionPath, obj.Body, Json, cancellationToken);
    }

    /// <summary>Reads an object, or null when it is not there.</summary>
    public async Task<JsonObject?> GetAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await SendAsync(HttpMethod.Get, path, null, null, cancellationToken).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    /// <summary>Lists a collection by label selector.</summary>
    public async Task<IReadOnlyList<JsonObject>> ListAsync(string collectionPath, string labelSelector, CancellationToken cancellationToken)
    {
        var list = await SendAsync(HttpMethod.Get, $"{collectionPath}?labelSelector={Uri.EscapeDataString(labelSelector)}", null, null, cancellationToken).ConfigureAwait(false);
        return [.. (list["items"] as JsonArray ?? []).OfType<JsonObject>()];
    }

    /// <summary>Applies a JSON merge patch.</summary>
    public Task<JsonObject> PatchAsync(string path, JsonObject patch, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Patch, path, patch, MergePatch, cancellationToken);

    /// <summary>Deletes an object with foreground propagation; false when it was not there.</summary>
    public async Task<bool> DeleteAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            await SendAsync(HttpMethod.Delete, path + "?propagationPolicy=Foreground", null, null, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return false;
        }
    }

    private async Task<JsonObject> SendAsync(HttpMethod method, string path, JsonObject? body, MediaTypeHeaderValue? contentType, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(baseUri, path));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8);
            request.Content.Headers.ContentType = contentType;
        }

        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        JsonObject? answer = null;
        try
        {
            answer = text.Length > 0 ? JsonNode.Parse(text) as JsonObject : null;
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's error page): reported below by status alone.
        }

        if (!response.IsSuccessStatusCode)
        {
            var reason = (string?)answer?["reason"] ?? response.StatusCode.ToString();
            var message = (string?)answer?["message"] ?? text;
            throw new KubernetesApiException(response.StatusCode, reason, $"{method} {path}: {(int)response.StatusCode} {reason}: {message}");
        }

        return answer ?? [];
    }
}
