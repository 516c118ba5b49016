using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;

namespace Airlock.Client;

/// <summary>Sandboxes: <c>/v1/sandboxes</c>.</summary>
public sealed partial class AirlockClient
{
    /// <summary>Creates a sandbox (<c>POST /v1/sandboxes</c>).</summary>
    /// <param name="request">Its policy, environment, secrets, lifetime and labels.</param>
    /// <param name="wait">
    /// True: return once the driver made it <see cref="SandboxState.Ready"/> (a driver failure is an
    /// <see cref="AirlockApiException"/> with status 502, whose <c>id</c> extension names the failed sandbox).
    /// False: return at once, <see cref="SandboxState.Pending"/>; poll <see cref="GetSandboxAsync"/>.
    /// </param>
    /// <param name="cancellationToken">Cancels the call (with <paramref name="wait"/>, also the creation).</param>
    /// <exception cref="AirlockApiException">400 with a field error per invalid field; 401; 502.</exception>
    public async Task<Sandbox> CreateSandboxAsync(CreateSandboxRequest request, bool wait = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var message = NewRequest(HttpMethod.Post, wait ? "v1/sandboxes" : "v1/sandboxes?wait=false");
        message.Content = JsonContent.Create(request, ClientJsonContext.Default.CreateSandboxRequest);
        return await SendAsync(message, ClientJsonContext.Default.Sandbox, cancellationToken, wait ? HttpStatusCode.Created : HttpStatusCode.Accepted).ConfigureAwait(false);
    }

    /// <summary>One sandbox (<c>GET /v1/sandboxes/{id}</c>).</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="AirlockApiException">404 when there is none, or the token may not see it.</exception>
    public async Task<Sandbox> GetSandboxAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        using var message = NewRequest(HttpMethod.Get, "v1/sandboxes/" + Uri.EscapeDataString(id));
        return await SendAsync(message, ClientJsonContext.Default.Sandbox, cancellationToken, HttpStatusCode.OK).ConfigureAwait(false);
    }

    /// <summary>One page of sandboxes, oldest first (<c>GET /v1/sandboxes</c>).</summary>
    /// <param name="filter">Which ones; all the token may see when null.</param>
    /// <param name="after">A previous page's <see cref="SandboxPage.Next"/>; the first page when null.</param>
    /// <param name="limit">The page size, 1 to 1000; the gateway's default (100) when null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="AirlockApiException">400 for a bad cursor or limit.</exception>
    public async Task<SandboxPage> ListSandboxesAsync(SandboxFilter? filter = null, string? after = null, int? limit = null, CancellationToken cancellationToken = default)
    {
        var query = new QueryString();
        if (filter?.States is { Count: > 0 } states)
        {
            query.Add("state", string.Join(',', states.Select(SandboxStateConverter.Name)));
        }

        foreach (var (key, value) in filter?.Labels ?? new Dictionary<string, string>())
        {
            query.Add("label", $"{key}={value}");
        }

        query.Add("limit", limit?.ToString(CultureInfo.InvariantCulture));
        query.Add("after", after);
        using var message = NewRequest(HttpMethod.Get, "v1/sandboxes" + query);
        return await SendAsync(message, ClientJsonContext.Default.SandboxPage, cancellationToken, HttpStatusCode.OK).ConfigureAwait(false);
    }

    /// <summary>Every sandbox that matches, oldest first, fetching page after page as it is enumerated.</summary>
    /// <param name="filter">Which ones; all the token may see when null.</param>
    /// <param name="pageSize">How many to fetch at a time, 1 to 1000; the gateway's default when null.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    public async IAsyncEnumerable<Sandbox> ListAllSandboxesAsync(SandboxFilter? filter = null, int? pageSize = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? after = null;
        do
        {
            var page = await ListSandboxesAsync(filter, after, pageSize, cancellationToken).ConfigureAwait(false);
            foreach (var sandbox in page.Items)
            {
                yield return sandbox;
            }

            after = page.Next;
        }
        while (after is not null);
    }

    /// <summary>Deletes a sandbox (<c>DELETE /v1/sandboxes/{id}</c>); deleting a deleted one is not an error. Its record stays, <see cref="SandboxState.Deleted"/>.</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="AirlockApiException">404 when there is none, or the token may not see it; 502 when the driver failed.</exception>
    public async Task DeleteSandboxAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        using var message = NewRequest(HttpMethod.Delete, "v1/sandboxes/" + Uri.EscapeDataString(id));
        await SendAsync(message, HttpStatusCode.NoContent, cancellationToken).ConfigureAwait(false);
    }
}
