using Airlock.Proxy.Events;
using Airlock.Server.Auth;

namespace Airlock.Server.Store;

/// <summary>
/// The gateway's durable state: API tokens, sandboxes, events, named policies and approvals. Opened with
/// <see cref="ServerStore.OpenAsync(string, ServerStoreOptions?, CancellationToken)"/>; one instance is shared by the whole gateway and is thread-safe.
/// </summary>
/// <remarks>
/// Every method that returns has committed its writes. Times are stored with millisecond precision. Methods throw
/// <see cref="ArgumentException"/> for arguments a client could have sent wrong (a malformed cursor, an empty name),
/// and the database's own exception when the database fails.
/// </remarks>
public interface IServerStore : IAsyncDisposable
{
    /// <summary>Which database this is: <c>sqlite</c> or <c>postgres</c>.</summary>
    string Kind { get; }

    /// <summary>Checks that the database answers (for <c>/readyz</c>).</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    Task PingAsync(CancellationToken cancellationToken);

    /// <summary>Creates a token. The returned string is the only copy of its secret.</summary>
    /// <param name="scope">What it may do.</param>
    /// <param name="ttl">How long it works, or null for until revoked.</param>
    /// <param name="description">Free text, or null.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<CreatedToken> CreateTokenAsync(TokenScope scope, TimeSpan? ttl, string? description, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a token made elsewhere (the bootstrap admin token an operator keeps in a Secret): only its hash is
    /// kept. False, and nothing changes, when a token with its id is stored already (whatever its secret).
    /// </summary>
    /// <param name="token">The token string.</param>
    /// <param name="scope">What it may do.</param>
    /// <param name="description">What it is for.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <exception cref="ArgumentException">The string is not shaped like a token.</exception>
    Task<bool> ImportTokenAsync(string token, TokenScope scope, string? description, CancellationToken cancellationToken);

    /// <summary>
    /// The token a presented string stands for, or null when it is malformed, unknown, has the wrong secret (compared
    /// in constant time), has expired or was revoked. Never throws for bad input.
    /// </summary>
    /// <param name="presented">The string from the <c>Authorization: Bearer</c> header.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<TokenInfo?> AuthenticateAsync(string? presented, CancellationToken cancellationToken);

    /// <summary>Every token, revoked and expired ones included, oldest first.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<IReadOnlyList<TokenInfo>> ListTokensAsync(CancellationToken cancellationToken);

    /// <summary>Revokes a token. Returns false when there is no such token or it was already revoked.</summary>
    /// <param name="id">The token's public id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<bool> RevokeTokenAsync(string id, CancellationToken cancellationToken);

    /// <summary>Records a new sandbox in state <see cref="SandboxState.Pending"/>.</summary>
    /// <param name="sandbox">What the caller decided.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <exception cref="InvalidOperationException">A sandbox with that id exists.</exception>
    Task<SandboxRecord> CreateSandboxAsync(NewSandbox sandbox, CancellationToken cancellationToken);

    /// <summary>A sandbox, or null.</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<SandboxRecord?> GetSandboxAsync(string id, CancellationToken cancellationToken);

    /// <summary>Sets a sandbox's state and reason; returns the updated sandbox, or null when there is none.</summary>
    /// <param name="id">Its id.</param>
    /// <param name="state">The new state.</param>
    /// <param name="reason">Why (a failure's reason), or null.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<SandboxRecord?> UpdateSandboxStateAsync(string id, SandboxState state, string? reason, CancellationToken cancellationToken);

    /// <summary>Points a sandbox at a policy version it should run (a hot reload asked for); its active version is kept only within the same policy name. False when there is no such sandbox.</summary>
    /// <param name="id">Its id.</param>
    /// <param name="policyName">The named policy.</param>
    /// <param name="policyVersion">The version.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<bool> SetSandboxPolicyAsync(string id, string policyName, int policyVersion, CancellationToken cancellationToken);

    /// <summary>Records the policy version the sandbox's proxy acknowledged; false when there is no such sandbox.</summary>
    /// <param name="id">Its id.</param>
    /// <param name="version">The version now enforced.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<bool> SetActivePolicyVersionAsync(string id, int version, CancellationToken cancellationToken);

    /// <summary>Records activity now (for the idle timeout); false when there is no such sandbox.</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<bool> TouchSandboxAsync(string id, CancellationToken cancellationToken);

    /// <summary>One page of sandboxes matching a query, in a stable order (creation time, then id).</summary>
    /// <param name="query">Filters and the page.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <exception cref="ArgumentException">The cursor is not one this store issued.</exception>
    Task<SandboxPage> ListSandboxesAsync(SandboxQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a batch of events in one transaction. Events whose id is already stored (or repeated in the batch) are
    /// skipped: proxies deliver at least once. Returns the newly stored events in sequence order.
    /// </summary>
    /// <param name="events">The batch.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<IReadOnlyList<StoredEvent>> AppendEventsAsync(IReadOnlyList<EgressEvent> events, CancellationToken cancellationToken);

    /// <summary>The highest stored sequence number, or 0 when there are no events (where a live stream starts "now").</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<long> GetLatestEventSeqAsync(CancellationToken cancellationToken);

    /// <summary>Events matching a query, in sequence order.</summary>
    /// <param name="query">Filters and the page.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<IReadOnlyList<StoredEvent>> QueryEventsAsync(EventQuery query, CancellationToken cancellationToken);

    /// <summary>Stores a new version of a named policy and returns its version number (1 for a new name).</summary>
    /// <param name="name">The policy's name.</param>
    /// <param name="text">The document.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<int> PutPolicyAsync(string name, string text, CancellationToken cancellationToken);

    /// <summary>A version of a named policy (the latest when <paramref name="version"/> is null), or null.</summary>
    /// <param name="name">The policy's name.</param>
    /// <param name="version">The version, or null for the latest.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<PolicyVersionRecord?> GetPolicyAsync(string name, int? version, CancellationToken cancellationToken);

    /// <summary>Every named policy with its latest version, by name.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<IReadOnlyList<PolicySummary>> ListPoliciesAsync(CancellationToken cancellationToken);

    /// <summary>Records a pending approval. Returns false when one with that id exists (a repeated report).</summary>
    /// <param name="approval">The ask.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<bool> InsertApprovalAsync(NewApproval approval, CancellationToken cancellationToken);

    /// <summary>An approval, or null.</summary>
    /// <param name="id">The ask id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<ApprovalRecord?> GetApprovalAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Approves or denies a pending, unexpired approval. Returns false (and changes nothing) when it is unknown,
    /// already decided, timed out or past its expiry: an approval is decided once.
    /// </summary>
    /// <param name="id">The ask id.</param>
    /// <param name="approve">True to approve, false to deny.</param>
    /// <param name="scope">How far the decision reaches.</param>
    /// <param name="decidedBy">Who decided.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<bool> DecideApprovalAsync(string id, bool approve, ApprovalScope scope, string decidedBy, CancellationToken cancellationToken);

    /// <summary>Pending approvals, oldest first, optionally of one session.</summary>
    /// <param name="session">The session, or null for all.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<IReadOnlyList<ApprovalRecord>> ListPendingApprovalsAsync(string? session, CancellationToken cancellationToken);

    /// <summary>Marks one pending approval timed out (the proxy gave up); false when it was not pending.</summary>
    /// <param name="id">The ask id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<bool> MarkApprovalTimedOutAsync(string id, CancellationToken cancellationToken);

    /// <summary>Marks every pending approval whose expiry has passed timed out, and returns them.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    Task<IReadOnlyList<ApprovalRecord>> TimeOutExpiredApprovalsAsync(CancellationToken cancellationToken);
}
