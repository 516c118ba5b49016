using System.Globalization;
using Npgsql;

namespace Airlock.Server.Store;

/// <summary>Which database a store URL names.</summary>
internal enum StoreKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// A parsed store URL: <c>sqlite:PATH</c>, or <c>postgres://user:password@host:port/database</c> (also
/// <c>postgresql://</c>) with optional <c>?sslmode=…&amp;application_name=…&amp;connect_timeout=…</c>.
/// </summary>
/// <param name="Kind">The database.</param>
/// <param name="SqlitePath">The full path of the SQLite file (SQLite only).</param>
/// <param name="PostgresConnectionString">The Npgsql connection string (PostgreSQL only).</param>
internal sealed record StoreUrl(StoreKind Kind, string? SqlitePath, string? PostgresConnectionString)
{
    internal const string AcceptedForms =
        "use sqlite:PATH (a database file, e.g. sqlite:/var/lib/airlock/airlock.db) or " +
        "postgres://USER:PASSWORD@HOST:PORT/DATABASE (postgresql:// also works; optional ?sslmode=, ?application_name=, ?connect_timeout=)";

    /// <summary>Parses a store URL.</summary>
    /// <exception cref="StoreException">The URL is not one of the accepted forms; the message names them.</exception>
    internal static StoreUrl Parse(string? url)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            throw new StoreException("the store URL is empty: " + AcceptedForms);
        }

        if (url.StartsWith("sqlite:", StringComparison.Ordinal))
        {
            var path = url["sqlite:".Length..];
            if (path.Length == 0 || path == ":memory:" || path.Contains('\0', StringComparison.Ordinal))
            {
                throw new StoreException($"the store URL '{url}' names no database file: " + AcceptedForms);
            }

            return new StoreUrl(StoreKind.Sqlite, Path.GetFullPath(path), null);
        }

        if (url.StartsWith("postgres://", StringComparison.Ordinal) || url.StartsWith("postgresql://", StringComparison.Ordinal))
        {
            return new StoreUrl(StoreKind.Postgres, null, ToNpgsql(url));
        }

        throw new StoreException($"the store URL '{Describe(url)}' is not understood: " + AcceptedForms);
    }

    private static string ToNpgsql(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            throw new StoreException($"the store URL '{Describe(url)}' is not a valid URL: " + AcceptedForms);
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host.StartsWith('[') ? uri.Host[1..^1] : uri.Host,
            Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port,
        };

        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Contains('/', StringComparison.Ordinal))
        {
            throw new StoreException($"the store URL '{Describe(url)}' has more than a database name in its path: " + AcceptedForms);
        }

        if (database.Length > 0)
        {
            builder.Database = database;
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            var value = equals < 0 ? string.Empty : Uri.UnescapeDataString(pair[(equals + 1)..]);
            switch (key)
            {
                case "sslmode" when Enum.TryParse<SslMode>(value.Replace("-", string.Empty, StringComparison.Ordinal), ignoreCase: true, out var mode):
                    builder.SslMode = mode;
                    break;
                case "application_name":
                    builder.ApplicationName = value;
                    break;
                case "connect_timeout" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds):
                    builder.Timeout = seconds;
                    break;
                default:
                    throw new StoreException(
                        $"the store URL '{Describe(url)}' has an unsupported or invalid parameter '{key}': " + AcceptedForms);
            }
        }

        return builder.ConnectionString;
    }

    /// <summary>The URL with any password replaced, for messages.</summary>
    internal static string Describe(string url)
    {
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        var at = url.LastIndexOf('@');
        if (scheme < 0 || at < scheme)
        {
            return url;
        }

        var userInfo = url[(scheme + 3)..at];
        var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? url : url[..(scheme + 3)] + userInfo[..colon] + ":***" + url[at..];
    }
}
