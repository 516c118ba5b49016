using System.Collections.Concurrent;
using Airlock.Proxy.Events;
using Airlock.Proxy.Sessions;
using Microsoft.Extensions.Logging;

namespace Airlock.Proxy.Hosting;

/// <summary>
/// Kestrel answers malformed HTTP (smuggling shapes, bad chunking, oversized heads, obs-fold) with a 4xx before
/// any application code runs, and says so only in its <c>BadRequests</c> log. This logger provider turns those
/// log entries into events on the right connection, so every refusal is recorded.
/// </summary>
internal sealed class BadRequestEvents(ProxySession session) : ILoggerProvider
{
    private const string BadRequestCategory = "Microsoft.AspNetCore.Server.Kestrel.BadRequests";
    private readonly ConcurrentDictionary<string, ClientConnection> _connections = new(StringComparer.Ordinal);

    public void Track(string kestrelConnectionId, ClientConnection connection) => _connections[kestrelConnectionId] = connection;

    public void Forget(string kestrelConnectionId) => _connections.TryRemove(kestrelConnectionId, out _);

    public ILogger CreateLogger(string categoryName) =>
        categoryName == BadRequestCategory ? new Logger(this) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public void Dispose()
    {
    }

    private void Record(string? connectionId, string message)
    {
        if (connectionId is not null && _connections.TryGetValue(connectionId, out var connection))
        {
            session.Events.Refusal(EgressEventType.Request, connection, "malformed_request", session.Engine.Policy.Mode, status: 400, detail: message);
        }
    }

    private sealed class Logger(BadRequestEvents owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string? connectionId = null;
            if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                foreach (var (key, value) in values)
                {
                    if (key == "ConnectionId")
                    {
                        connectionId = value as string;
                    }
                }
            }

            owner.Record(connectionId, exception?.Message ?? formatter(state, exception));
        }
    }
}
