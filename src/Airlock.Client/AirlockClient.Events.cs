using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Airlock.Client.Sse;

namespace Airlock.Client;

/// <summary>Events: <c>/v1/events</c> and <c>/v1/events/stream</c>.</summary>
public sealed partial class AirlockClient
{
    /// <summary>One page of the event history, in seq order (<c>GET /v1/events</c>).</summary>
    /// <param name="filter">Which events; all the token may see when null (a <c>sessions</c> token must name a session).</param>
    /// <param name="after">Only events after this seq (a previous page's <see cref="EventPage.Next"/>); from the oldest when null.</param>
    /// <param name="limit">The page size; the gateway's default (100) when null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="AirlockApiException">400 for a bad filter (or a <c>sessions</c> token naming no session); 404 for a session the token may not see.</exception>
    public async Task<EventPage> QueryEventsAsync(EventFilter? filter = null, long? after = null, int? limit = null, CancellationToken cancellationToken = default)
    {
        var query = FilterQuery(filter);
        query.Add("after", after?.ToString(CultureInfo.InvariantCulture));
        query.Add("limit", limit?.ToString(CultureInfo.InvariantCulture));
        using var message = NewRequest(HttpMethod.Get, "v1/events" + query);
        using var document = await SendForDocumentAsync(message, cancellationToken).ConfigureAwait(false);
        var root = document.RootElement;
        var items = root.TryGetProperty("items", out var array) && array.ValueKind == JsonValueKind.Array
            ? [.. array.EnumerateArray().Select(ParseEvent)]
            : new List<EgressEvent>();
        long? next = root.TryGetProperty("next", out var cursor) && cursor.ValueKind == JsonValueKind.String
            ? long.Parse(cursor.GetString()!, NumberStyles.None, CultureInfo.InvariantCulture)
            : null;
        return new EventPage(items, next);
    }

    /// <summary>Every stored event that matches, in seq order, fetching page after page as it is enumerated; ends at the newest.</summary>
    /// <param name="filter">Which events; all the token may see when null.</param>
    /// <param name="after">Only events after this seq; from the oldest when null.</param>
    /// <param name="pageSize">How many to fetch at a time; the gateway's default when null.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    public async IAsyncEnumerable<EgressEvent> QueryAllEventsAsync(EventFilter? filter = null, long? after = null, int? pageSize = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        do
        {
            var page = await QueryEventsAsync(filter, after, pageSize, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            after = page.Next;
        }
        while (after is not null);
    }

    /// <summary>
    /// Live events, with their seq (<c>GET /v1/events/stream</c>, server-sent events). When the connection drops or
    /// the gateway restarts, the stream reconnects by itself (backoff doubling up to
    /// <see cref="EventStreamOptions.MaxReconnectDelay"/>, with jitter) and resumes with <c>Last-Event-ID</c>: the
    /// gateway first sends what it stored meanwhile, so nothing is missed, and no event is yielded twice. Ends only
    /// when cancelled, or with an exception.
    /// </summary>
    /// <param name="filter">Which events; all the token may see when null (a <c>sessions</c> token must name a session).</param>
    /// <param name="after">
    /// Start after this seq: the stored events after it come first, then live ones. When null, only events from
    /// now on; until the first event arrives, a reconnection cannot tell what it missed, so pass the last seq you
    /// know (or 0 for everything) when a gap matters.
    /// </param>
    /// <param name="options">Reconnection and liveness settings; <see cref="EventStreamOptions.Default"/> when null.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <exception cref="AirlockApiException">The gateway refused the stream (400, 401, 404): retrying would not help.</exception>
    /// <exception cref="HttpRequestException"><see cref="EventStreamOptions.MaxConsecutiveFailures"/> attempts in a row failed.</exception>
    public async IAsyncEnumerable<EgressEventEnvelope> StreamEventsAsync(
        EventFilter? filter = null,
        long? after = null,
        EventStreamOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= EventStreamOptions.Default;
        var path = "v1/events/stream" + FilterQuery(filter);
        var last = after;
        var failures = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Exception? problem;
            using (var response = await ConnectStreamAsync(path, last, cancellationToken).ConfigureAwait(false))
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

                        // A block with only an id moves the resume point (SSE); other event types are not ours.
                        if ((message.Data is not null && message.Type != "egress") || message.Id is null)
                        {
                            continue;
                        }

                        if (!long.TryParse(message.Id, NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
                        {
                            throw new InvalidDataException($"the event stream sent an id that is not a seq: '{message.Id}'");
                        }

                        if (seq <= last)
                        {
                            continue;
                        }

                        last = seq;
                        if (message.Data is { } data)
                        {
                            yield return new EgressEventEnvelope(seq, ParseEvent(data));
                        }
                    }
                }
            }

            failures++;
            if (failures >= options.MaxConsecutiveFailures)
            {
                throw new HttpRequestException($"the event stream failed {failures} times in a row: {problem?.Message ?? "the gateway closed it"}", problem);
            }

            await Task.Delay(ReconnectDelay(options, failures), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The wait before attempt <paramref name="failures"/>: the minimum doubled per failure, capped, then between half and all of it.</summary>
    internal static TimeSpan ReconnectDelay(EventStreamOptions options, int failures)
    {
        var ceiling = Math.Min(options.MaxReconnectDelay.TotalMilliseconds, options.MinReconnectDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30)));
#pragma warning disable CA5394 // Jitter spreads reconnecting clients; it is not a secret.
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (Random.Shared.NextDouble() / 2)));
#pragma warning restore CA5394
    }

    /// <summary>Opens the stream; a failure worth retrying comes back as <see cref="StreamResponse.Error"/>, a refusal is thrown.</summary>
    private async Task<StreamResponse> ConnectStreamAsync(string path, long? last, CancellationToken cancellationToken)
    {
        using var request = NewRequest(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (last is { } seq)
        {
            request.Headers.Add("Last-Event-ID", seq.ToString(CultureInfo.InvariantCulture));
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new StreamResponse(null, e);
        }

        if (response.StatusCode == HttpStatusCode.OK)
        {
            return new StreamResponse(response, null);
        }

        using (response)
        {
            var problem = await ProblemAsync(response, cancellationToken).ConfigureAwait(false);
            if ((int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)
            {
                return new StreamResponse(null, problem);
            }

            throw problem;
        }
    }

    /// <summary>The next event; null with the reason when the connection ended or broke (a retry resumes it).</summary>
    private static async Task<(ServerSentEvent? Message, Exception? Problem)> ReadTransientAsync(ServerSentEventReader reader, CancellationToken cancellationToken)
    {
        try
        {
            return (await reader.ReadAsync(cancellationToken).ConfigureAwait(false), null);
        }
        catch (Exception e) when (e is IOException or HttpRequestException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            return (null, e);
        }
    }

    private static QueryString FilterQuery(EventFilter? filter)
    {
        var query = new QueryString();
        if (filter is null)
        {
            return query;
        }

        query.Add("session", filter.Session);
        query.Add("decision", filter.Decision);
        query.Add("reason", filter.Reason);
        query.Add("host", filter.Host);
        query.Add("from", filter.From?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
        query.Add("to", filter.To?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
        return query;
    }

    private static EgressEvent ParseEvent(JsonElement element) =>
        (element.Deserialize(EventJsonContext.Default.EgressEvent) ?? throw new JsonException("an event was null")) with { Json = element.Clone() };

    private static EgressEvent ParseEvent(string json)
    {
        using var document = JsonDocument.Parse(json);
        return ParseEvent(document.RootElement);
    }

    /// <summary>An open stream, or why it could not be opened.</summary>
    private readonly record struct StreamResponse(HttpResponseMessage? Message, Exception? Error) : IDisposable
    {
        public void Dispose() => Message?.Dispose();
    }
}
