using System.Text;
using System.Text.RegularExpressions;
using Airlock.Policy.Authoring;
using Airlock.Policy.Loading;
using Airlock.Proxy.Events;
using Airlock.Server.Sessions;
using Airlock.Server.Store;
using StoredState = Airlock.Server.Store.SandboxState;
using Airlock.Server.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Airlock.Server.Api;

/// <summary>
/// Named, versioned policies: validate (problems at their line and column), store a new version (admin tokens),
/// list, and read a version. The body of <c>validate</c> and <c>PUT</c> is the policy itself (YAML or JSON).
/// </summary>
public sealed partial class GatewayApi
{
    private const int MaxPolicyBytes = 1024 * 1024;

    /// <summary>Sandboxes' own policies are named after the sandbox's id.</summary>
    private const string SandboxPolicyPrefix = "sb-";

    private void MapPolicies(RouteGroupBuilder v1)
    {
        v1.MapPost("/policies/validate", (Func<HttpContext, Task<IResult>>)ValidatePolicyAsync);
        v1.MapGet("/policies", (Func<HttpContext, Task<IResult>>)ListPoliciesAsync);
        v1.MapPut("/policies/{name}", PutPolicyAsync);
        v1.MapGet("/policies/{name}", GetPolicyAsync);
        v1.MapPost("/policies/suggest", SuggestPolicyAsync);
        v1.MapPut("/sandboxes/{id}/policy", ApplySandboxPolicyAsync);
    }

    private static async Task<string?> ReadPolicyBodyAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var buffer = new char[MaxPolicyBytes + 1];
        var read = await reader.ReadBlockAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        return read > MaxPolicyBytes ? null : new string(buffer, 0, read);
    }

    private static PolicyProblemView[] Problems(PolicyLoadResult result) =>
        [.. result.Diagnostics.Select(d => new PolicyProblemView(d.Location.Line, d.Location.Column, d.IsError ? "error" : "warning", d.Message, d.Suggestion))];

    private static IResult PolicyTooLarge() =>
        Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Policy too large", detail: $"a policy is at most {MaxPolicyBytes / 1024} KiB");

    private async Task<IResult> ValidatePolicyAsync(HttpContext context)
    {
        if (await ReadPolicyBodyAsync(context).ConfigureAwait(false) is not { } text)
        {
            return PolicyTooLarge();
        }

        var result = PolicyLoader.Parse(text, "policy");
        return Results.Json(new PolicyValidationView(result.Policy is not null, Problems(result)), PolicyJsonContext.Default.PolicyValidationView);
    }

    private async Task<IResult> PutPolicyAsync(HttpContext context, string name)
    {
        if (Caller(context).Scope != TokenScope.Admin)
        {
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: "storing a policy needs an admin token");
        }

        if (!PolicyName().IsMatch(name))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["name"] = ["1 to 63 lower-case letters, digits and '-', starting with a letter or digit"] });
        }

        if (name.StartsWith(SandboxPolicyPrefix, StringComparison.Ordinal))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["name"] = [$"names starting with '{SandboxPolicyPrefix}' belong to sandboxes' own policies: change one with PUT /v1/sandboxes/{{id}}/policy"] });
        }

        if (await ReadPolicyBodyAsync(context).ConfigureAwait(false) is not { } text)
        {
            return PolicyTooLarge();
        }

        var result = PolicyLoader.Parse(text, name);
        if (result.Policy is null)
        {
            return Results.ValidationProblem(
                new Dictionary<string, string[]> { ["policy"] = [.. result.Diagnostics.Where(d => d.IsError).Select(d => d.ToString())] },
                title: "The policy is not valid; nothing was stored");
        }

        var version = await store.PutPolicyAsync(name, text, context.RequestAborted).ConfigureAwait(false);
        var stored = await store.GetPolicyAsync(name, version, context.RequestAborted).ConfigureAwait(false);
        return Results.Json(
            new PolicyVersionView(name, version, text, stored?.CreatedAt ?? DateTimeOffset.UtcNow, Problems(result)),
            PolicyJsonContext.Default.PolicyVersionView,
            statusCode: StatusCodes.Status201Created);
    }

    private async Task<IResult> ListPoliciesAsync(HttpContext context)
    {
        // Sandboxes' own policies are read through their sandbox (and by whoever may see it), not listed here.
        var policies = await store.ListPoliciesAsync(context.RequestAborted).ConfigureAwait(false);
        return Results.Json(new PolicyListView([.. policies.Where(p => !p.Name.StartsWith(SandboxPolicyPrefix, StringComparison.Ordinal)).Select(p => new PolicySummaryView(p.Name, p.LatestVersion, p.UpdatedAt))]), PolicyJsonContext.Default.PolicyListView);
    }

    private async Task<IResult> GetPolicyAsync(HttpContext context, string name, int? version)
    {
        if (!PolicyName().IsMatch(name)
            || (name.StartsWith(SandboxPolicyPrefix, StringComparison.Ordinal) && await VisibleAsync(context, name).ConfigureAwait(false) is null)
            || await store.GetPolicyAsync(name, version, context.RequestAborted).ConfigureAwait(false) is not { } stored)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found", detail: version is { } v ? $"no version {v} of policy '{name}'" : $"no policy '{name}'");
        }

        return Results.Json(
            new PolicyVersionView(stored.Name, stored.Version, stored.Text, stored.CreatedAt, Problems(PolicyLoader.Parse(stored.Text, stored.Name))),
            PolicyJsonContext.Default.PolicyVersionView);
    }

    /// <summary>
    /// Hot reload: the new policy is validated, recorded (inline text as the next version of the sandbox's own
    /// policy), pushed to the sandbox's proxy, and active once the proxy acknowledges it.
    /// </summary>
    private async Task<IResult> ApplySandboxPolicyAsync(HttpContext context, string id, ApplyPolicyRequest request)
    {
        if (await VisibleAsync(context, id).ConfigureAwait(false) is not { } sandbox)
        {
            return NotFound(id);
        }

        if (sandbox.State != StoredState.Ready)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not running", detail: $"sandbox '{id}' is {sandbox.State.ToString().ToLowerInvariant()}; only a ready sandbox takes a new policy");
        }

        if (request.PolicyName?.StartsWith(SandboxPolicyPrefix, StringComparison.Ordinal) == true && request.PolicyName != id)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["policyName"] = ["another sandbox's own policy cannot be applied here"] });
        }

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var (text, name, version) = await ResolvePolicyAsync(new CreateSandboxRequest { Policy = request.Policy, PolicyName = request.PolicyName, PolicyVersion = request.PolicyVersion }, errors, context.RequestAborted).ConfigureAwait(false);
        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "The policy is not valid; nothing changed");
        }

        var result = name is null
            ? await policies.ApplyOwnAsync(id, text!, context.RequestAborted).ConfigureAwait(false)
            : await policies.ApplyAsync(id, name, version!.Value, text!, context.RequestAborted).ConfigureAwait(false);
        return result.Outcome switch
        {
            PolicyApplyOutcome.Active => Results.Json(SandboxView.From(result.Sandbox!), ApiJsonContext.Default.SandboxView),
            PolicyApplyOutcome.Rejected => Results.Problem(
                statusCode: StatusCodes.Status422UnprocessableEntity,
                title: "The sandbox's proxy refused the policy; it keeps enforcing the one it had",
                detail: string.Join("; ", result.Errors)),
            _ => Results.Problem(
                statusCode: StatusCodes.Status504GatewayTimeout,
                title: "The sandbox's proxy did not acknowledge the policy",
                detail: $"{string.Join("; ", result.Errors)}; the version is recorded as wanted and is pushed again when the proxy reconnects"),
        };
    }

    /// <summary>A least-privilege policy from what a session did: every destination it reached or tried, except addresses always blocked and explicit denials.</summary>
    private async Task<IResult> SuggestPolicyAsync(HttpContext context, SuggestPolicyRequest request)
    {
        if (request.Session is not { } session)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["session"] = ["the sandbox whose events to learn from"] });
        }

        var name = request.Name ?? session + "-suggested";
        if (!PolicyName().IsMatch(name))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["name"] = ["1 to 63 lower-case letters, digits and '-', starting with a letter or digit"] });
        }

        if (await VisibleAsync(context, session).ConfigureAwait(false) is null)
        {
            return NotFound(session);
        }

        var observations = new List<Observation>();
        var excluded = new SortedSet<string>(StringComparer.Ordinal);
        var events = 0;
        long? after = null;
        while (true)
        {
            var page = await store.QueryEventsAsync(new EventQuery { Session = session, AfterSeq = after, Limit = EventQuery.MaxLimit }, context.RequestAborted).ConfigureAwait(false);
            foreach (var stored in page)
            {
                var e = stored.Event;
                if (e is not { Type: EgressEventType.Connection or EgressEventType.Request, Host: { Length: > 0 } host, Port: { } port })
                {
                    continue;
                }

                events++;
                if (e.Reason is "blocked_address" or "malformed_host" or "denied_by_rule")
                {
                    excluded.Add($"{host}:{port} ({e.Reason})");
                    continue;
                }

                observations.Add(new Observation
                {
                    Host = host,
                    Port = port,
                    Method = e.Type == EgressEventType.Request ? e.Method : null,
                    Path = e.Type == EgressEventType.Request ? e.Path : null,
                    TlsPassthrough = e.Tls == "passthrough",
                });
            }

            if (page.Count < EventQuery.MaxLimit)
            {
                break;
            }

            after = page[^1].Seq;
        }

        var suggestion = PolicySuggester.Suggest(observations, name, $"sandbox {session}");
        return Results.Json(
            new PolicySuggestionView(suggestion.Text, events, suggestion.Destinations, [.. excluded]),
            PolicyJsonContext.Default.PolicySuggestionView);
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex PolicyName();
}
