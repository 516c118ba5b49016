namespace Airlock.Server.Store;

/// <summary>Options for <see cref="ServerStore.OpenAsync(string, ServerStoreOptions?, CancellationToken)"/>.</summary>
public sealed record ServerStoreOptions
{
    /// <summary>The defaults.</summary>
    public static ServerStoreOptions Default { get; } = new();

    /// <summary>Where the store's clock comes from (creation times, expiry checks).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>Opens the gateway's store by URL.</summary>
public static class ServerStore
{
    /// <summary>
    /// Opens a store, creating it if needed and running the schema migrations it lacks: <c>sqlite:PATH</c> (the file is
    /// created 0600 in a 0700 directory) or <c>postgres://user:password@host:port/database</c> (or <c>postgresql://</c>).
    /// </summary>
    /// <param name="storeUrl">The store URL.</param>
    /// <param name="options">Options, or null for the defaults.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <exception cref="StoreException">
    /// The URL is not understood, the database's schema is newer than this build, or the SQLite file cannot be created.
    /// </exception>
    public static Task<IServerStore> OpenAsync(string storeUrl, ServerStoreOptions? options, CancellationToken cancellationToken) =>
        OpenAsync(StoreUrl.Parse(storeUrl), options ?? ServerStoreOptions.Default, migrations: null, cancellationToken);

    /// <summary>Opens a store with the default options (see <see cref="OpenAsync(string, ServerStoreOptions?, CancellationToken)"/>).</summary>
    /// <param name="storeUrl">The store URL.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    public static Task<IServerStore> OpenAsync(string storeUrl, CancellationToken cancellationToken) =>
        OpenAsync(storeUrl, null, cancellationToken);

    /// <summary>
    /// The default store: <c>sqlite:$XDG_DATA_HOME/airlock/airlock.db</c>, or <c>sqlite:~/.local/share/airlock/airlock.db</c>
    /// when <c>XDG_DATA_HOME</c> is unset or not absolute.
    /// </summary>
    public static string DefaultUrl() =>
        DefaultUrl(Environment.GetEnvironmentVariable("XDG_DATA_HOME"), Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    internal static string DefaultUrl(string? xdgDataHome, string home)
    {
        var dataHome = !string.IsNullOrEmpty(xdgDataHome) && Path.IsPathRooted(xdgDataHome)
            ? xdgDataHome
            : Path.Combine(home, ".local", "share");
        return "sqlite:" + Path.Combine(dataHome, "airlock", "airlock.db");
    }

    /// <summary>Opens a store with a given migration list (tests substitute broken or future migrations).</summary>
    internal static async Task<IServerStore> OpenAsync(
        StoreUrl url, ServerStoreOptions options, IReadOnlyList<Migration>? migrations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        return url.Kind switch
        {
            StoreKind.Sqlite => await SqliteServerStore.OpenAsync(url.SqlitePath!, options.TimeProvider, migrations ?? SqliteServerStore.Migrations, cancellationToken).ConfigureAwait(false),
            _ => await PostgresServerStore.OpenAsync(url.PostgresConnectionString!, options.TimeProvider, migrations ?? PostgresServerStore.Migrations, cancellationToken).ConfigureAwait(false),
        };
    }
}
