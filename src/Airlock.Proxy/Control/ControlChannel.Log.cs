using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Airlock.Proxy.Control;

public sealed partial class ControlChannel
{
    /// <summary>The channel's log messages; event ids 100 to 199 belong to the control channel (next free: 122).</summary>
    private static partial class Log
    {
        private const int MaxPrintable = 200;

        [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Connected to the control plane at {Endpoint}")]
        public static partial void Connected(ILogger logger, ControlEndpoint endpoint);

        [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Disconnected from the control plane at {Endpoint}: {Reason}")]
        public static partial void Disconnected(ILogger logger, ControlEndpoint endpoint, string reason);

        [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Cannot reach the control plane at {Endpoint}: {Error}; events are spooled and retries are logged at debug level")]
        public static partial void ConnectFailed(ILogger logger, ControlEndpoint endpoint, string error);

        [LoggerMessage(EventId = 121, Level = LogLevel.Debug, Message = "Cannot reach the control plane at {Endpoint} (attempt {Attempt}): {Error}")]
        public static partial void ConnectFailedAgain(ILogger logger, ControlEndpoint endpoint, int attempt, string error);

        [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "Reconnecting to {Endpoint} in {DelayMs} ms")]
        public static partial void Reconnecting(ILogger logger, ControlEndpoint endpoint, long delayMs);

        [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "The control plane at {Endpoint} sent a line longer than {MaxBytes} bytes; dropping the connection")]
        public static partial void LineTooLong(ILogger logger, ControlEndpoint endpoint, int maxBytes);

        [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "Skipped a malformed control message: {Error}")]
        public static partial void MalformedMessage(ILogger logger, PlaneText error);

        [LoggerMessage(EventId = 106, Level = LogLevel.Information, Message = "Ignored a control message of unknown type '{Type}'")]
        public static partial void UnknownMessageType(ILogger logger, PlaneText type);

        [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "Ignored a decision for ask '{AskId}', which is not waiting (answered, timed out or unknown)")]
        public static partial void UnknownAskId(ILogger logger, PlaneText askId);

        [LoggerMessage(EventId = 108, Level = LogLevel.Information, Message = "Ask '{AskId}' decided: {Outcome}, scope {Scope}")]
        public static partial void DecisionReceived(ILogger logger, string askId, AskOutcome outcome, AskScope scope);

        [LoggerMessage(EventId = 109, Level = LogLevel.Information, Message = "Ask '{AskId}' timed out after {TimeoutMs} ms")]
        public static partial void AskTimedOut(ILogger logger, string askId, long timeoutMs);

        [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "Policy update '{Version}' received")]
        public static partial void PolicyUpdateReceived(ILogger logger, PlaneText version);

        [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "Policy update '{Version}' rejected with {ErrorCount} errors; the policy in force is kept")]
        public static partial void PolicyUpdateRejected(ILogger logger, PlaneText version, int errorCount);

        [LoggerMessage(EventId = 112, Level = LogLevel.Error, Message = "Applying policy update '{Version}' failed")]
        public static partial void PolicyHandlerFailed(ILogger logger, PlaneText version, Exception exception);

        [LoggerMessage(EventId = 113, Level = LogLevel.Error, Message = "The event spool {Path} is full ({MaxBytes} bytes); further events are counted as overflow until it drains")]
        public static partial void SpoolFull(ILogger logger, string path, long maxBytes);

        [LoggerMessage(EventId = 114, Level = LogLevel.Error, Message = "Writing the event spool {Path} failed; events are counted as overflow")]
        public static partial void SpoolWriteFailed(ILogger logger, string path, Exception exception);

        [LoggerMessage(EventId = 115, Level = LogLevel.Information, Message = "The event spool {Path} is replayed")]
        public static partial void SpoolReplayed(ILogger logger, string path);

        [LoggerMessage(EventId = 116, Level = LogLevel.Information, Message = "The event spool {Path} holds {Bytes} bytes from an earlier run; they are sent first")]
        public static partial void SpoolFound(ILogger logger, string path, long bytes);

        [LoggerMessage(EventId = 117, Level = LogLevel.Warning, Message = "The event spool {Path} ended in {Bytes} bytes that are not whole lines (an interrupted write); they are dropped")]
        public static partial void SpoolTailDiscarded(ILogger logger, string path, long bytes);

        [LoggerMessage(EventId = 118, Level = LogLevel.Warning, Message = "Sending queued events took longer than {TimeoutMs} ms; the rest stays in the spool")]
        public static partial void DrainTimedOut(ILogger logger, long timeoutMs);

        [LoggerMessage(EventId = 119, Level = LogLevel.Information, Message = "{Count} unsent events kept in the spool {Path} for the next run")]
        public static partial void LeftoversSpooled(ILogger logger, int count, string path);

        /// <summary>Text from the control plane, cut short and with control characters escaped, fit for a log line.</summary>
        private static string Printable(string? text)
        {
            if (text is null)
            {
                return "";
            }

            var builder = new StringBuilder(Math.Min(text.Length, MaxPrintable + 1));
            foreach (char c in text.Length > MaxPrintable ? text.AsSpan(0, MaxPrintable) : text.AsSpan())
            {
                if (char.IsControl(c))
                {
                    builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                }
                else
                {
                    builder.Append(c);
                }
            }

            return text.Length > MaxPrintable ? builder.Append('…').ToString() : builder.ToString();
        }

        [LoggerMessage(EventId = 140, Level = LogLevel.Warning, Message = "More than {MaxBytes} bytes of events await the control plane's acknowledgement; the oldest are no longer kept for resending")]
        public static partial void UnackedTrimmed(ILogger logger, long maxBytes);

        [LoggerMessage(EventId = 120, Level = LogLevel.Error, Message = "The connection to {Endpoint} failed unexpectedly; reconnecting")]
        public static partial void ConnectionFaulted(ILogger logger, ControlEndpoint endpoint, Exception exception);

        /// <summary>Control-plane text in a log line; made printable only if the line is written.</summary>
        public readonly struct PlaneText(string? text)
        {
            /// <inheritdoc/>
            public override string ToString() => Printable(text);
        }
    }
}
