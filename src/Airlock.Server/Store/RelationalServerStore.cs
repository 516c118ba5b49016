using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Airlock.Proxy.Events;
using Airlock.Server.Auth;

namespace Airlock.Server.Store;

/// <summary>
/// What the SQLite and PostgreSQL stores share: the SQL both dialects accept (<c>ON CONFLICT … DO NOTHING</c>,
/// <c>RETURNING</c>, row-value comparison). Subclasses supply connections, time and label encoding, and the batch
/// insert of events, which each does its own fastest way.
/// </summary>
internal abstract class RelationalServerStore : IServerStore
{
    private const string TokenColumns = "id, scope, description, created_at, expires_at, revoked_at";
    private const string ApprovalColumns = "id, session, host, port, rule, requested_at, expires_at, state, scope, decided_at, decided_by";

    private readonly TimeProvider _time;

    protected RelationalServerStore(TimeProvider time) => _time = time;

    public abstract string Kind { get; }

    /// <summary>How labels are written in an INSERT: a parameter, cast where the column is not text.</summary>
    protected abstract string LabelsParameterSql { get; }

    /// <summary>How the labels column is read as JSON text.</summary>
    protected abstract string LabelsColumnSql { get; }

    private string SandboxColumns =>
        "id, driver, state, state_reason, " + LabelsColumnSql + ", policy_name, policy_version, active_policy_version, " +
        "created_at, updated_at, expires_at, idle_timeout_seconds, last_activity_at, owner_token_id";

    /// <summary>An open connection for reading; the caller disposes it.</summary>
    protected abstract ValueTask<DbConnection> OpenReadAsync(CancellationToken cancellationToken);

    /// <summary>An open connection for writing, held until the lease is disposed.</summary>
    protected abstract ValueTask<WriteLease> EnterWriteAsync(CancellationToken cancellationToken);

    /// <summary>A time as this database's parameter value.</summary>
    protected abstract object TimeValue(DateTimeOffset time);

    /// <summary>A time column.</summary>
    protected abstract DateTimeOffset ReadTime(DbDataReader reader, int ordinal);

    /// <summary>Appends a condition (starting with <c> AND </c>) that every label matches.</summary>
    protected abstract void AppendLabelFilter(StringBuilder sql, DbCommand command, IReadOnlyDictionary<string, string> labels);

    public abstract Task<IReadOnlyList<StoredEvent>> AppendEventsAsync(IReadOnlyList<EgressEvent> events, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();

    /// <summary>Now, to the millisecond (the precision every time is stored with).</summary>
    protected DateTimeOffset Now() => Truncate(_time.GetUtcNow());

    internal static DateTimeOffset Truncate(DateTimeOffset time) => DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds());

    internal static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    protected void AddTime(DbCommand command, string name, DateTimeOffset? value) =>
        Add(command, name, value is { } time ? TimeValue(Truncate(time)) : null);

    protected DateTimeOffset? ReadNullableTime(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : ReadTime(reader, ordinal);

    protected static string? ReadNullableString(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    protected static int? ReadNullableInt(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : Convert.ToInt32(reader.GetValue(ordinal), CultureInfo.InvariantCulture);

    protected static string TypeName(EgressEventType type) => EventJson.TypeName(type);

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // ---- tokens

    public async Task<CreatedToken> CreateTokenAsync(TokenScope scope, TimeSpan? ttl, string? description, CancellationToken cancellationToken)
    {
        if (ttl is { } life && life <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), ttl, "a token's time to live must be positive");
        }

        var now = Now();
        var info = new TokenInfo
        {
            Id = ApiTokenFormat.NewId(),
            Scope = scope,
            Description = description,
            CreatedAt = now,
            ExpiresAt = ttl is { } t ? Truncate(now + t) : null,
        };
        var secret = ApiTokenFormat.NewSecret();
        await InsertTokenAsync(info, secret, ifAbsent: false, cancellationToken).ConfigureAwait(false);
        return new CreatedToken(ApiTokenFormat.Format(info.Id, secret), info);
    }

    public async Task<bool> ImportTokenAsync(string token, TokenScope scope, string? description, CancellationToken cancellationToken)
    {
        if (!ApiTokenFormat.TryParse(token, out var id, out var secret))
        {
            throw new ArgumentException("not an Airlock token (alk_<12 letters or digits>_<43 base64url characters>; make one with 'airlock token generate')", nameof(token));
        }

        var info = new TokenInfo { Id = id, Scope = scope, Description = description, CreatedAt = Now() };
        return await InsertTokenAsync(info, secret, ifAbsent: true, cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> InsertTokenAsync(TokenInfo info, byte[] secret, bool ifAbsent, CancellationToken cancellationToken)
    {
        var lease = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using (lease.ConfigureAwait(false))
        {
            using var command = lease.Connection.CreateCommand();
            command.CommandText =
                "INSERT INTO tokens (id, hash, scope, description, created_at, expires_at) " +
                "VALUES (@id, @hash, @scope, @description, @created_at, @expires_at)" +
                (ifAbsent ? " ON CONFLICT (id) DO NOTHING" : string.Empty);
            Add(command, "@id", info.Id);
            Add(command, "@hash", ApiTokenFormat.Hash(secret));
            Add(command, "@scope", TokenScopes.Name(info.Scope));
            Add(command, "@description", info.Description);
            AddTime(command, "@created_at", info.CreatedAt);
            AddTime(command, "@expires_at", info.ExpiresAt);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
    }

    public async Task<TokenInfo?> AuthenticateAsync(string? presented, CancellationToken cancellationToken)
    {
        if (!ApiTokenFormat.TryParse(presented, out var id, out var secret))
        {
            return null;
        }

        var connection = await OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT " + TokenColumns + ", hash FROM tokens WHERE id = @id";
            Add(command, "@id", id);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var hash = (byte[])reader.GetValue(6);
            if (!ApiTokenFormat.Matches(secret, hash))
            {
                return null;
            }

            var token = ReadToken(reader);
            var now = Now();
            return token.RevokedAt is not null || token.ExpiresAt <= now ? null : token;
        }
    }

    public async Task<IReadOnlyList<TokenInfo>> ListTokensAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT " + TokenColumns + " FROM tokens ORDER BY created_at, id";
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var tokens = new List<TokenInfo>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                tokens.Add(ReadToken(reader));
            }

            return tokens;
        }
    }

    public async Task<bool> RevokeTokenAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        var lease = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using (lease.ConfigureAwait(false))
        {
            using var command = lease.Connection.CreateCommand();
            command.CommandText = "UPDATE tokens SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL";
            Add(command, "@id", id);
            AddTime(command, "@now", Now());
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
    }

    private TokenInfo ReadToken(DbDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Scope = TokenScopes.TryParse(reader.GetString(1), out var scope)
            ? scope
            : throw new InvalidDataException($"token {reader.GetString(0)} has an unknown scope '{reader.GetString(1)}'"),
        Description = ReadNullableString(reader, 2),
        CreatedAt = ReadTime(reader, 3),
        ExpiresAt = ReadNullableTime(reader, 4),
        RevokedAt = ReadNullableTime(reader, 5),
    };

    // ---- sandboxes

    public async Task<SandboxRecord> CreateSandboxAsync(NewSandbox sandbox, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        ArgumentException.ThrowIfNullOrEmpty(sandbox.Id);
        ArgumentException.ThrowIfNullOrEmpty(sandbox.Driver);
        var now = Now();
        var lease = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using (lease.ConfigureAwait(false))
        {
            using var command = lease.Connection.CreateCommand();
            command.CommandText =
                "INSERT INTO sandboxes (id, driver, state, labels, policy_name, policy_version, created_at, updated_at, " +
                "expires_at, idle_timeout_seconds, last_activity_at, owner_token_id) " +
                $"VALUES (@id, @driver, @state, {LabelsParameterSql}, @policy_name, @policy_version, @now, @now, " +
                "@expires_at, @idle_timeout_seconds, @now, @owner_token_id) ON CONFLICT (id) DO NOTHING " +
                "RETURNING " + SandboxColumns;
            Add(command, "@id", sandbox.Id);
            Add(command, "@driver", sandbox.Driver);
            Add(command, "@state", StateName(SandboxState.Pending));
            Add(command, "@labels", SerializeLabels(sandbox.Labels));
            Add(command, "@policy_name", sandbox.PolicyName);
            Add(command, "@policy_version", sandbox.PolicyVersion);
            AddTime(command, "@now", now);
            AddTime(command, "@expires_at", sandbox.ExpiresAt);
            Add(command, "@idle_timeout_seconds", sandbox.IdleTimeoutSeconds);
            Add(command, "@owner_token_id", sandbox.OwnerTokenId);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                ? ReadSandbox(reader)
                : throw new InvalidOperationException($"a sandbox with id '{sandbox.Id}' already exists");
        }
    }

    public async Task<SandboxRecord?> GetSandboxAsync(string id, CancellationToken cancellationToken)
    {
        var connection = await OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT " + SandboxColumns + " FROM sandboxes WHERE id = @id";
            Add(command, "@id", id);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadSandbox(reader) : null;
        }
    }

    public async Task<SandboxRecord?> UpdateSandboxStateAsync(string id, SandboxState state, string? reason, CancellationToken cancellationToken)
    {
        var lease = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using (lease.ConfigureAwait(false))
        {
            using var command = lease.Connection.CreateCommand();
            command.CommandText =
                "UPDATE sandboxes SET state = @state, state_reason = @reason, updated_at = @now WHERE id = @id RETURNING " + SandboxColumns;
            Add(command, "@id", id);
            Add(command, "@state", StateName(state));
            Add(command, "@reason", reason);
            AddTime(command, "@now", Now());
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadSandbox(reader) : null;
        }
    }

    public Task<bool> SetSandboxPolicyAsync(string id, string policyName, int policyVersion, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(policyName);
        return UpdateSandboxAsync(
            id,
            // A different policy's versions are not comparable: nothing of it is active until its proxy acknowledges it.
            "active_policy_version = CASE WHEN policy_name = @policy_name THEN active_policy_version ELSE NULL END, " +
            "policy_name = @policy_name, policy_version = @policy_version, updated_at = @now",
            command =>
            {
                Add(command, "@policy_name", policyName);
                Add(command, "@policy_version", policyVersion);
            },
            cancellationToken);
    }

    public Task<bool> SetActivePolicyVersionAsync(string id, int version, CancellationToken cancellationToken) =>
        UpdateSandboxAsync(id, "active_policy_version = @version, updated_at = @now", command => Add(command, "@version", version), cancellationToken);

    public Task<bool> TouchSandboxAsync(string id, CancellationToken cancellationToken) =>
        UpdateSandboxAsync(id, "last_activity_at = @now", _ => { }, cancellationToken);

    private async Task<bool> UpdateSandboxAsync(string id, string assignments, Action<DbCommand> parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        var lease = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using (lease.ConfigureAwait(false))
        {
            using var command = lease.Connection.CreateCommand();
            command.CommandText = "UPDATE sandboxes SET " + assignments + " WHERE id = @id";
            Add(command, "@id", id);
            AddTime(command, "@now", Now());
            parameters(command);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
    }

    public async Task<SandboxPage> ListSandboxesAsync(SandboxQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, SandboxQuery.MaxLimit);
        var connection = await OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            var sql = new StringBuilder("SELECT ").Append(SandboxColumns).Append(" FROM sandboxes WHERE 1 = 1");
            if (query.After is not null)
            {
                if (!SandboxCursor.TryParse(query.After, out var afterCreatedAt, out var afterId))
                {
                    throw new ArgumentException("the cursor is not one this server issued; start again without it", nameof(query));
                }

                sql.Append(" AND (created_at, id) > (@after_created_at, @after_id)");
                AddTime(command, "@after_created_at", afterCreatedAt);
                Add(command, "@after_id", afterId);
            }

            if (query.States is { Count: > 0 } states)
            {
                sql.Append(" AND state IN (");
                var i = 0;
                foreach (var state in states)
                {
                    var name = "@state" + i.ToString(CultureInfo.InvariantCulture);
                    sql.Append(i == 0 ? string.Empty : ", ").Append(name);
                    Add(command, name, StateName(state));
                    i++;
                }

                sql.Append(')');
            }

            if (query.Labels is { Count: > 0 } labels)
            {
                AppendLabelFilter(sql, command, labels);
            }

            if (query.OwnerTokenId is not null)
            {
                sql.Append(" AND owner_token_id = @owner_token_id");
                Add(command, "@owner_token_id", query.OwnerTokenId);
            }

            sql.Append(" ORDER BY created_at, id LIMIT @limit");
            Add(command, "@limit", limit + 1);
            command.CommandText = sql.ToString();

            var items = new List<SandboxRecord>(Math.Min(limit + 1, 128));
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                items.Add(ReadSandbox(reader));
            }

            if (items.Count <= limit)
            {
                return new SandboxPage(items, null);
            }

            items.RemoveAt(limit);
            var last = items[^1];
            return new SandboxPage(items, SandboxCursor.Format(last.CreatedAt, last.Id));
        }
    }

    private SandboxRecord ReadSandbox(DbDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Driver = reader.GetString(1),
        State = ParseState(reader.GetString(2)),
        StateReason = ReadNullableString(reader, 3),
        Labels = JsonSerializer.Deserialize(reader.GetString(4), StoreJson.Default.DictionaryStringString) ?? [],
        PolicyName = ReadNullableString(reader, 5),
        PolicyVersion = ReadNullableInt(reader, 6),
        ActivePolicyVersion = ReadNullableInt(reader, 7),
        CreatedAt = ReadTime(reader, 8),
        UpdatedAt = ReadTime(reader, 9),
        ExpiresAt = ReadNullableTime(reader, 10),
        IdleTimeoutSeconds = ReadNullableInt(reader, 11),
        LastActivityAt = ReadNullableTime(reader, 12),
        OwnerTokenId = ReadNullableString(reader, 13),
    };

    protected static string SerializeLabels(IReadOnlyDictionary<string, string> labels) =>
        JsonSerializer.Serialize(new Dictionary<string, string>(labels, StringComparer.Ordinal), StoreJson.Default.DictionaryStringString);

    internal static string StateName(SandboxState state) => state switch
    {
        SandboxState.Pending => "pending",
        SandboxState.Ready => "ready",
        SandboxState.Failed => "failed",
        SandboxState.Deleting => "deleting",
        SandboxState.Deleted => "deleted",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "unknown sandbox state"),
    };

    private static SandboxState ParseState(string name) => name switch
    {
        "pending" => SandboxState.Pending,
        "ready" => SandboxState.Ready,
        "failed" => SandboxState.Failed,
        "deleting" => SandboxState.Deleting,
        "deleted" => SandboxState.Deleted,
        _ => throw new InvalidDataException($"unknown sandbox state '{name}' in the store"),
    };

    // ---- events

    public async Task<long> GetLatestEventSeqAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM events";
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        }
    }

    public async Task<IReadOnlyList<StoredEvent>> QueryEventsAsync(EventQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, EventQuery.MaxLimit);
        var connection = await OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            var sql = new StringBuilder("SELECT seq, json FROM events WHERE 1 = 1");
            void Equal(string column, string? value)
            {
                if (value is not null)
                {
                    sql.Append(" AND ").Append(column).Append(" = @").Append(column);
                    Add(command, "@" + column, value);
                }
            }

            Equal("session", query.Session);
            Equal("decision", query.Decision);
            Equal("reason", query.Reason);
            Equal("host", query.Host);
            if (query.From is { } from)
            {
                sql.Append(" AND ts >= @from");
                AddTime(command, "@from", from);
            }

            if (query.To is { } to)
            {
                sql.Append(" AND ts < @to");
                AddTime(command, "@to", to);
            }

            if (query.AfterSeq is { } afterSeq)
            {
                sql.Append(" AND seq > @after_seq");
                Add(command, "@after_seq", afterSeq);
            }

            sql.Append(" ORDER BY seq LIMIT @limit");
            Add(command, "@limit", limit);
            command.CommandText = sql.ToString();

            var events = new List<StoredEvent>(Math.Min(limit, 128));
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var json = reader.GetString(1);
                events.Add(new StoredEvent(reader.GetInt64(0), EventJson.Parse(Encoding.UTF8.GetBytes(json)), json));
            }

            return events;
        }
    }

    // ---- policies

    public async Task<int> PutPolicyAsync(string name, string text, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(text);

        // Two gateways may add a version of the same policy at once (PostgreSQL): the loser's insert conflicts, does
        // nothing, and tries the next number.
        for (var attempt = 0; ; attempt++)
        {
            var lease = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
            await using (lease.ConfigureAwait(false))
            {
                using var command = lease.Connection.CreateCommand();
                command.CommandText =
                    "INSERT INTO policies (name, version, text, created_at) " +
                    "SELECT @name, COALESCE(MAX(version), 0) + 1, @text, @now FROM policies WHERE name = @name " +
                    "ON CONFLICT (name, version) DO NOTHING RETURNING version";
                Add(command, "@name", name);
                Add(command, "@text", text);
                AddTime(command, "@now", Now());
                var version = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                if (version is not null and not DBNull)
                {
                    return Convert.ToInt32(version, CultureInfo.InvariantCulture);
                }
            }

            if (attempt == 20)
            {
                throw new InvalidOperationException($"could not add a version of policy '{name}': every attempt conflicted with another writer");
            }
        }
    }

    public async Task<PolicyVersionRecord?> GetPolicyAsync(string name, int? version, CancellationToken cancellationToken)
    {
        var connection = await OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = version is null
                ? "SELECT name, version, text, created_at FROM policies WHERE name = @name ORDER BY version DESC LIMIT 1"
                : "SELECT name, version, text, created_at FROM policies WHERE name = @name AND version = @version";
            Add(command, "@name", name);
            if (version is not null)
            {
                Add(command, "@version", version);
            }

            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                ? new PolicyVersionRecord(reader.GetString(0), reader.GetInt32(1), reader.GetString(2), ReadTime(reader, 3))
                : null;
        }
    }

    public async Task<IReadOnlyList<PolicySummary>> ListPoliciesAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText =
                "SELECT p.name, p.version, p.created_at FROM policies p " +
                "WHERE p.version = (SELECT MAX(q.version) FROM policies q WHERE q.name = p.name) ORDER BY p.name";
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var policies = new List<PolicySummary>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                policies.Add(new PolicySummary(reader.GetString(0), reader.GetInt32(1), ReadTime(reader, 2)));
            }

            return policies;
        }
    }

    // ---- approvals

    public async Task<bool> InsertApprovalAsync(NewApproval approval, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(approval);
        ArgumentException.ThrowIfNullOrEmpty(approval.Id);
        var lease = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using (lease.ConfigureAwait(false))
        {
            using var command = lease.Connection.CreateCommand();
            command.CommandText =
                "INSERT INTO approvals (id, session, host, port, rule, requested_at, expires_at, state) " +
                "VALUES (@id, @session, @host, @port, @rule, @requested_at, @expires_at, 'pending') ON CONFLICT (id) DO NOTHING";
            Add(command, "@id", approval.Id);
            Add(command, "@session", approval.Session);
            Add(command, "@host", approval.Host);
            Add(command, "@port", approval.Port);
            Add(command, "@rule", approval.Rule);
            AddTime(command, "@requested_at", approval.RequestedAt);
            AddTime(command, "@expires_at", approval.ExpiresAt);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
    }

    public async Task<ApprovalRecord?> GetApprovalAsync(string id, CancellationToken cancellationToken)
    {
        var connection = await OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT " + ApprovalColumns + " FROM approvals WHERE id = @id";
            Add(command, "@id", id);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadApproval(reader) : null;
        }
    }

    public async Task<bool> DecideApprovalAsync(string id, bool approve, ApprovalScope scope, string decidedBy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentException.ThrowIfNullOrEmpty(decidedBy);
        var lease = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using (lease.ConfigureAwait(false))
        {
            using var command = lease.Connection.CreateCommand();
            command.CommandText =
                "UPDATE approvals SET state = @state, scope = @scope, decided_at = @now, decided_by = @decided_by " +
                "WHERE id = @id AND state = 'pending' AND expires_at > @now";
            Add(command, "@id", id);
            Add(command, "@state", ApprovalStateName(approve ? ApprovalState.Approved : ApprovalState.Denied));
            Add(command, "@scope", ApprovalScopeName(scope));
            Add(command, "@decided_by", decidedBy);
            AddTime(command, "@now", Now());
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
    }

    public async Task<IReadOnlyList<ApprovalRecord>> ListPendingApprovalsAsync(string? session, CancellationToken cancellationToken)
    {
        var connection = await OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT " + ApprovalColumns + " FROM approvals WHERE state = 'pending'" +
                (session is null ? string.Empty : " AND session = @session") + " ORDER BY requested_at, id";
            if (session is not null)
            {
                Add(command, "@session", session);
            }

            return await ReadApprovalsAsync(command, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<bool> MarkApprovalTimedOutAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        var lease = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using (lease.ConfigureAwait(false))
        {
            using var command = lease.Connection.CreateCommand();
            command.CommandText = "UPDATE approvals SET state = 'timed_out', decided_at = @now WHERE id = @id AND state = 'pending'";
            Add(command, "@id", id);
            AddTime(command, "@now", Now());
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
    }

    public async Task<IReadOnlyList<ApprovalRecord>> TimeOutExpiredApprovalsAsync(CancellationToken cancellationToken)
    {
        var lease = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using (lease.ConfigureAwait(false))
        {
            using var command = lease.Connection.CreateCommand();
            command.CommandText =
                "UPDATE approvals SET state = 'timed_out', decided_at = @now WHERE state = 'pending' AND expires_at <= @now RETURNING " + ApprovalColumns;
            AddTime(command, "@now", Now());
            var approvals = await ReadApprovalsAsync(command, cancellationToken).ConfigureAwait(false);
            return [.. approvals.OrderBy(a => a.RequestedAt).ThenBy(a => a.Id, StringComparer.Ordinal)];
        }
    }

    private async Task<List<ApprovalRecord>> ReadApprovalsAsync(DbCommand command, CancellationToken cancellationToken)
    {
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var approvals = new List<ApprovalRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            approvals.Add(ReadApproval(reader));
        }

        return approvals;
    }

    private ApprovalRecord ReadApproval(DbDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Session = reader.GetString(1),
        Host = reader.GetString(2),
        Port = reader.GetInt32(3),
        Rule = ReadNullableString(reader, 4),
        RequestedAt = ReadTime(reader, 5),
        ExpiresAt = ReadTime(reader, 6),
        State = reader.GetString(7) switch
        {
            "pending" => ApprovalState.Pending,
            "approved" => ApprovalState.Approved,
            "denied" => ApprovalState.Denied,
            "timed_out" => ApprovalState.TimedOut,
            var other => throw new InvalidDataException($"unknown approval state '{other}' in the store"),
        },
        Scope = ReadNullableString(reader, 8) switch
        {
            null => null,
            "once" => ApprovalScope.Once,
            "session" => ApprovalScope.Session,
            var other => throw new InvalidDataException($"unknown approval scope '{other}' in the store"),
        },
        DecidedAt = ReadNullableTime(reader, 9),
        DecidedBy = ReadNullableString(reader, 10),
    };

    private static string ApprovalStateName(ApprovalState state) => state switch
    {
        ApprovalState.Pending => "pending",
        ApprovalState.Approved => "approved",
        ApprovalState.Denied => "denied",
        ApprovalState.TimedOut => "timed_out",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "unknown approval state"),
    };

    private static string ApprovalScopeName(ApprovalScope scope) => scope switch
    {
        ApprovalScope.Once => "once",
        ApprovalScope.Session => "session",
        _ => throw new ArgumentOutOfRangeException(nameof(scope), scope, "unknown approval scope"),
    };
}

/// <summary>A connection held for writing; disposing it lets the next writer in.</summary>
internal sealed class WriteLease(DbConnection connection, Func<ValueTask> release) : IAsyncDisposable
{
    /// <summary>The open connection.</summary>
    public DbConnection Connection { get; } = connection;

    public ValueTask DisposeAsync() => release();
}
