using System.Text.Json;
using Airlock.Server.Approvals;
using Airlock.Server.Auth;
using Airlock.Server.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Airlock.Server.Api;

/// <summary>
/// Approvals: the <c>ask</c> decisions proxies hold, listed, streamed and decided. A token sees (and decides) the
/// approvals of the sandboxes it can see.
/// </summary>
public sealed partial class GatewayApi
{
    private void MapApprovals(RouteGroupBuilder v1)
    {
        v1.MapGet("/approvals", ListApprovalsAsync);
        v1.MapGet("/approvals/stream", StreamApprovalsAsync).Produces(StatusCodes.Status200OK, contentType: "text/event-stream");
        v1.MapGet("/approvals/{id}", GetApprovalAsync);
        v1.MapPost("/approvals/{id}", DecideApprovalAsync);
    }

    private async Task<IResult> ListApprovalsAsync(HttpContext context, string? session, string? state)
    {
        if (state is not null and not "pending")
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["state"] = ["only 'pending' approvals are listed; read a decided one by its id"] });
        }

        if (session is not null && await VisibleAsync(context, session).ConfigureAwait(false) is null)
        {
            return NotFound(session);
        }

        var pending = await store.ListPendingApprovalsAsync(session, context.RequestAborted).ConfigureAwait(false);
        var visible = new List<ApprovalView>();
        foreach (var approval in pending)
        {
            if (await CanSeeApprovalAsync(context, approval).ConfigureAwait(false))
            {
                visible.Add(ApprovalView.From(approval));
            }
        }

        return Results.Json(new ApprovalListView(visible), ApprovalJsonContext.Default.ApprovalListView);
    }

    private async Task<IResult> GetApprovalAsync(HttpContext context, string id) =>
        await store.GetApprovalAsync(id, context.RequestAborted).ConfigureAwait(false) is { } approval && await CanSeeApprovalAsync(context, approval).ConfigureAwait(false)
            ? Results.Json(ApprovalView.From(approval), ApprovalJsonContext.Default.ApprovalView)
            : NoApproval(id);

    private async Task<IResult> DecideApprovalAsync(HttpContext context, string id, DecideApprovalRequest request)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        bool? approve = request.Decision switch
        {
            "approve" => true,
            "deny" => false,
            _ => null,
        };
        ApprovalScope? scope = request.Scope switch
        {
            null or "once" => ApprovalScope.Once,
            "session" => ApprovalScope.Session,
            _ => null,
        };
        if (approve is null)
        {
            errors["decision"] = ["'approve' or 'deny'"];
        }

        if (scope is null)
        {
            errors["scope"] = ["'once' (the default) or 'session'"];
        }

        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "The decision is not valid");
        }

        if (await store.GetApprovalAsync(id, context.RequestAborted).ConfigureAwait(false) is not { } approval || !await CanSeeApprovalAsync(context, approval).ConfigureAwait(false))
        {
            return NoApproval(id);
        }

        var (outcome, current) = await approvals.DecideAsync(id, approve!.Value, scope!.Value, Caller(context).Id, context.RequestAborted).ConfigureAwait(false);
        return outcome switch
        {
            DecideOutcome.Decided => Results.Json(ApprovalView.From(current!), ApprovalJsonContext.Default.ApprovalView),
            DecideOutcome.AlreadyClosed => Results.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "Already closed",
                detail: $"approval '{id}' is {ApprovalView.From(current!).State}; a decision is made once",
                extensions: new Dictionary<string, object?> { ["state"] = ApprovalView.From(current!).State }),
            _ => NoApproval(id),
        };
    }

    /// <summary>Server-sent events: every pending approval first, then every change (new, decided, timed out) as it happens.</summary>
    private async Task StreamApprovalsAsync(HttpContext context, string? session, CancellationToken requestAborted)
    {
        if (session is not null && await VisibleAsync(context, session).ConfigureAwait(false) is null)
        {
            await NotFound(session).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        using var ending = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, _stopping);
        var cancel = ending.Token;

        // Watch before reading what is pending, so nothing that changes in between is missed (at worst it comes twice).
        await using var changes = approvals.WatchAsync(cancel).GetAsyncEnumerator(cancel);
        var next = changes.MoveNextAsync().AsTask();
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        try
        {
            await context.Response.StartAsync(cancel).ConfigureAwait(false);
            foreach (var pending in await store.ListPendingApprovalsAsync(session, cancel).ConfigureAwait(false))
            {
                if (await CanSeeApprovalAsync(context, pending).ConfigureAwait(false))
                {
                    await WriteApprovalAsync(context, pending, cancel).ConfigureAwait(false);
                }
            }

            await context.Response.Body.FlushAsync(cancel).ConfigureAwait(false);
            while (!cancel.IsCancellationRequested)
            {
                var beat = Task.Delay(Heartbeat, cancel);
                if (await Task.WhenAny(next, beat).ConfigureAwait(false) == beat)
                {
                    await context.Response.WriteAsync(": keep-alive\n\n", cancel).ConfigureAwait(false);
                    await context.Response.Body.FlushAsync(cancel).ConfigureAwait(false);
                    continue;
                }

                if (!await next.ConfigureAwait(false))
                {
                    return;
                }

                var changed = changes.Current;
                next = changes.MoveNextAsync().AsTask();
                if ((session is null || changed.Session == session) && await CanSeeApprovalAsync(context, changed).ConfigureAwait(false))
                {
                    await WriteApprovalAsync(context, changed, cancel).ConfigureAwait(false);
                    await context.Response.Body.FlushAsync(cancel).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client went away or the gateway is stopping.
        }
        finally
        {
            await ((Task)next).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static async Task WriteApprovalAsync(HttpContext context, ApprovalRecord approval, CancellationToken cancellationToken) =>
        await context.Response.WriteAsync(
            $"event: approval\ndata: {JsonSerializer.Serialize(ApprovalView.From(approval), ApprovalJsonContext.Default.ApprovalView)}\n\n",
            cancellationToken).ConfigureAwait(false);

    private async Task<bool> CanSeeApprovalAsync(HttpContext context, ApprovalRecord approval) =>
        Caller(context).Scope == TokenScope.Admin || await VisibleAsync(context, approval.Session).ConfigureAwait(false) is not null;

    private static IResult NoApproval(string id) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found", detail: $"no approval '{id}'");
}
