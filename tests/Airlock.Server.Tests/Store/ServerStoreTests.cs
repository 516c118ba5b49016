using Airlock.Proxy.Events;
using Airlock.Server.Store;

namespace Airlock.Server.Tests.Store;

/// <summary>
/// The store's contract, run against every implementation: <see cref="SqliteServerStoreTests"/> and
/// <see cref="PostgresServerStoreTests"/>. Each test gets a fresh, empty database and a clock it controls.
/// </summary>
public abstract partial class ServerStoreTests : IAsyncLifetime
{
    protected static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private readonly List<IServerStore> _opened = [];

    internal ManualTimeProvider Clock { get; } = new(Start);

    protected ITestDatabase Database { get; private set; } = null!;

    protected IServerStore Store { get; private set; } = null!;

    protected abstract string ExpectedKind { get; }

    protected abstract Task<ITestDatabase> CreateDatabaseAsync();

    public async Task InitializeAsync()
    {
        Database = await CreateDatabaseAsync();
        Store = await OpenAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var store in _opened)
        {
            await store.DisposeAsync();
        }

        if (Database is not null)
        {
            await Database.DisposeAsync();
        }
    }

    protected async Task<IServerStore> OpenAsync()
    {
        var store = await ServerStore.OpenAsync(Database.Url, new ServerStoreOptions { TimeProvider = Clock }, CancellationToken.None);
        _opened.Add(store);
        return store;
    }

    internal async Task<IServerStore> OpenAsync(IReadOnlyList<Migration> migrations)
    {
        var store = await ServerStore.OpenAsync(StoreUrl.Parse(Database.Url), new ServerStoreOptions { TimeProvider = Clock }, migrations, CancellationToken.None);
        _opened.Add(store);
        return store;
    }

    internal abstract IReadOnlyList<Migration> RealMigrations { get; }

    protected static EgressEvent Event(
        string id,
        string session = "sbx_a",
        string decision = "allow",
        string reason = "rule_allow",
        string host = "github.com",
        DateTimeOffset? ts = null,
        string? ruleName = "github") => new()
    {
        Type = EgressEventType.Request,
        Ts = ts ?? Start,
        Session = session,
        Id = id,
        Conn = "conn_" + id,
        Decision = decision,
        Reason = reason,
        Rule = ruleName is null ? null : new EventRule(0, "allow", ruleName),
        Mode = "enforce",
        Client = "127.0.0.1:50000",
        Host = host,
        Port = 443,
        Scheme = "https",
        Method = "GET",
        Path = "/repos?page=1",
        Status = 200,
        Tls = "inspect",
    };

    protected static List<EgressEvent> Events(string prefix, int count, string session = "sbx_a") =>
        [.. Enumerable.Range(0, count).Select(i => Event($"{prefix}{i:D5}", session, ts: Start.AddMilliseconds(i)))];

    [Fact]
    public void Kind_names_the_database() => Assert.Equal(ExpectedKind, Store.Kind);

    [Fact]
    public async Task Ping_succeeds() => await Store.PingAsync(CancellationToken.None);
}

public sealed class SqliteServerStoreTests : ServerStoreTests
{
    protected override string ExpectedKind => "sqlite";

    internal override IReadOnlyList<Migration> RealMigrations => SqliteServerStore.Migrations;

    protected override Task<ITestDatabase> CreateDatabaseAsync() => Task.FromResult<ITestDatabase>(new SqliteTestDatabase());

    private string DatabasePath => ((SqliteTestDatabase)Database).Path;

    [Fact]
    public void The_file_is_0600_in_a_0700_directory_and_so_is_its_write_ahead_log()
    {
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(DatabasePath)!));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(DatabasePath));
        Assert.True(File.Exists(DatabasePath + "-wal"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(DatabasePath + "-wal"));
    }

    [Fact]
    public async Task The_journal_is_write_ahead()
    {
        Assert.Equal("wal", await Database.ScalarAsync("PRAGMA journal_mode"));
    }

    [Fact]
    public async Task Disposing_closes_every_handle_on_the_file()
    {
        await Store.AppendEventsAsync(Events("evt_", 3), CancellationToken.None);
        await Store.QueryEventsAsync(new EventQuery(), CancellationToken.None);
        Assert.NotEmpty(OpenHandles());

        await Store.DisposeAsync();

        Assert.Empty(OpenHandles());
    }

    private string[] OpenHandles() =>
        [.. Directory.GetFiles("/proc/self/fd")
            .Select(fd => { try { return new FileInfo(fd).LinkTarget; } catch (IOException) { return null; } })
            .Where(target => target is not null && target.StartsWith(DatabasePath, StringComparison.Ordinal))
            .Select(target => target!)];

    [Fact]
    public async Task A_second_process_on_the_same_file_writes_alongside_the_first()
    {
        // As `airlock token create` does while `airlock serve` runs: two writers, one file, busy_timeout between them.
        var second = await OpenAsync();
        var token = await second.CreateTokenAsync(Airlock.Server.Auth.TokenScope.Admin, null, null, CancellationToken.None);
        Assert.NotNull(await Store.AuthenticateAsync(token.Token, CancellationToken.None));

        var writes = Enumerable.Range(0, 20).Select(b => (b % 2 == 0 ? Store : second).AppendEventsAsync(Events($"b{b:D2}_", 200), CancellationToken.None));
        var stored = (await Task.WhenAll(writes)).SelectMany(s => s).ToList();

        Assert.Equal(4000, stored.Count);
        Assert.Equal(4000, stored.Select(s => s.Seq).Distinct().Count());
        Assert.Equal(stored.Max(s => s.Seq), await Store.GetLatestEventSeqAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_gives_a_readable_error()
    {
        var path = Path.Combine(Path.GetDirectoryName(DatabasePath)!, "not-a-db");
        await File.WriteAllTextAsync(path, new string('x', 4096));

        var e = await Assert.ThrowsAsync<StoreException>(() => ServerStore.OpenAsync("sqlite:" + path, CancellationToken.None));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }
}

public sealed class PostgresServerStoreTests : ServerStoreTests
{
    protected override string ExpectedKind => "postgres";

    internal override IReadOnlyList<Migration> RealMigrations => PostgresServerStore.Migrations;

    protected override async Task<ITestDatabase> CreateDatabaseAsync() => await PostgresTestDatabase.CreateAsync();

    [Fact]
    public async Task A_wrong_password_gives_a_readable_error_without_the_password()
    {
        var url = new UriBuilder(Database.Url) { Password = "wrong-secret" }.Uri.ToString();
        Assert.Contains(":wrong-secret@", url, StringComparison.Ordinal);

        var e = await Assert.ThrowsAsync<StoreException>(() => ServerStore.OpenAsync(url, CancellationToken.None));

        Assert.Contains("cannot open the PostgreSQL store", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-secret", e.Message, StringComparison.Ordinal);
    }
}
