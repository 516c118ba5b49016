using Microsoft.Extensions.Logging;

namespace Airlock.Sandboxes.Local;

/// <summary>
/// The session proxy's own diagnostics (the control channel connecting, losing the plane, applying a policy) as
/// lines in the supervisor's log: a detached supervisor has no console.
/// </summary>
internal sealed class SupervisorLogProvider(TextWriter log) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(log, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

    public void Dispose()
    {
        // The log belongs to the supervisor.
    }

    private sealed class Logger(TextWriter log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel is >= LogLevel.Information and < LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                log.WriteLine($"{DateTimeOffset.UtcNow:O} {category}: {formatter(state, exception)}");
            }
        }
    }
}
