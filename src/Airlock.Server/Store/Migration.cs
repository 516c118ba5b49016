using System.Data.Common;
using System.Globalization;

namespace Airlock.Server.Store;

/// <summary>One schema step. Versions start at 1 and go up by one; a released migration never changes.</summary>
/// <param name="Version">Its number.</param>
/// <param name="Name">What it does, recorded in <c>schema_migrations</c>.</param>
/// <param name="Sql">The statements, run in the migration transaction.</param>
internal sealed record Migration(int Version, string Name, string Sql);

/// <summary>Brings a database's schema up to date, in one transaction, or refuses a schema newer than the code.</summary>
internal static class MigrationRunner
{
    /// <summary>Applies the migrations the database lacks; returns the versions applied now.</summary>
    /// <param name="connection">An open connection.</param>
    /// <param name="transaction">The transaction everything runs in; the caller commits it.</param>
    /// <param name="migrations">Every migration, in order.</param>
    /// <param name="storeDescription">Names the store in messages.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    internal static async Task<IReadOnlyList<int>> RunAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<Migration> migrations, string storeDescription, CancellationToken cancellationToken)
    {
        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version != i + 1)
            {
                throw new InvalidOperationException($"migration {i} has version {migrations[i].Version}; versions must be 1, 2, 3, … in order");
            }
        }

        await ExecuteAsync(
            connection,
            transaction,
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
            cancellationToken).ConfigureAwait(false);

        var applied = new HashSet<int>();
        using (var select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = "SELECT version FROM schema_migrations";
            using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied.Add(Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture));
            }
        }

        var newest = applied.Count == 0 ? 0 : applied.Max();
        if (newest > migrations.Count)
        {
            throw new StoreException(
                $"the store {storeDescription} has schema version {newest}, newer than this airlock understands ({migrations.Count}): " +
                "it was written by a newer airlock; upgrade airlock, or use a different store");
        }

        var now = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var ran = new List<int>();
        foreach (var migration in migrations)
        {
            if (applied.Contains(migration.Version))
            {
                continue;
            }

            await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken).ConfigureAwait(false);
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @applied_at)";
            RelationalServerStore.Add(record, "@version", migration.Version);
            RelationalServerStore.Add(record, "@name", migration.Name);
            RelationalServerStore.Add(record, "@applied_at", now);
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            ran.Add(migration.Version);
        }

        return ran;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
