using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Airlock.Proxy.Control;
using Microsoft.Extensions.Logging;

namespace Airlock.Proxy.Tests.Control;

/// <summary>Event lines and polling for the channel tests.</summary>
public static class ControlTestKit
{
    /// <summary>An event line as the proxy would hand it over; <paramref name="width"/> pads every line to the same length.</summary>
    public static byte[] Event(int seq, int width = 0)
    {
        string digits = seq.ToString(CultureInfo.InvariantCulture);
        string pad = new('x', Math.Max(0, width - digits.Length));
        return Encoding.UTF8.GetBytes($"{{\"v\":1,\"type\":\"connection\",\"id\":\"e{digits}\",\"seq\":{digits},\"pad\":\"{pad}\"}}\n");
    }

    /// <summary>Polls until <paramref name="condition"/> holds or the timeout passes.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        DateTime until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > until)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return true;
    }
}

public sealed class RecordingControlHandler : IControlHandler
{
    public ConcurrentQueue<(string Version, string Text)> Updates { get; } = new();

    public string? PolicyVersion { get; set; } = "v3";

    public Func<string, PolicyUpdateResult> Result { get; set; } = _ => PolicyUpdateResult.Accepted;

    public ValueTask<PolicyUpdateResult> OnPolicyUpdateAsync(string version, string policyText, CancellationToken cancellationToken)
    {
        Updates.Enqueue((version, policyText));
        PolicyUpdateResult result = Result(policyText);
        PolicyVersion = result.Ok ? version : PolicyVersion;
        return ValueTask.FromResult(result);
    }
}

public sealed class RecordingLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(LogLevel Level, int EventId, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, eventId.Id, formatter(state, exception)));

    public int Count(int eventId) => Entries.Count(e => e.EventId == eventId);
}
