using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Airlock.Client.Sse;

namespace Airlock.Client;

/// <summary>Approvals: <c>/v1/approvals</c>, the held <c>ask</c> decisions of the sandboxes the token may see.</summary>
public sealed partial class AirlockClient
{
    /// <summary>The pending approvals, oldest first (<c>GET /v1/approvals?state=pending</c>).</summary>
    /// <param name="session">Only this sandbox's; all the token may see when null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="AirlockApiException">404 a sandbox the token may not see.</exception>
    public async Task<IReadOnlyList<Approval>> ListApprovalsAsync(string? session = null, CancellationToken cancellationToken = default)
    {
        var query = new QueryString();
        query.Add("session", session);
        query.Add("state", "pending");
        using var message = NewRequest(HttpMethod.Get, "v1/approvals" + query);
        return (await SendAsync(message, ClientJsonContext.Default.ApprovalListWire, cancellationToken, HttpStatusCode.OK).ConfigureAwait(false)).Items;
    }

    /// <summary>One approval, in any state (<c>GET /v1/approvals/{id}</c>).</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="AirlockApiException">404 unknown, or the token may not see its sandbox.</exception>
    public async Task<Approval> GetApprovalAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        using var message = NewRequest(HttpMethod.Get, "v1/approvals/" + Uri.EscapeDataString(id));
        return await SendAsync(message, ClientJsonContext.Default.Approval, cancellationToken, HttpStatusCode.OK).ConfigureAwait(false);
    }

    /// <summary>
    /// Decides a pending approval (<c>POST /v1/approvals/{id}</c>); the held request follows at once. Approving for the
    /// <see cref="ApprovalScope.Session"/> also amends the sandbox's policy, so later requests to the host and port pass
    /// without asking.
    /// </summary>
    /// <param name="id">Its id.</param>
    /// <param name="decision">Approve or deny.</param>
    /// <param name="scope">This request only (the default) or the rest of the sandbox's life.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The approval, decided.</returns>
    /// <exception cref="AirlockApiException">404 unknown; 409 already decided or timed out (its <c>state</c> extension says which).</exception>
    public async Task<Approval> DecideApprovalAsync(string id, ApprovalDecision decision, ApprovalScope scope = ApprovalScope.Once, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        using var message = NewRequest(HttpMethod.Post, "v1/approvals/" + Uri.EscapeDataString(id));
        message.Content = JsonContent.Create(
            new DecideApprovalWire(decision == ApprovalDecision.Approve ? "approve" : "deny", ApprovalScopeConverter.Name(scope)),
            ClientJsonContext.Default.DecideApprovalWire);
        return await SendAsync(message, ClientJsonContext.Default.Approval, cancellationToken, HttpStatusCode.OK).ConfigureAwait(false);
    }

    /// <summary>
    /// Approvals as they happen (<c>GET /v1/approvals/stream</c>, server-sent events): first every pending one, then each
    /// change (new, decided, timed out). Reconnects by itself like <see cref="StreamEventsAsync"/>; after a reconnection
    /// the gateway sends the pending ones again, and an approval is yielded again only when its state changed.
    /// </summary>
    /// <param name="session">Only this sandbox's; all the token may see when null.</param>
    /// <param name="options">Reconnection and liveness settings; <see cref="EventStreamOptions.Default"/> when null.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <exception cref="AirlockApiException">The gateway refused the stream (401, 404).</exception>
    /// <exception cref="HttpRequestException"><see cref="EventStreamOptions.MaxConsecutiveFailures"/> attempts in a row failed.</exception>
    public async IAsyncEnumerable<Approval> StreamApprovalsAsync(string? session = null, EventStreamOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= EventStreamOptions.Default;
        var query = new QueryString();
        query.Add("session", session);
        var path = "v1/approvals/stream" + query;
        var seen = new Dictionary<string, ApprovalState>(StringComparer.Ordinal);
        var failures = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Exception? problem;
            using (var response = await ConnectStreamAsync(path, null, cancellationToken).ConfigureAwait(false))
            {
                problem = response.Error;
                if (response.Message is { } connected)
                {
                    using var reader = new ServerSentEventReader(
                        await connected.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false),
                        options.IdleTimeout);
                    while (true)
                    {
                        (var message, problem) = await ReadTransientAsync(reader, cancellationToken).ConfigureAwait(false);
                        if (reader.ReceivedAnything)
                        {
                            failures = 0;
                        }

                        if (message is null)
                        {
                            break;
                        }

                        if (message.Type != "approval" || message.Data is not { } data)
                        {
                            continue;
                        }

                        var approval = JsonSerializer.Deserialize(data, ClientJsonContext.Default.Approval)
                            ?? throw new JsonException("the approval stream sent null");
                        if (seen.TryGetValue(approval.Id, out var state) && state == approval.State)
                        {
                            continue;
                        }

                        seen[approval.Id] = approval.State;
                        yield return approval;
                    }
                }
            }

            failures++;
            if (failures >= options.MaxConsecutiveFailures)
            {
                throw new HttpRequestException($"the approval stream failed {failures} times in a row: {problem?.Message ?? "the gateway closed it"}", problem);
            }

            await Task.Delay(ReconnectDelay(options, failures), cancellationToken).ConfigureAwait(false);
        }
    }
}
