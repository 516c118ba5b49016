using System.Text;
using System.Text.RegularExpressions;
using Airlock.Policy.Loading;
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

    private void MapPolicies(RouteGroupBuilder v1)
    {
        v1.MapPost("/policies/validate", (Func<HttpContext, Task<IResult>>)ValidatePolicyAsync);
        v1.MapGet("/policies", (Func<HttpContext, Task<IResult>>)ListPoliciesAsync);
        v1.MapPut("/policies/{name}", PutPolicyAsync);
        v1.MapGet("/policies/{name}", GetPolicyAsync);
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
        var policies = await store.ListPoliciesAsync(context.RequestAborted).ConfigureAwait(false);
        return Results.Json(new PolicyListView([.. policies.Select(p => new PolicySummaryView(p.Name, p.LatestVersion, p.UpdatedAt))]), PolicyJsonContext.Default.PolicyListView);
    }

    private async Task<IResult> GetPolicyAsync(HttpContext context, string name, int? version)
    {
        if (!PolicyName().IsMatch(name) || await store.GetPolicyAsync(name, version, context.RequestAborted).ConfigureAwait(false) is not { } stored)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found", detail: version is { } v ? $"no version {v} of policy '{name}'" : $"no policy '{name}'");
        }

        return Results.Json(
            new PolicyVersionView(stored.Name, stored.Version, stored.Text, stored.CreatedAt, Problems(PolicyLoader.Parse(stored.Text, stored.Name))),
            PolicyJsonContext.Default.PolicyVersionView);
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex PolicyName();
}
