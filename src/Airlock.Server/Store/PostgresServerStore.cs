using System.Data.Common;
using System.Globalization;
using System.Text;
using Airlock.Proxy.Events;
using Npgsql;
using NpgsqlTypes;

namespace Airlock.Server.Store;

/// <summary>
/// The store in PostgreSQL, for more than one gateway replica. Every replica may write; two advisory locks keep
/// what must be serial serial: migrations (replicas starting together) and event appends, so that sequence
/// numbers become visible in order and a reader resuming after <c>seq</c> N can never miss a smaller one that
/// committed later.
/// </summary>
internal sealed class PostgresServerStore : RelationalServerStore
{
    // pg_advisory_xact_lock(key1, key2): "Arlk" and what is locked.
    private const int LockSpace = 0x41726C6B;
    private const int MigrationLock = 1;
    private const int EventLock = 2;

    private static readonly string AppendEventsSql = string.Create(
        CultureInfo.InvariantCulture,
        $"""
        SELECT pg_advisory_xact_lock({LockSpace}, {EventLock});
        INSERT INTO events (event_id, session, ts, type, decision, reason, host, port, method, path, rule_name, json)
        SELECT b.event_id, b.session, b.ts, b.type, b.decision, b.reason, b.host, b.port, b.method, b.path, b.rule_name, b.json
        FROM unnest(@event_id, @session, @ts, @type, @decision, @reason, @host, @port, @method, @path, @rule_name, @json)
            WITH ORDINALITY AS b (event_id, session, ts, type, decision, reason, host, port, method, path, rule_name, json, ord)
        ORDER BY b.ord
        ON CONFLICT (event_id) DO NOTHING
        RETURNING seq, event_id
        """);

    private readonly NpgsqlDataSource _dataSource;

    private PostgresServerStore(NpgsqlDataSource dataSource, TimeProvider time)
        : base(time) => _dataSource = dataSource;

    /// <summary>The schema, oldest first. Append; never edit a released one.</summary>
    internal static IReadOnlyList<Migration> Migrations { get; } =
    [
        new(1, "tokens, sandboxes, events, policies, approvals", """
            CREATE TABLE tokens (
                id text COLLATE "C" PRIMARY KEY,
                hash bytea NOT NULL,
                scope text NOT NULL CHECK (scope IN ('admin', 'sessions')),
                description text,
                created_at timestamptz NOT NULL,
                expires_at timestamptz,
                revoked_at timestamptz
            );
            CREATE TABLE sandboxes (
                id text COLLATE "C" PRIMARY KEY,
                driver text NOT NULL,
                state text NOT NULL CHECK (state IN ('pending', 'ready', 'failed', 'deleting', 'deleted')),
                state_reason text,
                labels jsonb NOT NULL DEFAULT '{}',
                policy_name text,
                policy_version integer,
                active_policy_version integer,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                expires_at timestamptz,
                idle_timeout_seconds integer,
                last_activity_at timestamptz,
                owner_token_id text COLLATE "C" REFERENCES tokens (id)
            );
            CREATE INDEX sandboxes_page ON sandboxes (created_at, id);
            CREATE INDEX sandboxes_owner ON sandboxes (owner_token_id, created_at, id);
            CREATE INDEX sandboxes_labels ON sandboxes USING gin (labels jsonb_path_ops);
            CREATE TABLE events (
                seq bigserial PRIMARY KEY,
                event_id text NOT NULL UNIQUE,
                session text NOT NULL,
                ts timestamptz NOT NULL,
                type text NOT NULL,
                decision text,
                reason text,
                host text,
                port integer,
                method text,
                path text,
                rule_name text,
                json text NOT NULL
            );
            CREATE INDEX events_session ON events (session, seq);
            CREATE TABLE policies (
                name text COLLATE "C" NOT NULL,
                version integer NOT NULL,
                text text NOT NULL,
                created_at timestamptz NOT NULL,
                PRIMARY KEY (name, version)
            );
            CREATE TABLE approvals (
                id text COLLATE "C" PRIMARY KEY,
                session text NOT NULL,
                host text NOT NULL,
                port integer NOT NULL,
                rule text,
                requested_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                state text NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'timed_out')),
                scope text CHECK (scope IN ('once', 'session')),
                decided_at timestamptz,
                decided_by text
            );
            CREATE INDEX approvals_state ON approvals (state, requested_at);
            """),
    ];

    public override string Kind => "postgres";

    protected override string LabelsParameterSql => "CAST(@labels AS jsonb)";

    protected override string LabelsColumnSql => "labels::text";

    internal static async Task<PostgresServerStore> OpenAsync(
        string connectionString, TimeProvider time, IReadOnlyList<Migration> migrations, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlSlimDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.MaxAutoPrepare = 64;
        builder.EnableArrays();
        builder.EnableTransportSecurity();
        var dataSource = builder.Build();
        var description = Describe(builder.ConnectionStringBuilder);
        try
        {
            var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    using (var command = new NpgsqlCommand(
                        string.Create(CultureInfo.InvariantCulture, $"SELECT pg_advisory_xact_lock({LockSpace}, {MigrationLock})"), connection, transaction))
                    {
                        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }

                    await MigrationRunner.RunAsync(connection, transaction, migrations, description, cancellationToken).ConfigureAwait(false);
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            return new PostgresServerStore(dataSource, time);
        }
        catch (NpgsqlException e) when (e is not PostgresException || ((PostgresException)e).SqlState is "28P01" or "28000" or "3D000")
        {
            // Unreachable, wrong password, no such database: the user can fix these.
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw new StoreException($"cannot open the PostgreSQL store {description}: {e.Message}", e);
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static string Describe(NpgsqlConnectionStringBuilder builder) =>
        string.Create(CultureInfo.InvariantCulture, $"postgres://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}");

    protected override async ValueTask<DbConnection> OpenReadAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    protected override async ValueTask<WriteLease> EnterWriteAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return new WriteLease(connection, connection.DisposeAsync);
    }

    protected override object TimeValue(DateTimeOffset time) => time.UtcDateTime;

    protected override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) =>
        new(DateTime.SpecifyKind(reader.GetFieldValue<DateTime>(ordinal), DateTimeKind.Utc));

    protected override void AppendLabelFilter(StringBuilder sql, DbCommand command, IReadOnlyDictionary<string, string> labels)
    {
        sql.Append(" AND labels @> CAST(@label_filter AS jsonb)");
        Add(command, "@label_filter", SerializeLabels(labels));
    }

    public override async Task<IReadOnlyList<StoredEvent>> AppendEventsAsync(IReadOnlyList<EgressEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return [];
        }

        var n = events.Count;
        var ids = new string[n];
        var sessions = new string[n];
        var ts = new DateTime[n];
        var types = new string[n];
        var decisions = new string?[n];
        var reasons = new string?[n];
        var hosts = new string?[n];
        var ports = new int?[n];
        var methods = new string?[n];
        var paths = new string?[n];
        var rules = new string?[n];
        var json = new string[n];
        var byId = new Dictionary<string, int>(n, StringComparer.Ordinal);
        for (var i = 0; i < n; i++)
        {
            var e = events[i];
            ids[i] = e.Id;
            sessions[i] = e.Session;
            ts[i] = Truncate(e.Ts).UtcDateTime;
            types[i] = TypeName(e.Type);
            decisions[i] = e.Decision;
            reasons[i] = e.Reason;
            hosts[i] = e.Host;
            ports[i] = e.Port;
            methods[i] = e.Method;
            paths[i] = e.Path;
            rules[i] = e.Rule?.Name;
            json[i] = EventJson.ToJson(e);
            byId.TryAdd(e.Id, i);
        }

        var stored = new List<StoredEvent>(n);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                using var command = new NpgsqlCommand(AppendEventsSql, connection, transaction);
                var text = NpgsqlDbType.Array | NpgsqlDbType.Text;
                command.Parameters.Add(new NpgsqlParameter("event_id", text) { Value = ids });
                command.Parameters.Add(new NpgsqlParameter("session", text) { Value = sessions });
                command.Parameters.Add(new NpgsqlParameter("ts", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = ts });
                command.Parameters.Add(new NpgsqlParameter("type", text) { Value = types });
                command.Parameters.Add(new NpgsqlParameter("decision", text) { Value = decisions });
                command.Parameters.Add(new NpgsqlParameter("reason", text) { Value = reasons });
                command.Parameters.Add(new NpgsqlParameter("host", text) { Value = hosts });
                command.Parameters.Add(new NpgsqlParameter("port", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = ports });
                command.Parameters.Add(new NpgsqlParameter("method", text) { Value = methods });
                command.Parameters.Add(new NpgsqlParameter("path", text) { Value = paths });
                command.Parameters.Add(new NpgsqlParameter("rule_name", text) { Value = rules });
                command.Parameters.Add(new NpgsqlParameter("json", text) { Value = json });
                using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
                {
                    await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        var i = byId[reader.GetString(1)];
                        stored.Add(new StoredEvent(reader.GetInt64(0), events[i], json[i]));
                    }
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        stored.Sort((a, b) => a.Seq.CompareTo(b.Seq));
        return stored;
    }

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
