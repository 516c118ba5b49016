using System.Globalization;
using System.Text;
using Airlock.Policy.Loading;
using Airlock.Sandboxes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using DriverState = Airlock.Sandboxes.SandboxState;
using StoredState = Airlock.Server.Store.SandboxState;

namespace Airlock.Server.Api;

/// <summary>Exec (streamed as NDJSON or SSE, or buffered) and files (upload, download, list) in a ready sandbox.</summary>
public sealed partial class GatewayApi
{
    /// <summary>The most of each stream a buffered exec keeps (1 MiB); the rest is dropped and the answer says so.</summary>
    public const int BufferedOutputLimit = 1024 * 1024;

    /// <summary>The largest file an upload takes (256 MiB); the server's other requests stay at its default.</summary>
    public const long MaxUploadBytes = 256L * 1024 * 1024;

    /// <summary>An exec's timeout when it names none, and the most it may name.</summary>
    public static readonly TimeSpan MaxExecTimeout = TimeSpan.FromMinutes(10);

    private const int ListOutputLimit = 4 * 1024 * 1024;
    private const int ListExitMissing = 3, ListExitNotDirectory = 4, ListExitCannotEnter = 5;
    private static readonly TimeSpan ListTimeout = TimeSpan.FromSeconds(30);

    // The path is the script's $1, never part of its text. GNU find (-printf); NUL ends each record, names may hold tabs.
    private static readonly string ListScript =
        $"[ -e \"$1\" ] || [ -L \"$1\" ] || exit {ListExitMissing}\n" +
        $"[ -d \"$1\" ] || exit {ListExitNotDirectory}\n" +
        $"cd -- \"$1\" || exit {ListExitCannotEnter}\n" +
        "exec find . -mindepth 1 -maxdepth 1 -printf '%y\\t%s\\t%m\\t%f\\0'\n";

    private void MapExec(RouteGroupBuilder v1)
    {
        v1.MapPost("/sandboxes/{id}/exec", ExecAsync)
            .Produces(StatusCodes.Status200OK, contentType: "application/x-ndjson", additionalContentTypes: ["text/event-stream", "application/json"]);
        v1.MapPut("/sandboxes/{id}/files", UploadFileAsync)
            .WithMetadata(new UploadSizeLimit(MaxUploadBytes));
        v1.MapGet("/sandboxes/{id}/files", DownloadOrListAsync)
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream", additionalContentTypes: ["application/json"]);
    }

    /// <summary>The sandbox, when the caller may see it and it is ready; otherwise the problem to answer with.</summary>
    private async Task<IResult?> UnusableAsync(HttpContext context, string id)
    {
        if (await VisibleAsync(context, id).ConfigureAwait(false) is not { } record)
        {
            return NotFound(id);
        }

        return record.State == StoredState.Ready
            ? null
            : Results.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "The sandbox is not ready",
                detail: $"sandbox {id} is {record.State.ToString().ToLowerInvariant()}; exec and files need a ready sandbox");
    }

    private async Task ExecAsync(HttpContext context, string id, ExecCommandRequest request, bool? buffered)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (request.Command is not { Count: > 0 } command || command[0] is null or { Length: 0 })
        {
            errors["command"] = ["give the program and its arguments, such as [\"sh\", \"-c\", \"ls\"]"];
        }
        else if (command.Any(a => a is null || a.Contains('\0', StringComparison.Ordinal)))
        {
            errors["command"] = ["an argument is null or holds a NUL character"];
        }

        if ((request.Env ?? []).Any(p => p.Key.Length == 0 || p.Key.Contains('=', StringComparison.Ordinal) || p.Key.Contains('\0', StringComparison.Ordinal) || p.Value is null || p.Value.Contains('\0', StringComparison.Ordinal)))
        {
            errors["env"] = ["names are not empty and hold no '=' or NUL; values hold no NUL"];
        }

        if (request.Workdir is { } workdir && (workdir.Length == 0 || workdir.Contains('\0', StringComparison.Ordinal)))
        {
            errors["workdir"] = ["a directory inside the sandbox, absolute or relative to its workdir"];
        }

        var timeout = MaxExecTimeout;
        if (request.Timeout is { } text)
        {
            if (!DurationSyntax.TryParse(text, out timeout, out var error))
            {
                errors["timeout"] = [error];
            }
            else if (timeout <= TimeSpan.Zero || timeout > MaxExecTimeout)
            {
                errors["timeout"] = [$"more than zero and at most {MaxExecTimeout.TotalMinutes:0}m; a longer job can run in the background and be polled"];
            }
        }

        var problem = errors.Count > 0
            ? Results.ValidationProblem(errors, title: "The exec request is not valid")
            : await UnusableAsync(context, id).ConfigureAwait(false);
        if (problem is not null)
        {
            await problem.ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        var exec = new ExecRequest
        {
            Command = request.Command!,
            Environment = request.Env ?? [],
            WorkingDirectory = request.Workdir,
        };
        using var stdin = request.Stdin is { } input ? new MemoryStream(Encoding.UTF8.GetBytes(input)) : null;
        if (buffered == true)
        {
            await RunBufferedAsync(context, id, exec, stdin, timeout, request.Timeout).ConfigureAwait(false);
        }
        else
        {
            await RunStreamedAsync(context, id, exec, stdin, timeout, request.Timeout).ConfigureAwait(false);
        }
    }

    private async Task RunStreamedAsync(HttpContext context, string id, ExecRequest exec, Stream? stdin, TimeSpan timeout, string? timeoutText)
    {
        var sse = context.Request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase));
        var aborted = context.RequestAborted;
        context.Response.ContentType = sse ? "text/event-stream" : "application/x-ndjson";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        using var output = new ExecEventWriter(context.Response.Body, sse, aborted);
        ExecEnd end;
        try
        {
            await context.Response.StartAsync(aborted).ConfigureAwait(false);
            var (exit, error) = await RunAsync(id, exec, new ExecStreams(stdin, output.Stdout, output.Stderr), timeout, timeoutText, aborted).ConfigureAwait(false);
            if (output.Failed || aborted.IsCancellationRequested)
            {
                return;
            }

            end = new ExecEnd(exit, error);
            await output.WriteEndAsync(end).ConfigureAwait(false);
        }
        catch (Exception e) when ((e is IOException or OperationCanceledException) && (output.Failed || aborted.IsCancellationRequested))
        {
            // The client went away; cancelling the driver's call killed the command.
        }
    }

    private async Task RunBufferedAsync(HttpContext context, string id, ExecRequest exec, Stream? stdin, TimeSpan timeout, string? timeoutText)
    {
        using var stdout = new CappedBuffer(BufferedOutputLimit);
        using var stderr = new CappedBuffer(BufferedOutputLimit);
        var (exit, error) = await RunAsync(id, exec, new ExecStreams(stdin, stdout, stderr), timeout, timeoutText, context.RequestAborted).ConfigureAwait(false);
        if (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        var result = new ExecResultView
        {
            Stdout = Encoding.UTF8.GetString(stdout.Bytes),
            Stderr = Encoding.UTF8.GetString(stderr.Bytes),
            Exit = exit,
            Truncated = stdout.Truncated || stderr.Truncated,
            Error = error,
        };
        await Results.Json(result, ExecJsonContext.Default.ExecResultView).ExecuteAsync(context).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the command until it exits, the timeout kills it, or the client leaves (which kills it too: the driver's
    /// call is cancelled). Returns the exit code, or null and what went wrong.
    /// </summary>
    /// <exception cref="OperationCanceledException">The client went away.</exception>
    private async Task<(int? Exit, string? Error)> RunAsync(string id, ExecRequest exec, ExecStreams streams, TimeSpan timeout, string? timeoutText, CancellationToken aborted)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        deadline.CancelAfter(timeout);

        // A command is activity (for the idle timeout), at its start and at its end.
        await store.TouchSandboxAsync(id, CancellationToken.None).ConfigureAwait(false);
        try
        {
            return (await driver.ExecAsync(id, exec, streams, deadline.Token).ConfigureAwait(false), null);
        }
        catch (Exception e) when (e is SandboxException or IOException or System.Net.Sockets.SocketException or OperationCanceledException && !aborted.IsCancellationRequested)
        {
            return deadline.IsCancellationRequested
                ? (null, $"timed out after {timeoutText ?? $"{MaxExecTimeout.TotalMinutes:0}m"}; the command was killed")
                : (null, e.Message);
        }
        finally
        {
            await store.TouchSandboxAsync(id, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task<IResult> UploadFileAsync(HttpContext context, string id, string? path, string? mode)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        PathErrors(path, errors);
        var bits = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        if (mode is not null)
        {
            if (mode.Length is >= 1 and <= 4 && mode.All(c => c is >= '0' and <= '7') && Convert.ToInt32(mode, 8) is var parsed && parsed <= 0x1FF)
            {
                bits = (UnixFileMode)parsed;
            }
            else
            {
                errors["mode"] = ["octal permission bits, such as 0644 or 755"];
            }
        }

        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "The upload request is not valid");
        }

        if (await UnusableAsync(context, id).ConfigureAwait(false) is { } unusable)
        {
            return unusable;
        }

        if (context.Request.ContentLength > MaxUploadBytes)
        {
            return TooLarge();
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        await using var body = new GuardedRequestBody(context.Request.Body, cancel);
        try
        {
            await driver.UploadAsync(id, path!, body, bits, cancel.Token).ConfigureAwait(false);
            return Results.NoContent();
        }
        catch (Exception) when (body.Failure is not null)
        {
            return body.Failure is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }
                ? TooLarge()
                : Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The upload was cut short", detail: body.Failure.Message);
        }
        catch (SandboxException e)
        {
            return await FileProblemAsync(id, e).ConfigureAwait(false);
        }
    }

    private static IResult TooLarge() =>
        Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "The file is too large", detail: $"an upload is at most {MaxUploadBytes / (1024 * 1024)} MiB");

    private async Task DownloadOrListAsync(HttpContext context, string id, string? path, bool? list)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        PathErrors(path, errors);
        var problem = errors.Count > 0
            ? Results.ValidationProblem(errors, title: "The files request is not valid")
            : await UnusableAsync(context, id).ConfigureAwait(false);
        if (problem is null && list == true)
        {
            problem = await ListAsync(id, path!, context.RequestAborted).ConfigureAwait(false);
        }
        else if (problem is null)
        {
            context.Response.ContentType = "application/octet-stream";
            try
            {
                await driver.DownloadAsync(id, path!, context.Response.Body, context.RequestAborted).ConfigureAwait(false);
                return;
            }
            catch (SandboxException e) when (!context.Response.HasStarted)
            {
                problem = await FileProblemAsync(id, e).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SandboxException or IOException or OperationCanceledException)
            {
                // Part of the file is sent: abort, so the client cannot take it for the whole file.
                context.Abort();
                return;
            }
        }

        await problem!.ExecuteAsync(context).ConfigureAwait(false);
    }

    private static void PathErrors(string? path, Dictionary<string, string[]> errors)
    {
        if (path is not { Length: > 0 and <= 4096 } || path.Contains('\0', StringComparison.Ordinal))
        {
            errors["path"] = ["a path inside the sandbox, absolute or relative to its workdir: ?path=out/report.txt"];
        }
    }

    /// <summary>A driver's refusal as a problem: the sandbox stopped (409), no such file (404), or the path is refused (400).</summary>
    private async Task<IResult> FileProblemAsync(string id, SandboxException e)
    {
        if (await driver.GetAsync(id, CancellationToken.None).ConfigureAwait(false) is not { State: DriverState.Running })
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "The sandbox is not running", detail: e.Message);
        }

        return e.Message.EndsWith("no such file or directory", StringComparison.Ordinal)
            ? Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found", detail: e.Message)
            : Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The sandbox refused the path", detail: e.Message);
    }

    /// <summary>Lists a directory with a fixed script run in the sandbox; returns the answer, a JSON list or a problem.</summary>
    private async Task<IResult> ListAsync(string id, string path, CancellationToken cancellationToken)
    {
        using var stdout = new CappedBuffer(ListOutputLimit);
        using var stderr = new CappedBuffer(4096);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ListTimeout);
        int exit;
        try
        {
            exit = await driver.ExecAsync(id, new ExecRequest { Command = ["sh", "-c", ListScript, "sh", path] }, new ExecStreams(null, stdout, stderr), deadline.Token).ConfigureAwait(false);
        }
        catch (SandboxException e)
        {
            return await FileProblemAsync(id, e).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Results.Problem(statusCode: StatusCodes.Status504GatewayTimeout, title: "The listing timed out", detail: $"{path}: not listed within {ListTimeout.TotalSeconds:0} s");
        }

        var message = Encoding.UTF8.GetString(stderr.Bytes).Trim();
        return exit switch
        {
            0 => Results.Json(ParseListing(path, stdout), ExecJsonContext.Default.FileListView),
            ListExitMissing => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found", detail: $"{path}: no such file or directory"),
            ListExitNotDirectory => Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Not a directory", detail: $"{path}: not a directory; download it without list=true"),
            ListExitCannotEnter => Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The directory cannot be listed", detail: message),
            _ => Results.Problem(statusCode: StatusCodes.Status502BadGateway, title: "The directory could not be listed", detail: $"exit {exit}: {message}"),
        };
    }

    /// <summary>Parses <c>type TAB size TAB mode TAB name NUL</c> records; a record that does not parse is skipped.</summary>
    internal static FileListView ParseListing(string path, CappedBuffer output)
    {
        var entries = new List<FileEntryView>();
        var rest = output.Bytes;
        while (rest.IndexOf((byte)0) is var end and >= 0)
        {
            var record = Encoding.UTF8.GetString(rest[..end]).Split('\t', 4);
            rest = rest[(end + 1)..];
            if (record is [{ Length: 1 } type, var size, var mode, { Length: > 0 } name]
                && long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes)
                && mode.Length is >= 1 and <= 4 && mode.All(c => c is >= '0' and <= '7'))
            {
                entries.Add(new FileEntryView(name, type switch { "f" => "file", "d" => "dir", "l" => "link", _ => "other" }, bytes, mode.PadLeft(4, '0')));
            }
        }

        // A cut output ends in part of a record, which was dropped above.
        return new FileListView(path, [.. entries.OrderBy(e => e.Name, StringComparer.Ordinal)], output.Truncated);
    }

    /// <summary>Raises the request body limit for one endpoint (uploads) above the server's default.</summary>
    private sealed class UploadSizeLimit(long bytes) : IRequestSizeLimitMetadata
    {
        public long? MaxRequestBodySize => bytes;
    }
}
