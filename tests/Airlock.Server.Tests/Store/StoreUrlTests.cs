using Airlock.Server.Store;
using Npgsql;

namespace Airlock.Server.Tests.Store;

public class StoreUrlTests
{
    [Fact]
    public void A_sqlite_url_names_a_file_made_absolute()
    {
        var url = StoreUrl.Parse("sqlite:data/airlock.db");

        Assert.Equal(StoreKind.Sqlite, url.Kind);
        Assert.Equal(Path.Combine(Environment.CurrentDirectory, "data", "airlock.db"), url.SqlitePath);
        Assert.Equal("/var/lib/airlock/a.db", StoreUrl.Parse("sqlite:/var/lib/airlock/a.db").SqlitePath);
    }

    [Theory]
    [InlineData("postgres://alice:s%40cret%3A1@db.internal:6543/airlock", "db.internal", 6543, "alice", "s@cret:1", "airlock")]
    [InlineData("postgresql://bob@127.0.0.1/events", "127.0.0.1", 5432, "bob", null, "events")]
    [InlineData("postgres://carol:pw@[::1]:5433/x", "::1", 5433, "carol", "pw", "x")]
    public void A_postgres_url_becomes_an_npgsql_connection_string(string text, string host, int port, string user, string? password, string database)
    {
        var url = StoreUrl.Parse(text);

        Assert.Equal(StoreKind.Postgres, url.Kind);
        var builder = new NpgsqlConnectionStringBuilder(url.PostgresConnectionString);
        Assert.Equal(host, builder.Host);
        Assert.Equal(port, builder.Port);
        Assert.Equal(user, builder.Username);
        Assert.Equal(password, builder.Password);
        Assert.Equal(database, builder.Database);
    }

    [Fact]
    public void Known_query_parameters_are_passed_on()
    {
        var builder = new NpgsqlConnectionStringBuilder(
            StoreUrl.Parse("postgres://u:p@h/d?sslmode=verify-full&application_name=airlock-gw&connect_timeout=7").PostgresConnectionString);

        Assert.Equal(SslMode.VerifyFull, builder.SslMode);
        Assert.Equal("airlock-gw", builder.ApplicationName);
        Assert.Equal(7, builder.Timeout);
    }

    [Theory]
    [InlineData("")]
    [InlineData("sqlite:")]
    [InlineData("sqlite::memory:")]
    [InlineData("mysql://u:p@h/d")]
    [InlineData("/var/lib/airlock.db")]
    [InlineData("postgres://")]
    [InlineData("postgres://u:hunter2@h/d/extra")]
    [InlineData("postgres://u:hunter2@h/d?sslmode=sometimes")]
    [InlineData("postgres://u:hunter2@h/d?pool=1")]
    public void A_bad_url_gives_one_readable_error_naming_the_accepted_forms_and_never_the_password(string text)
    {
        var e = Assert.Throws<StoreException>(() => StoreUrl.Parse(text));

        Assert.Contains("sqlite:PATH", e.Message, StringComparison.Ordinal);
        Assert.Contains("postgres://USER:PASSWORD@HOST:PORT/DATABASE", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Opening_a_bad_url_throws_the_same_error()
    {
        var e = await Assert.ThrowsAsync<StoreException>(() => ServerStore.OpenAsync("redis://localhost", CancellationToken.None));

        Assert.Contains("sqlite:PATH", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_store_is_under_the_xdg_data_home_or_local_share()
    {
        Assert.Equal("sqlite:/data/home/airlock/airlock.db", ServerStore.DefaultUrl("/data/home", "/home/u"));
        Assert.Equal("sqlite:/home/u/.local/share/airlock/airlock.db", ServerStore.DefaultUrl(null, "/home/u"));
        Assert.Equal("sqlite:/home/u/.local/share/airlock/airlock.db", ServerStore.DefaultUrl(string.Empty, "/home/u"));
        Assert.Equal("sqlite:/home/u/.local/share/airlock/airlock.db", ServerStore.DefaultUrl("relative/dir", "/home/u"));
        Assert.StartsWith("sqlite:/", ServerStore.DefaultUrl(), StringComparison.Ordinal);
        Assert.EndsWith("/airlock/airlock.db", ServerStore.DefaultUrl(), StringComparison.Ordinal);
    }
}
