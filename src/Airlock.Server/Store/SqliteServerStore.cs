using System.Data.Common;
using System.Globalization;
using System.Text;
using Airlock.Proxy.Events;
using Microsoft.Data.Sqlite;

namespace Airlock.Server.Store;

/// <summary>
/// The store in one SQLite file (the default). WAL mode, so readers never wait for the writer; one writer
/// connection behind a lock, so writers in this process never meet <c>SQLITE_BUSY</c> and the event insert stays
/// prepared; <c>busy_timeout</c> covers other processes (<c>airlock token create</c> while the gateway runs).
/// Commits are fsynced (<c>synchronous=FULL</c>): an event acknowledged to a proxy survives a power cut.
/// </summary>
internal sealed class SqliteServerStore : RelationalServerStore
{
    private const int BusyTimeoutMilliseconds = 10_000;

    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const string InsertEventSql =
        "INSERT INTO events (event_id, session, ts, type, decision, reason, host, port, method, path, rule_name, json) " +
        "VALUES (@event_id, @session, @ts, @type, @decision, @reason, @host, @port, @method, @path, @rule_name, @json) " +
        "ON CONFLICT (event_id) DO NOTHING RETURNING seq";

    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly WriteLease _writeLease;
    private SqliteCommand? _insertEvent;
    private int _disposed;

    private SqliteServerStore(string connectionString, SqliteConnection writer, TimeProvider time)
        : base(time)
    {
        _connectionString = connectionString;
        _writer = writer;
        _writeLease = new WriteLease(writer, ReleaseWriteLock);
    }

    /// <summary>The schema, oldest first. Append; never edit a released one.</summary>
    internal static IReadOnlyList<Migration> Migrations { get; } =
    [
        new(1, "tokens, sandboxes, events, policies, approvals", """
            CREATE TABLE tokens (
                id TEXT PRIMARY KEY,
                hash BLOB NOT NULL,
                scope TEXT NOT NULL CHECK (scope IN ('admin', 'sessions')),
                description TEXT,
                created_at INTEGER NOT NULL,
                expires_at INTEGER,
                revoked_at INTEGER
            );
            CREATE TABLE sandboxes (
                id TEXT PRIMARY KEY,
                driver TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('pending', 'ready', 'failed', 'deleting', 'deleted')),
                state_reason TEXT,
                labels TEXT NOT NULL DEFAULT '{}',
                policy_name TEXT,
                policy_version INTEGER,
                active_policy_version INTEGER,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                expires_at INTEGER,
                idle_timeout_seconds INTEGER,
                last_activity_at INTEGER,
                owner_token_id TEXT REFERENCES tokens (id)
            );
            CREATE INDEX sandboxes_page ON sandboxes (created_at, id);
            CREATE INDEX sandboxes_owner ON sandboxes (owner_token_id, created_at, id);
            -- AUTOINCREMENT: a seq is never reused, even after the newest events are deleted, so an SSE client's
            -- Last-Event-ID can never point at a different event.
            CREATE TABLE events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id TEXT NOT NULL UNIQUE,
                session TEXT NOT NULL,
                ts INTEGER NOT NULL,
                type TEXT NOT NULL,
                decision TEXT,
                reason TEXT,
                host TEXT,
                port INTEGER,
                method TEXT,
                path TEXT,
                rule_name TEXT,
                json TEXT NOT NULL
            );
            CREATE INDEX events_session ON events (session, seq);
            CREATE TABLE policies (
                name TEXT NOT NULL,
                version INTEGER NOT NULL,
                text TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (name, version)
            );
            CREATE TABLE approvals (
                id TEXT PRIMARY KEY,
                session TEXT NOT NULL,
                host TEXT NOT NULL,
                port INTEGER NOT NULL,
                rule TEXT,
                requested_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'timed_out')),
                scope TEXT CHECK (scope IN ('once', 'session')),
                decided_at INTEGER,
                decided_by TEXT
            );
            CREATE INDEX approvals_state ON approvals (state, requested_at);
            """),
    ];

    public override string Kind => "sqlite";

    protected override string LabelsParameterSql => "@labels";

    protected override string LabelsColumnSql => "labels";

    internal static async Task<SqliteServerStore> OpenAsync(
        string path, TimeProvider time, IReadOnlyList<Migration> migrations, CancellationToken cancellationToken)
    {
        CreateFile(path);
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWrite,
            ForeignKeys = true,
            Pooling = true,
            DefaultTimeout = BusyTimeoutMilliseconds / 1000,
        }.ToString();

        var writer = new SqliteConnection(connectionString);
        try
        {
            await writer.OpenAsync(cancellationToken).ConfigureAwait(false);
            using (var pragmas = writer.CreateCommand())
            {
                pragmas.CommandText = string.Create(
                    CultureInfo.InvariantCulture,
                    $"PRAGMA busy_timeout = {BusyTimeoutMilliseconds}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
                await pragmas.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            using (var transaction = writer.BeginTransaction())
            {
                await MigrationRunner.RunAsync(writer, transaction, migrations, "sqlite:" + path, cancellationToken).ConfigureAwait(false);
                transaction.Commit();
            }

            return new SqliteServerStore(connectionString, writer, time);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 14 or 26)
        {
            // SQLITE_CANTOPEN, SQLITE_NOTADB: a path or a file the user can fix.
            await writer.DisposeAsync().ConfigureAwait(false);
            SqliteConnection.ClearPool(writer);
            throw new StoreException($"cannot open the SQLite store {path}: {e.Message}", e);
        }
        catch
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            SqliteConnection.ClearPool(writer);
            throw;
        }
    }

    /// <summary>Creates the directory (0700) and the empty database file (0600) when they do not exist.</summary>
    private static void CreateFile(string path)
    {
        try
        {
            var directory = Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
            {
                Directory.CreateDirectory(directory, DirectoryMode);
            }

            if (!File.Exists(path))
            {
                // SQLite gives the -wal and -shm files the database file's mode, so they are 0600 too.
                using var file = new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    UnixCreateMode = FileMode600,
                });
            }
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreException($"cannot create the SQLite store {path}: {e.Message}", e);
        }
    }

    protected override async ValueTask<DbConnection> OpenReadAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA busy_timeout = " + BusyTimeoutMilliseconds.ToString(CultureInfo.InvariantCulture);
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    protected override async ValueTask<WriteLease> EnterWriteAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        return _writeLease;
    }

    private ValueTask ReleaseWriteLock()
    {
        _writeLock.Release();
        return ValueTask.CompletedTask;
    }

    protected override object TimeValue(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    protected override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    protected override void AppendLabelFilter(StringBuilder sql, DbCommand command, IReadOnlyDictionary<string, string> labels)
    {
        var i = 0;
        foreach (var (key, value) in labels)
        {
            var suffix = i.ToString(CultureInfo.InvariantCulture);
            sql.Append(" AND EXISTS (SELECT 1 FROM json_each(sandboxes.labels) AS l WHERE l.key = @label_key")
                .Append(suffix).Append(" AND l.value = @label_value").Append(suffix).Append(')');
            Add(command, "@label_key" + suffix, key);
            Add(command, "@label_value" + suffix, value);
            i++;
        }
    }

    public override async Task<IReadOnlyList<StoredEvent>> AppendEventsAsync(IReadOnlyList<EgressEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return [];
        }

        // Serialised before taking the lock: the lock is held only for SQLite's work.
        var json = new string[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            json[i] = EventJson.ToJson(events[i]);
        }

        var stored = new List<StoredEvent>(events.Count);
        await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var transaction = _writer.BeginTransaction();
            var insert = _insertEvent ??= PrepareInsertEvent();
            insert.Transaction = transaction;
            var p = insert.Parameters;
            for (var i = 0; i < events.Count; i++)
            {
                var e = events[i];
                p[0].Value = e.Id;
                p[1].Value = e.Session;
                p[2].Value = Truncate(e.Ts).ToUnixTimeMilliseconds();
                p[3].Value = TypeName(e.Type);
                p[4].Value = (object?)e.Decision ?? DBNull.Value;
                p[5].Value = (object?)e.Reason ?? DBNull.Value;
                p[6].Value = (object?)e.Host ?? DBNull.Value;
                p[7].Value = (object?)e.Port ?? DBNull.Value;
                p[8].Value = (object?)e.Method ?? DBNull.Value;
                p[9].Value = (object?)e.Path ?? DBNull.Value;
                p[10].Value = (object?)e.Rule?.Name ?? DBNull.Value;
                p[11].Value = json[i];
                if (insert.ExecuteScalar() is long seq)
                {
                    stored.Add(new StoredEvent(seq, e, json[i]));
                }
            }

            transaction.Commit();
        }
        finally
        {
            _writeLock.Release();
        }

        return stored;
    }

    private SqliteCommand PrepareInsertEvent()
    {
        var command = _writer.CreateCommand();
        command.CommandText = InsertEventSql;
        foreach (var name in (string[])["@event_id", "@session", "@ts", "@type", "@decision", "@reason", "@host", "@port", "@method", "@path", "@rule_name", "@json"])
        {
            command.Parameters.Add(new SqliteParameter(name, DBNull.Value));
        }

        return command;
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Wait for a writer in flight, then close everything so the files are released.
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _insertEvent?.Dispose();
            await _writer.DisposeAsync().ConfigureAwait(false);
            SqliteConnection.ClearPool(_writer);
        }
        finally
        {
            _writeLock.Release();
            _writeLock.Dispose();
        }
    }
}
