using Airlock.Server.Auth;
using Airlock.Server.Store;

namespace Airlock.Server.Tests.Store;

public abstract partial class ServerStoreTests
{
    [Fact]
    public async Task A_fresh_store_records_every_migration_in_order()
    {
        var versions = await Database.LongsAsync("SELECT version FROM schema_migrations ORDER BY version");

        Assert.Equal(Enumerable.Range(1, RealMigrations.Count).Select(v => (long)v), versions);
    }

    [Fact]
    public async Task Reopening_applies_nothing_again_and_keeps_the_data()
    {
        var created = await Store.CreateTokenAsync(TokenScope.Admin, null, "before", CancellationToken.None);
        await Store.DisposeAsync();

        var reopened = await OpenAsync();

        Assert.Equal((long)RealMigrations.Count, Convert.ToInt64(await Database.ScalarAsync("SELECT COUNT(*) FROM schema_migrations"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(created.Info.Id, (await reopened.AuthenticateAsync(created.Token, CancellationToken.None))?.Id);
    }

    [Fact]
    public async Task A_schema_newer_than_the_code_is_refused_with_a_message_saying_so()
    {
        await Store.DisposeAsync();
        await Database.ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from the future', '2030-01-01T00:00:00.000Z')");

        var e = await Assert.ThrowsAsync<StoreException>(() => OpenAsync());

        Assert.Contains("schema version 999", e.Message, StringComparison.Ordinal);
        Assert.Contains("newer than this airlock", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_migration_leaves_nothing_of_its_run_behind()
    {
        await Store.DisposeAsync();
        IReadOnlyList<Migration> broken =
        [
            .. RealMigrations,
            new(RealMigrations.Count + 1, "creates a table", "CREATE TABLE half_done (x INTEGER)"),
            new(RealMigrations.Count + 2, "fails", "SELECT no_such_column FROM no_such_table"),
        ];

        await Assert.ThrowsAnyAsync<Exception>(() => OpenAsync(broken));

        Assert.Equal((long)RealMigrations.Count, Convert.ToInt64(await Database.ScalarAsync("SELECT MAX(version) FROM schema_migrations"), System.Globalization.CultureInfo.InvariantCulture));
        await Assert.ThrowsAnyAsync<Exception>(() => Database.ScalarAsync("SELECT COUNT(*) FROM half_done"));
    }

    [Fact]
    public async Task A_new_migration_is_applied_on_the_next_open()
    {
        await Store.DisposeAsync();
        IReadOnlyList<Migration> more = [.. RealMigrations, new(RealMigrations.Count + 1, "adds a table", "CREATE TABLE later_table (x INTEGER)")];

        await OpenAsync(more);

        Assert.Equal(0L, Convert.ToInt64(await Database.ScalarAsync("SELECT COUNT(*) FROM later_table"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal((long)RealMigrations.Count + 1, Convert.ToInt64(await Database.ScalarAsync("SELECT MAX(version) FROM schema_migrations"), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Migrations_out_of_order_are_a_bug_and_throw()
    {
        await Store.DisposeAsync();
        IReadOnlyList<Migration> gap = [.. RealMigrations, new(RealMigrations.Count + 2, "skips a number", "SELECT 1")];

        await Assert.ThrowsAsync<InvalidOperationException>(() => OpenAsync(gap));
    }
}
