using System.Globalization;
using System.Text;
using Airlock.Policy.Loading;
using Airlock.Sandboxes;
using Airlock.Server.Approvals;
using Airlock.Server.Auth;
using Airlock.Server.Hosting;
using Airlock.Server.Sessions;
using Airlock.Server.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using StoredState = Airlock.Server.Store.SandboxState;

namespace Airlock.Server.Api;

/// <summary>Where the API keeps a sandbox's working directory, and its defaults.</summary>
/// <param name="WorkdirRoot">A 0700 directory of the gateway's own; each local sandbox gets a fresh directory under it.</param>
/// <param name="DefaultTtl">A sandbox's lifetime when its request names none.</param>
/// <param name="RateLimiter">Admits requests per token (<c>token:ID</c>) and failed authentications per client address (<c>address:IP</c>).</param>
public sealed record GatewayApiOptions(string WorkdirRoot, TimeSpan DefaultTtl, System.Threading.RateLimiting.PartitionedRateLimiter<string> RateLimiter);

/// <summary>
/// The REST API under <c>/v1</c>: bearer-token auth on everything but the probes, sandboxes (create, get, list,
/// delete) and events (history with filters, and a live SSE stream that resumes from <c>Last-Event-ID</c>).
/// Errors are Problem Details (RFC 9457); validation failures name each field.
/// </summary>
public sealed partial class GatewayApi(IServerStore store, ISandboxDriver driver, EventFeed feed, SessionPolicies policies, ApprovalDesk approvals, GatewayApiOptions options, ILogger logger)
{
    private const string TokenItem = "airlock.token";
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);
    private CancellationToken _stopping;

    /// <summary>Adds the auth middleware and the endpoints.</summary>
    public void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        _stopping = app.Lifetime.ApplicationStopping;
        app.Use(AuthenticateAsync);
        var v1 = app.MapGroup("/v1");
        v1.MapPost("/sandboxes", CreateSandboxAsync);
        v1.MapGet("/sandboxes", ListSandboxesAsync);
        v1.MapGet("/sandboxes/{id}", GetSandboxAsync);
        v1.MapDelete("/sandboxes/{id}", DeleteSandboxAsync);
        v1.MapGet("/events", (Func<HttpContext, Task<IResult>>)QueryEventsAsync);
        v1.MapGet("/events/stream", StreamEventsAsync).Produces(StatusCodes.Status200OK, contentType: "text/event-stream");
        MapExec(v1);
        MapPolicies(v1);
        MapApprovals(v1);
    }

    /// <summary>
    /// Bearer auth and rate limits on the API (<c>/v1</c>) and its OpenAPI document; the probes and the dashboard's
    /// static page are public (the page asks for a token and sends it with every API call). Requests are limited
    /// per token, and failed authentications per client address, so guessing tokens is slow.
    /// </summary>
    private async Task AuthenticateAsync(HttpContext context, RequestDelegate next)
    {
        if (!context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal) && context.Request.Path != "/openapi.json")
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var header = context.Request.Headers.Authorization.ToString();
        var token = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? await store.AuthenticateAsync(header[7..].Trim(), context.RequestAborted).ConfigureAwait(false)
            : null;
        using var lease = options.RateLimiter.AttemptAcquire(token is null ? "address:" + context.Connection.RemoteIpAddress : "token:" + token.Id);
        if (!lease.IsAcquired)
        {
            var retry = lease.TryGetMetadata(System.Threading.RateLimiting.MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            await Results.Problem(
                statusCode: StatusCodes.Status429TooManyRequests,
                title: "Too Many Requests",
                detail: token is null ? "too many failed authentications from this address" : $"token {token.Id} sent more requests than its rate limit allows").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        if (token is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"airlock\"";
            await Results.Problem(
                statusCode: StatusCodes.Status401Unauthorized,
                title: "Unauthorized",
                detail: header.Length == 0 ? "send 'Authorization: Bearer <token>' (airlock token create)" : "the token is unknown, expired or revoked").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        context.Items[TokenItem] = token;
        await next(context).ConfigureAwait(false);
    }

    private static TokenInfo Caller(HttpContext context) => (TokenInfo)context.Items[TokenItem]!;

    /// <summary>A sandbox the caller may see: every one for admin tokens, its own for session tokens.</summary>
    private async Task<SandboxRecord?> VisibleAsync(HttpContext context, string id)
    {
        if (!SandboxIds.IsWellFormed(id) || await store.GetSandboxAsync(id, context.RequestAborted).ConfigureAwait(false) is not { } record)
        {
            return null;
        }

        var caller = Caller(context);
        return caller.Scope == TokenScope.Admin || record.OwnerTokenId == caller.Id ? record : null;
    }

    private static IResult NotFound(string id) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found", detail: $"no sandbox '{id}'");

    private async Task<IResult> CreateSandboxAsync(HttpContext context, CreateSandboxRequest request, bool? wait)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var (policyText, policyName, policyVersion) = await ResolvePolicyAsync(request, errors, context.RequestAborted).ConfigureAwait(false);
        var ttl = Duration(request.Ttl, "ttl", errors) ?? options.DefaultTtl;
        var idle = Duration(request.IdleTimeout, "idleTimeout", errors);
        foreach (var (key, value) in request.Labels ?? [])
        {
            if (key.Length is 0 or > 63 || value.Length > 63)
            {
                errors["labels"] = ["label keys are 1 to 63 characters, values at most 63"];
            }
        }

        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "The sandbox request is not valid");
        }

        var id = SandboxIds.New();
        if (policyName is null)
        {
            // An inline policy is the first version of the sandbox's own policy: hot reloads and session-wide
            // approvals add versions to it, never to a policy other sandboxes share.
            (policyName, policyVersion) = (id, await store.PutPolicyAsync(id, policyText!, context.RequestAborted).ConfigureAwait(false));
        }

        var record = await store.CreateSandboxAsync(
            new NewSandbox
            {
                Id = id,
                Driver = driver.Name,
                Labels = request.Labels ?? [],
                PolicyName = policyName,
                PolicyVersion = policyVersion,
                ExpiresAt = DateTimeOffset.UtcNow + ttl,
                IdleTimeoutSeconds = idle is { } i ? (int)Math.Min(int.MaxValue, i.TotalSeconds) : null,
                OwnerTokenId = Caller(context).Id,
            },
            context.RequestAborted).ConfigureAwait(false);
        var spec = new SandboxSpec
        {
            Id = id,
            PolicyText = policyText!,
            PolicySource = $"{policyName}@{policyVersion}",
            WorkDirectory = driver.Name == "local" ? Workdir(id) : "/workspace",
            Environment = request.Env ?? [],
            Secrets = request.Secrets ?? [],
            TimeToLive = ttl,
        };

        if (wait == false)
        {
            _ = Task.Run(() => StartAsync(spec, policyVersion, CancellationToken.None), CancellationToken.None);
            return Results.Json(SandboxView.From(record), ApiJsonContext.Default.SandboxView, statusCode: StatusCodes.Status202Accepted);
        }

        var started = await StartAsync(spec, policyVersion, context.RequestAborted).ConfigureAwait(false);
        return started.State == StoredState.Ready
            ? Results.Created($"/v1/sandboxes/{id}", SandboxView.From(started))
            : Results.Problem(statusCode: StatusCodes.Status502BadGateway, title: "The sandbox could not be created", detail: started.StateReason, extensions: new Dictionary<string, object?> { ["id"] = id });
    }

    /// <summary>Creates the sandbox with the driver and records the outcome: ready, or failed with the driver's reason.</summary>
    private async Task<SandboxRecord> StartAsync(SandboxSpec spec, int? policyVersion, CancellationToken cancellationToken)
    {
        StoredState state;
        string? reason = null;
        try
        {
            await driver.CreateAsync(spec, cancellationToken).ConfigureAwait(false);
            state = StoredState.Ready;
            if (policyVersion is { } version)
            {
                // The proxy started with this version.
                await store.SetActivePolicyVersionAsync(spec.Id!, version, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SandboxException or OperationCanceledException or IOException)
        {
            state = StoredState.Failed;
            reason = e.Message;
            Log.CreateFailed(logger, spec.Id!, e.Message);
        }
        catch (Exception e) // a driver bug leaves the sandbox failed with a reason, never pending forever
        {
            state = StoredState.Failed;
            reason = $"internal error: {e.Message}";
            Log.CreateFailed(logger, spec.Id!, e.ToString());
        }

        return await store.UpdateSandboxStateAsync(spec.Id!, state, reason, CancellationToken.None).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"sandbox {spec.Id} vanished from the store");
    }

    private string Workdir(string id)
    {
        var path = Path.Combine(options.WorkdirRoot, id);
        Directory.CreateDirectory(options.WorkdirRoot, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private async Task<(string? Text, string? Name, int? Version)> ResolvePolicyAsync(CreateSandboxRequest request, Dictionary<string, string[]> errors, CancellationToken cancellationToken)
    {
        if ((request.Policy is null) == (request.PolicyName is null))
        {
            errors["policy"] = ["give the policy's text in 'policy', or a stored policy's name in 'policyName' (not both)"];
            return (null, null, null);
        }

        string text;
        string? name = null;
        int? version = null;
        if (request.PolicyName is { } wanted)
        {
            if (await store.GetPolicyAsync(wanted, request.PolicyVersion, cancellationToken).ConfigureAwait(false) is not { } stored)
            {
                errors["policyName"] = [request.PolicyVersion is { } v ? $"no version {v} of policy '{wanted}'" : $"no policy '{wanted}'"];
                return (null, null, null);
            }

            (text, name, version) = (stored.Text, stored.Name, stored.Version);
        }
        else
        {
            text = request.Policy!;
        }

        var parsed = PolicyLoader.Parse(text, name ?? "policy");
        if (parsed.Policy is null)
        {
            errors[name is null ? "policy" : "policyName"] = [.. parsed.Diagnostics.Select(d => d.ToString())];
            return (null, null, null);
        }

        return (text, name, version);
    }

    private static TimeSpan? Duration(string? text, string field, Dictionary<string, string[]> errors)
    {
        if (text is null)
        {
            return null;
        }

        if (DurationSyntax.TryParse(text, out var duration, out var error) && duration > TimeSpan.Zero)
        {
            return duration;
        }

        errors[field] = [error ?? "must be more than zero"];
        return null;
    }

    private async Task<IResult> ListSandboxesAsync(HttpContext context, string? state, string? after, int? limit)
    {
        var query = context.Request.Query;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var states = new List<StoredState>();
        foreach (var name in (state ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Enum.TryParse<StoredState>(name, ignoreCase: true, out var parsed) && !int.TryParse(name, out _))
            {
                states.Add(parsed);
            }
            else
            {
                errors["state"] = [$"'{name}' is not one of pending, ready, failed, deleting, deleted"];
            }
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in query["label"])
        {
            if (pair?.Split('=', 2) is [{ Length: > 0 } key, var value])
            {
                labels[key] = value;
            }
            else
            {
                errors["label"] = [$"'{pair}' is not key=value"];
            }
        }

        if (limit is < 1 or > 1000)
        {
            errors["limit"] = ["between 1 and 1000"];
        }

        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors);
        }

        var caller = Caller(context);
        SandboxPage page;
        try
        {
            page = await store.ListSandboxesAsync(
                new SandboxQuery
                {
                    States = states.Count == 0 ? null : states,
                    Labels = labels.Count == 0 ? null : labels,
                    OwnerTokenId = caller.Scope == TokenScope.Admin ? null : caller.Id,
                    After = after,
                    Limit = limit ?? 100,
                },
                context.RequestAborted).ConfigureAwait(false);
        }
        catch (ArgumentException)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["after"] = ["not a cursor this server gave out"] });
        }

        return Results.Json(new SandboxListView([.. page.Items.Select(SandboxView.From)], page.NextCursor), ApiJsonContext.Default.SandboxListView);
    }

    private async Task<IResult> GetSandboxAsync(HttpContext context, string id) =>
        await VisibleAsync(context, id).ConfigureAwait(false) is { } record
            ? Results.Json(SandboxView.From(record), ApiJsonContext.Default.SandboxView)
            : NotFound(id);

    private async Task<IResult> DeleteSandboxAsync(HttpContext context, string id)
    {
        if (await VisibleAsync(context, id).ConfigureAwait(false) is not { } record)
        {
            return NotFound(id);
        }

        if (record.State == StoredState.Deleted)
        {
            return Results.NoContent();
        }

        await store.UpdateSandboxStateAsync(id, StoredState.Deleting, null, context.RequestAborted).ConfigureAwait(false);
        try
        {
            await driver.DeleteAsync(id, context.RequestAborted).ConfigureAwait(false);
        }
        catch (SandboxException e)
        {
            await store.UpdateSandboxStateAsync(id, StoredState.Deleting, e.Message, CancellationToken.None).ConfigureAwait(false);
            return Results.Problem(statusCode: StatusCodes.Status502BadGateway, title: "The sandbox could not be deleted", detail: e.Message);
        }

        await store.UpdateSandboxStateAsync(id, StoredState.Deleted, null, CancellationToken.None).ConfigureAwait(false);
        return Results.NoContent();
    }

    /// <summary>Reads the event filters; a session token must name one of its own sessions.</summary>
    private async Task<(EventQuery? Query, IResult? Error)> EventFilterAsync(HttpContext context)
    {
        var q = context.Request.Query;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        DateTimeOffset? Time(string name)
        {
            if (q[name].ToString() is not { Length: > 0 } text)
            {
                return null;
            }

            if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                return at;
            }

            errors[name] = ["an RFC 3339 time, such as 2026-11-23T18:00:00Z"];
            return null;
        }

        long? after = null;
        var resume = context.Request.Headers["Last-Event-ID"].ToString() is { Length: > 0 } header ? header : q["after"].ToString();
        if (resume.Length > 0)
        {
            if (long.TryParse(resume, NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            {
                after = seq;
            }
            else
            {
                errors["after"] = ["an event seq (the id of an event this server sent)"];
            }
        }

        var limit = 100;
        if (q["limit"].ToString() is { Length: > 0 } limitText && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > EventQuery.MaxLimit))
        {
            errors["limit"] = [$"between 1 and {EventQuery.MaxLimit}"];
        }

        var decision = q["decision"].ToString() is { Length: > 0 } d ? d : null;
        if (decision is not (null or "allow" or "deny" or "ask"))
        {
            errors["decision"] = ["allow, deny or ask"];
        }

        var query = new EventQuery
        {
            Session = q["session"].ToString() is { Length: > 0 } s ? s : null,
            Decision = decision,
            Reason = q["reason"].ToString() is { Length: > 0 } r ? r : null,
            Host = q["host"].ToString() is { Length: > 0 } h ? h : null,
            From = Time("from"),
            To = Time("to"),
            AfterSeq = after,
            Limit = limit,
        };
        if (errors.Count > 0)
        {
            return (null, Results.ValidationProblem(errors));
        }

        if (Caller(context).Scope != TokenScope.Admin)
        {
            if (query.Session is null)
            {
                return (null, Results.ValidationProblem(new Dictionary<string, string[]> { ["session"] = ["a session token reads the events of one of its sandboxes: name it"] }));
            }

            if (await VisibleAsync(context, query.Session).ConfigureAwait(false) is null)
            {
                return (null, NotFound(query.Session));
            }
        }

        return (query, null);
    }

    private async Task<IResult> QueryEventsAsync(HttpContext context)
    {
        var (query, error) = await EventFilterAsync(context).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var events = await store.QueryEventsAsync(query!, context.RequestAborted).ConfigureAwait(false);
        var body = new StringBuilder("{\"items\":[");
        body.AppendJoin(',', events.Select(e => e.Json.TrimEnd('\n')));
        body.Append(']');
        if (events.Count > 0)
        {
            // The seq of the last item: where a stream (after=) or the next query continues without a gap.
            body.Append(CultureInfo.InvariantCulture, $",\"last\":\"{events[^1].Seq}\"");
        }

        if (events.Count == query!.Limit)
        {
            body.Append(CultureInfo.InvariantCulture, $",\"next\":\"{events[^1].Seq}\"");
        }

        body.Append('}');
        return Results.Text(body.ToString(), "application/json", Encoding.UTF8);
    }

    /// <summary>
    /// Server-sent events: each event's <c>id</c> is its seq. Subscribes to the live feed first, then sends what the
    /// store holds after <c>Last-Event-ID</c> (or, without one, nothing older than now), then the live events it
    /// has not sent: no gap, no duplicate. A reader cut off for being slow reconnects with its last id.
    /// </summary>
    private async Task StreamEventsAsync(HttpContext context, CancellationToken requestAborted)
    {
        var (query, error) = await EventFilterAsync(context).ConfigureAwait(false);
        if (error is not null)
        {
            await error.ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        var live = feed.Subscribe(out var subscription);
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, _stopping);
        using (subscription)
        {
            // A gateway that is stopping ends its streams; clients resume from their last id on the next one.
            var cancel = ending.Token;
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.Headers["X-Accel-Buffering"] = "no";
            await context.Response.StartAsync(cancel).ConfigureAwait(false);

            var sent = query!.AfterSeq ?? await store.GetLatestEventSeqAsync(cancel).ConfigureAwait(false);
            if (query.AfterSeq is null)
            {
                // Where "now" is, before any event: a client that reconnects before its first event resumes from here.
                await context.Response.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"id: {sent}\n\n"), cancel).ConfigureAwait(false);
            }
            while (true)
            {
                var page = await store.QueryEventsAsync(query with { AfterSeq = sent, Limit = EventQuery.MaxLimit }, cancel).ConfigureAwait(false);
                foreach (var stored in page)
                {
                    await WriteEventAsync(context, stored, cancel).ConfigureAwait(false);
                    sent = stored.Seq;
                }

                if (page.Count < EventQuery.MaxLimit)
                {
                    break;
                }
            }

            await context.Response.Body.FlushAsync(cancel).ConfigureAwait(false);
            try
            {
                while (!cancel.IsCancellationRequested)
                {
                    using var beat = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                    beat.CancelAfter(Heartbeat);
                    bool more;
                    try
                    {
                        more = await live.WaitToReadAsync(beat.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
                    {
                        await context.Response.WriteAsync(": keep-alive\n\n", cancel).ConfigureAwait(false);
                        await context.Response.Body.FlushAsync(cancel).ConfigureAwait(false);
                        continue;
                    }

                    if (!more)
                    {
                        return;
                    }

                    while (live.TryRead(out var stored))
                    {
                        if (stored.Seq > sent && Matches(query, stored))
                        {
                            await WriteEventAsync(context, stored, cancel).ConfigureAwait(false);
                            sent = stored.Seq;
                        }
                    }

                    await context.Response.Body.FlushAsync(cancel).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or EventFeedOverflowException)
            {
                // The client went away, or fell behind and resumes from its last id.
            }
        }
    }

    private static async Task WriteEventAsync(HttpContext context, StoredEvent stored, CancellationToken cancellationToken) =>
        await context.Response.WriteAsync(
            string.Create(CultureInfo.InvariantCulture, $"id: {stored.Seq}\nevent: egress\ndata: {stored.Json.TrimEnd('\n')}\n\n"),
            cancellationToken).ConfigureAwait(false);

    private static bool Matches(EventQuery query, StoredEvent stored)
    {
        var e = stored.Event;
        return (query.Session is null || e.Session == query.Session)
            && (query.Decision is null || e.Decision == query.Decision)
            && (query.Reason is null || e.Reason == query.Reason)
            && (query.Host is null || e.Host == query.Host)
            && (query.From is null || e.Ts >= query.From)
            && (query.To is null || e.Ts < query.To);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Sandbox {Id} could not be created: {Error}")]
        public static partial void CreateFailed(ILogger logger, string id, string error);
    }
}
