using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Airlock.Client;

/// <summary>Policies: <c>/v1/policies</c>, a sandbox's policy (hot reload) and suggestions.</summary>
public sealed partial class AirlockClient
{
    /// <summary>Checks a policy without storing it (<c>POST /v1/policies/validate</c>).</summary>
    /// <param name="policy">The policy's text (YAML or JSON, at most 1 MiB).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it is valid, and every error and warning with its line and column.</returns>
    public async Task<PolicyValidation> ValidatePolicyAsync(string policy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        using var message = NewRequest(HttpMethod.Post, "v1/policies/validate");
        message.Content = PolicyContent(policy);
        return await SendAsync(message, ClientJsonContext.Default.PolicyValidation, cancellationToken, HttpStatusCode.OK).ConfigureAwait(false);
    }

    /// <summary>Stores a new version of a named policy (<c>PUT /v1/policies/{name}</c>; admin tokens only).</summary>
    /// <param name="name">1 to 63 lower-case letters, digits and <c>-</c>.</param>
    /// <param name="policy">The policy's text (YAML or JSON).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The version stored.</returns>
    /// <exception cref="AirlockApiException">400 an invalid policy (each error as <c>name:line:col: message</c> under <c>policy</c>) or name; 403 not an admin token.</exception>
    public async Task<PolicyVersion> PutPolicyAsync(string name, string policy, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(policy);
        using var message = NewRequest(HttpMethod.Put, "v1/policies/" + Uri.EscapeDataString(name));
        message.Content = PolicyContent(policy);
        return await SendAsync(message, ClientJsonContext.Default.PolicyVersion, cancellationToken, HttpStatusCode.Created).ConfigureAwait(false);
    }

    /// <summary>A stored policy version (<c>GET /v1/policies/{name}</c>).</summary>
    /// <param name="name">Its name (or a sandbox's id, for the sandbox's own policy).</param>
    /// <param name="version">The version; the latest when null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="AirlockApiException">404 no such policy or version.</exception>
    public async Task<PolicyVersion> GetPolicyAsync(string name, int? version = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var query = new QueryString();
        query.Add("version", version?.ToString(CultureInfo.InvariantCulture));
        using var message = NewRequest(HttpMethod.Get, "v1/policies/" + Uri.EscapeDataString(name) + query);
        return await SendAsync(message, ClientJsonContext.Default.PolicyVersion, cancellationToken, HttpStatusCode.OK).ConfigureAwait(false);
    }

    /// <summary>Every named policy with its latest version (<c>GET /v1/policies</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<IReadOnlyList<PolicySummary>> ListPoliciesAsync(CancellationToken cancellationToken = default)
    {
        using var message = NewRequest(HttpMethod.Get, "v1/policies");
        return (await SendAsync(message, ClientJsonContext.Default.PolicyListWire, cancellationToken, HttpStatusCode.OK).ConfigureAwait(false)).Items;
    }

    /// <summary>
    /// Hot-reloads a running sandbox's policy (<c>PUT /v1/sandboxes/{id}/policy</c>): returns once the sandbox's proxy
    /// enforces it. Connections already open keep the decision they had; new ones get the new policy.
    /// </summary>
    /// <param name="id">The sandbox.</param>
    /// <param name="request">A policy's text, or a stored policy's name (and version).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The sandbox, with <see cref="Sandbox.ActivePolicyVersion"/> updated.</returns>
    /// <exception cref="AirlockApiException">
    /// 400 an invalid policy (nothing changed); 404 no such sandbox or policy; 409 the sandbox is not ready; 422 its proxy
    /// refused the policy (it keeps the old one); 504 its proxy did not acknowledge in time (pushed again when it reconnects).
    /// </exception>
    public async Task<Sandbox> ApplySandboxPolicyAsync(string id, ApplyPolicyRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(request);
        using var message = NewRequest(HttpMethod.Put, SandboxPath(id) + "/policy");
        message.Content = JsonContent.Create(request, ClientJsonContext.Default.ApplyPolicyRequest);
        return await SendAsync(message, ClientJsonContext.Default.Sandbox, cancellationToken, HttpStatusCode.OK).ConfigureAwait(false);
    }

    /// <summary>A least-privilege policy from a sandbox's observed events (<c>POST /v1/policies/suggest</c>).</summary>
    /// <param name="session">The sandbox whose events to learn from.</param>
    /// <param name="name">The suggested policy's name; the sandbox's id with <c>-suggested</c> when null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="AirlockApiException">400 a bad name; 404 no such sandbox.</exception>
    public async Task<PolicySuggestion> SuggestPolicyAsync(string session, string? name = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(session);
        using var message = NewRequest(HttpMethod.Post, "v1/policies/suggest");
        message.Content = JsonContent.Create(new SuggestPolicyWire(session, name), ClientJsonContext.Default.SuggestPolicyWire);
        return await SendAsync(message, ClientJsonContext.Default.PolicySuggestion, cancellationToken, HttpStatusCode.OK).ConfigureAwait(false);
    }

    private static StringContent PolicyContent(string policy) => new(policy, Encoding.UTF8, "application/yaml");
}
