using System.Data.Common;
using Airlock.Server.Store;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Airlock.Server.Tests.Store;

/// <summary>A fresh, empty database for one test, and raw SQL access to it.</summary>
public interface ITestDatabase : IAsyncDisposable
{
    string Url { get; }

    Task<DbConnection> OpenRawAsync();
}

internal sealed class SqliteTestDatabase : ITestDatabase
{
    private readonly string _directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "airlock-store-" + Guid.NewGuid().ToString("N"));

    public SqliteTestDatabase() => Path = System.IO.Path.Combine(_directory, "data", "airlock.db");

    public string Path { get; }

    public string Url => "sqlite:" + Path;

    public async Task<DbConnection> OpenRawAsync()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        await connection.OpenAsync();
        return connection;
    }

    public ValueTask DisposeAsync()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A database of its own in the PostgreSQL that <c>scripts/postgres-for-tests.sh</c> started: created for the
/// test, dropped after it.
/// </summary>
internal sealed class PostgresTestDatabase : ITestDatabase
{
    private const string HowToStart =
        "the PostgreSQL store tests need a PostgreSQL server: run `export AIRLOCK_TEST_POSTGRES=\"$(scripts/postgres-for-tests.sh)\"` " +
        "from the repository root (it installs and starts a private cluster on 127.0.0.1) and run the tests again";

    private readonly string _adminConnectionString;
    private readonly string _name = "airlock_t_" + Guid.NewGuid().ToString("N");

    private PostgresTestDatabase(string baseUrl, string adminConnectionString)
    {
        _adminConnectionString = adminConnectionString;
        var slash = baseUrl.LastIndexOf('/');
        var query = baseUrl.IndexOf('?', StringComparison.Ordinal);
        Url = baseUrl[..(slash + 1)] + _name + (query < 0 ? string.Empty : baseUrl[query..]);
        ConnectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = _name, Pooling = false }.ConnectionString;
    }

    public string Url { get; }

    public string ConnectionString { get; }

    /// <summary>The base URL: <c>AIRLOCK_TEST_POSTGRES</c>, else what the script last wrote.</summary>
    internal static string? BaseUrl()
    {
        var url = Environment.GetEnvironmentVariable("AIRLOCK_TEST_POSTGRES");
        if (!string.IsNullOrWhiteSpace(url))
        {
            return url.Trim();
        }

        var file = System.IO.Path.Combine(Environment.GetEnvironmentVariable("AIRLOCK_PG_DIR") ?? "/var/tmp/airlock-pg", "url");
        return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
    }

    internal static async Task<PostgresTestDatabase> CreateAsync()
    {
        var baseUrl = BaseUrl() ?? throw new InvalidOperationException("AIRLOCK_TEST_POSTGRES is not set; " + HowToStart);
        var admin = new NpgsqlConnectionStringBuilder(StoreUrl.Parse(baseUrl).PostgresConnectionString) { Pooling = false }.ConnectionString;
        var database = new PostgresTestDatabase(baseUrl, admin);
        try
        {
            await using var connection = new NpgsqlConnection(admin);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {database._name}", connection);
            await command.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException e)
        {
            throw new InvalidOperationException($"cannot reach the test PostgreSQL at {StoreUrl.Describe(baseUrl)} ({e.Message}); " + HowToStart, e);
        }

        return database;
    }

    public async Task<DbConnection> OpenRawAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}

internal static class RawSql
{
    public static async Task<object?> ScalarAsync(this ITestDatabase database, string sql)
    {
        await using var connection = await database.OpenRawAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var value = await command.ExecuteScalarAsync();
        return value is DBNull ? null : value;
    }

    public static async Task ExecuteAsync(this ITestDatabase database, string sql)
    {
        await using var connection = await database.OpenRawAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<List<long>> LongsAsync(this ITestDatabase database, string sql)
    {
        await using var connection = await database.OpenRawAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<long>();
        while (await reader.ReadAsync())
        {
            values.Add(Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
        }

        return values;
    }
}
