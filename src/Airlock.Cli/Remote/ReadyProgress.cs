using System.Diagnostics;
using System.Globalization;
using Airlock.Client;
using Spectre.Console;

namespace Airlock.Cli.Remote;

/// <summary>
/// Waits for a new sandbox to leave <c>pending</c>, showing it: a spinner with the elapsed time when standard error is
/// a terminal, otherwise plain lines (one when waiting starts, one every 10 s, one at the end) that logs can keep.
/// </summary>
internal static class ReadyProgress
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan PlainLineInterval = TimeSpan.FromSeconds(10);

    public static async Task<Client.Sandbox> WaitAsync(AirlockClient client, Client.Sandbox created, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (created.State != SandboxState.Pending)
        {
            return created;
        }

        var clock = Stopwatch.StartNew();
        if (ReferenceEquals(stderr, System.Console.Error) && !System.Console.IsErrorRedirected && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR")))
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(stderr),
                Ansi = AnsiSupport.Detect,
                Interactive = InteractionSupport.Yes,
            });
            return await console.Status()
                .Spinner(Spinner.Known.Dots)
                .StartAsync($"sandbox {created.Id}: starting", async status =>
                {
                    var current = created;
                    while (current.State == SandboxState.Pending)
                    {
                        await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
                        current = await client.GetSandboxAsync(created.Id, cancellationToken).ConfigureAwait(false);
                        status.Status($"sandbox {created.Id}: starting ({Seconds(clock.Elapsed)})");
                    }

                    return current;
                }).ConfigureAwait(false);
        }

        stderr.WriteLine($"airlock: sandbox {created.Id} created; waiting for it to be ready");
        var sandbox = created;
        var nextLine = PlainLineInterval;
        while (sandbox.State == SandboxState.Pending)
        {
            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
            sandbox = await client.GetSandboxAsync(created.Id, cancellationToken).ConfigureAwait(false);
            if (sandbox.State == SandboxState.Pending && clock.Elapsed >= nextLine)
            {
                stderr.WriteLine($"airlock: sandbox {created.Id} still starting ({Seconds(clock.Elapsed)})");
                nextLine += PlainLineInterval;
            }
        }

        return sandbox;
    }

    public static string Seconds(TimeSpan elapsed) => string.Create(CultureInfo.InvariantCulture, $"{elapsed.TotalSeconds:0.0} s");
}
