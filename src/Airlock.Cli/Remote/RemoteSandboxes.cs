using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Airlock.Cli.Console;
using Airlock.Client;

namespace Airlock.Cli.Remote;

/// <summary>The work of <c>airlock sandbox …</c> against a gateway, through the SDK.</summary>
internal static class RemoteSandboxes
{
    private static readonly TimeSpan FollowCheckInterval = TimeSpan.FromSeconds(2);

    public static async Task<int> CreateAsync(AirlockClient client, CreateSandboxRequest request, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var created = await client.CreateSandboxAsync(request, wait: false, cancellationToken).ConfigureAwait(false);
        Client.Sandbox sandbox;
        try
        {
            sandbox = await ReadyProgress.WaitAsync(client, created, stderr, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            stderr.WriteLine($"airlock: sandbox {created.Id} was created and is still starting on the gateway; airlock sandbox rm {created.Id} removes it");
            throw;
        }
        if (sandbox.State != SandboxState.Ready)
        {
            stderr.WriteLine($"airlock sandbox create: sandbox {sandbox.Id} is {RemoteSandboxOutput.StateName(sandbox.State)}: {sandbox.StateReason ?? "no reason given"}");
            if (json)
            {
                stdout.WriteLine(JsonSerializer.Serialize(RemoteSandboxOutput.From(sandbox), RemoteJson.Default.RemoteSandboxOutput));
            }

            return ExitCodes.SandboxFailed;
        }

        stderr.WriteLine($"airlock: sandbox {sandbox.Id} ready after {ReadyProgress.Seconds(clock.Elapsed)} on {client.Server}{(sandbox.ExpiresAt is { } expires ? $", until {expires:u}" : string.Empty)}");
        stdout.WriteLine(json ? JsonSerializer.Serialize(RemoteSandboxOutput.From(sandbox), RemoteJson.Default.RemoteSandboxOutput) : sandbox.Id);
        return ExitCodes.Success;
    }

    /// <summary>The sandboxes the token may see; deleted ones (whose records the gateway keeps) only with <paramref name="all"/>.</summary>
    public static async Task<int> ListAsync(AirlockClient client, bool all, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var sandboxes = new List<Client.Sandbox>();
        var filter = all ? null : new SandboxFilter { States = [SandboxState.Pending, SandboxState.Ready, SandboxState.Failed, SandboxState.Deleting] };
        await foreach (var sandbox in client.ListAllSandboxesAsync(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            sandboxes.Add(sandbox);
        }

        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize([.. sandboxes.Select(RemoteSandboxOutput.From)], RemoteJson.Default.RemoteSandboxOutputArray));
            return ExitCodes.Success;
        }

        if (sandboxes.Count == 0)
        {
            stderr.WriteLine("airlock: no sandboxes");
            return ExitCodes.Success;
        }

        var now = DateTimeOffset.UtcNow;
        TextTable.Write(stdout, ["ID", "STATE", "AGE", "EXPIRES IN", "POLICY", "LABELS"], sandboxes.Select(s => new[]
        {
            s.Id,
            RemoteSandboxOutput.StateName(s.State),
            TextTable.Age(now - s.CreatedAt),
            s.ExpiresAt is { } expires ? TextTable.Age(expires - now) : "-",
            PolicyLabel(s),
            s.Labels.Count == 0 ? "-" : string.Join(',', s.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")),
        }));
        return ExitCodes.Success;
    }

    public static async Task<int> GetAsync(AirlockClient client, string id, bool json, TextWriter stdout, CancellationToken cancellationToken)
    {
        var sandbox = await client.GetSandboxAsync(id, cancellationToken).ConfigureAwait(false);
        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(RemoteSandboxOutput.From(sandbox), RemoteJson.Default.RemoteSandboxOutput));
            return ExitCodes.Success;
        }

        (string Name, string Value)[] rows =
        [
            ("id", sandbox.Id),
            ("state", RemoteSandboxOutput.StateName(sandbox.State) + (sandbox.StateReason is { } reason ? $" ({reason})" : string.Empty)),
            ("driver", sandbox.Driver),
            ("policy", PolicyLabel(sandbox)),
            ("active policy version", sandbox.ActivePolicyVersion?.ToString(CultureInfo.InvariantCulture) ?? "-"),
            ("labels", sandbox.Labels.Count == 0 ? "-" : string.Join(", ", sandbox.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))),
            ("created", sandbox.CreatedAt.ToString("u", CultureInfo.InvariantCulture)),
            ("expires", sandbox.ExpiresAt?.ToString("u", CultureInfo.InvariantCulture) ?? "-"),
            ("last activity", sandbox.LastActivityAt?.ToString("u", CultureInfo.InvariantCulture) ?? "-"),
        ];
        var width = rows.Max(r => r.Name.Length) + 2;
        foreach (var (name, value) in rows)
        {
            stdout.WriteLine((name + ":").PadRight(width) + value);
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// Streams the command's stdout and stderr here as it writes them and returns its exit code; with <paramref name="json"/>,
    /// waits for the end and prints one object. A timeout is exit 124, a command that could not run 125, with the reason.
    /// </summary>
    public static async Task<int> ExecAsync(AirlockClient client, string id, ExecCommandRequest request, bool json, Stream stdoutBytes, Stream stderrBytes, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        int? exit;
        string? error;
        if (json)
        {
            var result = await client.ExecAsync(id, request, cancellationToken).ConfigureAwait(false);
            stdout.WriteLine(JsonSerializer.Serialize(new RemoteExecOutput(result.Stdout, result.Stderr, result.ExitCode, result.Truncated, result.Error), RemoteJson.Default.RemoteExecOutput));
            (exit, error) = (result.ExitCode, result.Error);
        }
        else
        {
            (exit, error) = (null, "the exec stream ended without an exit");
            try
            {
                await foreach (var chunk in client.ExecStreamAsync(id, request, cancellationToken).ConfigureAwait(false))
                {
                    switch (chunk.Kind)
                    {
                        case ExecChunkKind.Stdout:
                            await stdoutBytes.WriteAsync(chunk.Data, cancellationToken).ConfigureAwait(false);
                            await stdoutBytes.FlushAsync(cancellationToken).ConfigureAwait(false);
                            break;
                        case ExecChunkKind.Stderr:
                            await stderrBytes.WriteAsync(chunk.Data, cancellationToken).ConfigureAwait(false);
                            await stderrBytes.FlushAsync(cancellationToken).ConfigureAwait(false);
                            break;
                        default:
                            (exit, error) = (chunk.ExitCode, chunk.Error);
                            break;
                    }
                }
            }
            catch (IOException e)
            {
                (exit, error) = (null, e.Message);
            }
        }

        if (exit is { } code)
        {
            return code;
        }

        stderr.WriteLine($"airlock sandbox exec: {error}");
        return error?.StartsWith("timed out", StringComparison.Ordinal) == true ? 124 : ExitCodes.SandboxFailed;
    }

    public static async Task<int> UploadAsync(AirlockClient client, string local, string id, string path, bool json, TextWriter stdout, CancellationToken cancellationToken)
    {
        var file = File.OpenRead(local);
        await using (file.ConfigureAwait(false))
        {
            await client.UploadFileAsync(id, path, file, File.GetUnixFileMode(local), cancellationToken).ConfigureAwait(false);
            if (json)
            {
                stdout.WriteLine(JsonSerializer.Serialize(new RemoteCopyOutput(local, $"{id}:{path}", file.Length), RemoteJson.Default.RemoteCopyOutput));
            }
        }

        return ExitCodes.Success;
    }

    /// <summary>Downloads into a file beside the target, renamed over it only when complete (or to <paramref name="stdoutBytes"/> for <c>-</c>).</summary>
    public static async Task<int> DownloadAsync(AirlockClient client, string id, string path, string local, Stream stdoutBytes, bool json, TextWriter stdout, CancellationToken cancellationToken)
    {
        if (local == "-")
        {
            await client.DownloadFileAsync(id, path, stdoutBytes, cancellationToken).ConfigureAwait(false);
            await stdoutBytes.FlushAsync(cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        }

        var target = Directory.Exists(local) ? Path.Combine(local, Path.GetFileName(path)) : local;
        var partial = target + ".airlock-partial";
        long bytes;
        try
        {
            var file = new FileStream(partial, FileMode.CreateNew, FileAccess.Write);
            await using (file.ConfigureAwait(false))
            {
                bytes = await client.DownloadFileAsync(id, path, file, cancellationToken).ConfigureAwait(false);
            }

            File.Move(partial, target, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
        }

        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(new RemoteCopyOutput($"{id}:{path}", target, bytes), RemoteJson.Default.RemoteCopyOutput));
        }

        return ExitCodes.Success;
    }

    public static async Task<int> RemoveAsync(AirlockClient client, IReadOnlyList<string> ids, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var exit = ExitCodes.Success;
        var deleted = new List<string>();
        foreach (var id in ids)
        {
            try
            {
                await client.DeleteSandboxAsync(id, cancellationToken).ConfigureAwait(false);
                deleted.Add(id);
                if (!json)
                {
                    stdout.WriteLine(id);
                }
            }
            catch (AirlockApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                stderr.WriteLine($"airlock sandbox rm: {(int)e.StatusCode} {e.Message}");
                exit = ExitCodes.SandboxFailed;
            }
        }

        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(new RemoteRemoveOutput(deleted), RemoteJson.Default.RemoteRemoveOutput));
        }

        return exit;
    }

    /// <summary>
    /// The sandbox's stored events; with <paramref name="follow"/>, then live ones (one stream that starts from the first
    /// stored event, so nothing falls between history and live), until the sandbox is deleted or the command interrupted.
    /// Text: one line per event; JSON: each event as the proxy wrote it, one per line.
    /// </summary>
    public static async Task<int> LogsAsync(AirlockClient client, string id, bool follow, bool json, TextWriter stdout, CancellationToken cancellationToken)
    {
        // Refuse a sandbox that does not exist (404) before waiting on its events.
        await client.GetSandboxAsync(id, cancellationToken).ConfigureAwait(false);
        var filter = new EventFilter { Session = id };
        if (!follow)
        {
            await foreach (var egress in client.QueryAllEventsAsync(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                stdout.WriteLine(json ? egress.Json.GetRawText() : Line(egress));
            }

            return ExitCodes.Success;
        }

        using var ended = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watcher = WatchUntilGoneAsync(client, id, ended, cancellationToken);
        try
        {
            await foreach (var envelope in client.StreamEventsAsync(filter, after: 0, cancellationToken: ended.Token).ConfigureAwait(false))
            {
                stdout.WriteLine(json ? envelope.Event.Json.GetRawText() : Line(envelope.Event));
                await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ended.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The sandbox is gone: nothing more will come.
        }
        finally
        {
            await ended.CancelAsync().ConfigureAwait(false);
            await watcher.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        return ExitCodes.Success;
    }

    /// <summary>Cancels <paramref name="ended"/> once the sandbox is deleted or failed; its last events have been stored by then or come before the stream notices.</summary>
    private static async Task WatchUntilGoneAsync(AirlockClient client, string id, CancellationTokenSource ended, CancellationToken cancellationToken)
    {
        while (!ended.IsCancellationRequested)
        {
            await Task.Delay(FollowCheckInterval, ended.Token).ConfigureAwait(false);
            try
            {
                if ((await client.GetSandboxAsync(id, ended.Token).ConfigureAwait(false)).State is SandboxState.Deleted or SandboxState.Failed)
                {
                    // Let the stream deliver what was stored up to now.
                    await Task.Delay(FollowCheckInterval, cancellationToken).ConfigureAwait(false);
                    await ended.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // The gateway is away; the stream reconnects by itself, and so does this check.
            }
            catch (AirlockApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                await ended.CancelAsync().ConfigureAwait(false);
                return;
            }
        }
    }

    private static string Line(EgressEvent e)
    {
        var text = new StringBuilder();
        text.Append(e.Ts.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture))
            .Append(' ').Append(e.Type)
            .Append(' ').Append(e.Decision ?? "-")
            .Append(' ').Append(e.Host ?? "-").Append(':').Append(e.Port?.ToString(CultureInfo.InvariantCulture) ?? "-");
        if (e.Method is not null)
        {
            text.Append(' ').Append(e.Method).Append(' ').Append(e.Path);
        }

        if (e.Status is { } status)
        {
            text.Append(' ').Append(status.ToString(CultureInfo.InvariantCulture));
        }

        if (e.Reason is not null)
        {
            text.Append(' ').Append(e.Reason);
        }

        return text.ToString();
    }

    private static string PolicyLabel(Client.Sandbox sandbox) =>
        sandbox.PolicyName is { } name ? $"{name} v{sandbox.PolicyVersion?.ToString(CultureInfo.InvariantCulture) ?? "?"}" : "-";
}
