using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Airlock.Kubernetes.Tests.Fakes;

/// <summary>
/// A FAKE Kubernetes API server, in process, on loopback, for the driver's lifecycle tests: no real API server
/// can run where the tests run. It speaks the REST paths the client uses for namespaced objects
/// (<c>/api/v1/namespaces/NS/PLURAL[/NAME]</c> and <c>/apis/GROUP/VERSION/namespaces/NS/PLURAL[/NAME]</c>):
/// create (201, 409 AlreadyExists, 422 Invalid), get (404 NotFound), list with <c>labelSelector</c>, replace
/// with resourceVersion conflicts (409 Conflict), JSON merge patch (also for <c>/status</c>), and delete
/// (the deleted object, or 404 NotFound; dependents named by ownerReferences go too, as the cluster's garbage
/// collector would).
/// Errors are <c>Status</c> objects as the real server returns them. Failures can be injected per request;
/// every request is recorded in order (with its query string). Exec (<c>pods/NAME/exec</c>) upgrades to a WebSocket with the
/// <c>v5.channel.k8s.io</c> or <c>v4.channel.k8s.io</c> protocol and runs the command ON THE TEST MACHINE,
/// standing in for the container.
/// </summary>
public sealed class FakeKubernetesApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Func<FakeRequest, int?>> _failures = new();
    private readonly ConcurrentQueue<FakeRequest> _requests = new();
    private readonly ConcurrentDictionary<string, string> _logs = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private long _resourceVersion = 1000;

    private FakeKubernetesApiServer(WebApplication app) => _app = app;

    /// <summary>Where the client should point (<c>http://127.0.0.1:PORT</c>).</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Every request so far, in order.</summary>
    public IReadOnlyList<FakeRequest> Requests => [.. _requests];

    /// <summary>Every stored object, keyed by <c>PLURAL/NAMESPACE/NAME</c> (group-qualified plurals for CRs).</summary>
    public IReadOnlyDictionary<string, JsonObject> Objects
    {
        get
        {
            lock (_gate)
            {
                return _objects.ToDictionary(p => p.Key, p => (JsonObject)p.Value.DeepClone());
            }
        }
    }

    public static async Task<FakeKubernetesApiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeKubernetesApiServer(app);
        app.UseWebSockets();
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Urls.First();
        server.BaseAddress = new Uri(address);
        return server;
    }

    /// <summary>The exec protocols the fake accepts, in its order of preference (a real server before 1.30 has no v5).</summary>
    public IReadOnlyList<string> ExecProtocols { get; set; } = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

    /// <summary>Sets what <c>pods/NAME/log?container=C</c> returns.</summary>
    public void SetLog(string @namespace, string pod, string container, string text) => _logs[$"{@namespace}/{pod}/{container}"] = text;

    /// <summary>Fails the next request that <paramref name="matches"/> with <paramref name="status"/> (once).</summary>
    public void FailNext(Func<FakeRequest, bool> matches, int status = 500)
    {
        var used = 0;
        _failures.Enqueue(request => matches(request) && Interlocked.Exchange(ref used, 1) == 0 ? status : null);
    }

    /// <summary>Stores an object as if someone else had created it (a pre-existing or orphaned object).</summary>
    public JsonObject Seed(string plural, JsonObject obj)
    {
        lock (_gate)
        {
            var stored = Stamp((JsonObject)obj.DeepClone());
            var metadata = stored["metadata"]!.AsObject();
            _objects[Key(plural, (string)metadata["namespace"]!, (string)metadata["name"]!)] = stored;
            return stored;
        }
    }

    /// <summary>Changes a stored object in place (e.g. marks a Sandbox Ready), bumping its resourceVersion.</summary>
    public void Update(string plural, string @namespace, string name, Action<JsonObject> change)
    {
        lock (_gate)
        {
            var obj = _objects[Key(plural, @namespace, name)];
            change(obj);
            obj["metadata"]!["resourceVersion"] = NextVersion();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = Parse(context.Request);
        _requests.Enqueue(request);
        if (request.Name is { } podName && context.Request.Path.Value!.EndsWith($"/pods/{podName}/exec", StringComparison.Ordinal))
        {
            await ExecAsync(context, request);
            return;
        }

        if (request.Name is { } logPod && context.Request.Path.Value!.EndsWith($"/pods/{logPod}/log", StringComparison.Ordinal))
        {
            var found = _logs.TryGetValue($"{request.Namespace}/{logPod}/{context.Request.Query["container"]}", out var text);
            if (!found)
            {
                await WriteStatusAsync(context, 404, "NotFound", $"no log for {logPod}");
                return;
            }

            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync(text!);
            return;
        }

        if (request.Plural is null)
        {
            await WriteStatusAsync(context, 404, "NotFound", $"the fake serves no {context.Request.Path}");
            return;
        }

        foreach (var failure in _failures)
        {
            if (failure(request) is { } status)
            {
                await WriteStatusAsync(context, status, status == 500 ? "InternalError" : "Injected", $"injected failure for {request}");
                return;
            }
        }

        JsonObject? body = null;
        if (context.Request.ContentLength is > 0 || context.Request.Method is "POST" or "PUT" or "PATCH")
        {
            try
            {
                body = (await JsonNode.ParseAsync(context.Request.Body))?.AsObject();
            }
            catch (JsonException e)
            {
                await WriteStatusAsync(context, 400, "BadRequest", e.Message);
                return;
            }
        }

        var (code, response) = Apply(request, body, context.Request.Query);
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(response.ToJsonString());
    }

    private (int Code, JsonNode Body) Apply(FakeRequest request, JsonObject? body, IQueryCollection query)
    {
        lock (_gate)
        {
            var plural = request.Plural!;
            var ns = request.Namespace!;
            switch (request.Method, request.Name)
            {
                case ("POST", null):
                {
                    if (body?["metadata"]?["name"]?.GetValue<string>() is not { } name || !IsDns1123Subdomain(name))
                    {
                        return Status(422, "Invalid", $"metadata.name: Invalid value: {body?["metadata"]?["name"]?.ToJsonString() ?? "null"}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'");
                    }

                    var key = Key(plural, ns, name);
                    if (_objects.ContainsKey(key))
                    {
                        return Status(409, "AlreadyExists", $"{plural} \"{name}\" already exists");
                    }

                    body["metadata"]!["namespace"] = ns;
                    var stored = Stamp(body);
                    _objects[key] = stored;
                    return (201, stored.DeepClone());
                }

                case ("GET", null):
                {
                    var selector = query["labelSelector"].ToString();
                    var items = new JsonArray();
                    foreach (var (key, obj) in _objects.OrderBy(p => p.Key, StringComparer.Ordinal))
                    {
                        if (key.StartsWith(plural + "/" + ns + "/", StringComparison.Ordinal) && Matches(selector, obj))
                        {
                            items.Add(obj.DeepClone());
                        }
                    }

                    return (200, new JsonObject
                    {
                        ["kind"] = "List",
                        ["apiVersion"] = "v1",
                        ["metadata"] = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture) },
                        ["items"] = items,
                    });
                }

                case ("GET", { } name):
                    return _objects.TryGetValue(Key(plural, ns, name), out var found)
                        ? (200, found.DeepClone())
                        : Status(404, "NotFound", $"{plural} \"{name}\" not found");

                case ("PUT", { } name):
                {
                    var key = Key(plural, ns, name);
                    if (!_objects.TryGetValue(key, out var current))
                    {
                        return Status(404, "NotFound", $"{plural} \"{name}\" not found");
                    }

                    if (body?["metadata"]?["resourceVersion"]?.GetValue<string>() is { } version && version != (string)current["metadata"]!["resourceVersion"]!)
                    {
                        return Status(409, "Conflict", $"Operation cannot be fulfilled on {plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
                    }

                    body!["metadata"]!["uid"] = current["metadata"]!["uid"]!.DeepClone();
                    body["metadata"]!["creationTimestamp"] = current["metadata"]!["creationTimestamp"]!.DeepClone();
                    body["metadata"]!["namespace"] = ns;
                    body["metadata"]!["resourceVersion"] = NextVersion();
                    _objects[key] = body;
                    return (200, body.DeepClone());
                }

                case ("PATCH", { } name):
                {
                    var key = Key(plural, ns, name);
                    if (!_objects.TryGetValue(key, out var current))
                    {
                        return Status(404, "NotFound", $"{plural} \"{name}\" not found");
                    }

                    MergePatch(current, body ?? []);
                    current["metadata"]!["resourceVersion"] = NextVersion();
                    return (200, current.DeepClone());
                }

                case ("DELETE", { } name):
                {
                    var key = Key(plural, ns, name);
                    if (!_objects.TryRemove(key, out var removed))
                    {
                        return Status(404, "NotFound", $"{plural} \"{name}\" not found");
                    }

                    CollectDependents((string)removed["metadata"]!["uid"]!);

                    // As the API server does: the object as it was deleted (no finalizers here, so it is gone at once).
                    removed["metadata"]!["deletionTimestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
                    return (200, removed);
                }

                default:
                    return Status(405, "MethodNotAllowed", $"{request.Method} is not supported on {request.Path}");
            }
        }
    }

    /// <summary>The exec subresource: the channel protocol over a WebSocket, the command run locally.</summary>
    private async Task ExecAsync(HttpContext context, FakeRequest request)
    {
        var protocol = context.WebSockets.WebSocketRequestedProtocols.FirstOrDefault(ExecProtocols.Contains);
        if (!context.WebSockets.IsWebSocketRequest || protocol is null)
        {
            await WriteStatusAsync(context, 400, "BadRequest", "exec needs a WebSocket upgrade with a supported channel protocol");
            return;
        }

        if (!_objects.ContainsKey(Key("pods", request.Namespace!, request.Name!)))
        {
            await WriteStatusAsync(context, 404, "NotFound", $"pods \"{request.Name}\" not found");
            return;
        }

        var command = context.Request.Query["command"].Select(c => c!).ToArray();
        using var socket = await context.WebSockets.AcceptWebSocketAsync(protocol);
        var start = new ProcessStartInfo(command[0]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        using var sending = new SemaphoreSlim(1, 1);
        async Task SendAsync(byte channel, ReadOnlyMemory<byte> data)
        {
            var frame = new byte[data.Length + 1];
            frame[0] = channel;
            data.CopyTo(frame.AsMemory(1));
            await sending.WaitAsync();
            try
            {
                await socket.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
            }
            finally
            {
                sending.Release();
            }
        }

        async Task PumpAsync(Stream from, byte channel)
        {
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await from.ReadAsync(buffer)) > 0)
            {
                await SendAsync(channel, buffer.AsMemory(0, read));
            }
        }

        var stdout = PumpAsync(process.StandardOutput.BaseStream, 1);
        var stderr = PumpAsync(process.StandardError.BaseStream, 2);
        var input = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (socket.State == WebSocketState.Open)
                {
                    var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close || result.Count == 0)
                    {
                        break;
                    }

                    if (buffer[0] == 0)
                    {
                        await process.StandardInput.BaseStream.WriteAsync(buffer.AsMemory(1, result.Count - 1));
                        await process.StandardInput.BaseStream.FlushAsync();
                    }
                    else if (buffer[0] == 255 && protocol.StartsWith("v5", StringComparison.Ordinal))
                    {
                        process.StandardInput.Close();
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
            {
                // The client went away or the command closed its input.
            }

            // The stream is gone: the command sees the end of its input, as in a container.
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // Already closed.
            }
        });

        await process.WaitForExitAsync();
        await Task.WhenAll(stdout, stderr);
        var status = process.ExitCode == 0
            ? new JsonObject { ["metadata"] = new JsonObject(), ["status"] = "Success" }
            : new JsonObject
            {
                ["metadata"] = new JsonObject(),
                ["status"] = "Failure",
                ["message"] = $"command terminated with non-zero exit code: exit status {process.ExitCode}",
                ["reason"] = "NonZeroExitCode",
                ["details"] = new JsonObject { ["causes"] = new JsonArray(new JsonObject { ["reason"] = "ExitCode", ["message"] = process.ExitCode.ToString(CultureInfo.InvariantCulture) }) },
            };
        await SendAsync(3, System.Text.Encoding.UTF8.GetBytes(status.ToJsonString()));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        await input.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>What the cluster's garbage collector does: objects owned by a deleted one go too.</summary>
    private void CollectDependents(string ownerUid)
    {
        foreach (var (key, obj) in _objects.ToArray())
        {
            if (obj["metadata"]?["ownerReferences"] is JsonArray owners && owners.Any(o => (string?)o?["uid"] == ownerUid) && _objects.TryRemove(key, out var dependent))
            {
                CollectDependents((string)dependent["metadata"]!["uid"]!);
            }
        }
    }

    private JsonObject Stamp(JsonObject obj)
    {
        var metadata = obj["metadata"]!.AsObject();
        metadata["uid"] = Guid.NewGuid().ToString();
        metadata["resourceVersion"] = NextVersion();
        metadata["creationTimestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        return obj;
    }

    private string NextVersion() => Interlocked.Increment(ref _resourceVersion).ToString(CultureInfo.InvariantCulture);

    private static string Key(string plural, string ns, string name) => $"{plural}/{ns}/{name}";

    /// <summary>Equality-based selectors (<c>k=v</c>, <c>k==v</c>, <c>k!=v</c>) and existence (<c>k</c>, <c>!k</c>), comma-separated.</summary>
    internal static bool Matches(string selector, JsonObject obj)
    {
        var labels = obj["metadata"]?["labels"] as JsonObject;
        string? Label(string name) => (string?)labels?[name];
        foreach (var term in selector.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var ok = term switch
            {
                _ when term.Contains("!=", StringComparison.Ordinal) => Label(term[..term.IndexOf("!=", StringComparison.Ordinal)]) != term[(term.IndexOf("!=", StringComparison.Ordinal) + 2)..],
                _ when term.Contains("==", StringComparison.Ordinal) => Label(term[..term.IndexOf("==", StringComparison.Ordinal)]) == term[(term.IndexOf("==", StringComparison.Ordinal) + 2)..],
                _ when term.Contains('=', StringComparison.Ordinal) => Label(term[..term.IndexOf('=', StringComparison.Ordinal)]) == term[(term.IndexOf('=', StringComparison.Ordinal) + 1)..],
                _ when term.StartsWith('!') => Label(term[1..]) is null,
                _ => Label(term) is not null,
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>RFC 7386 JSON merge patch.</summary>
    private static void MergePatch(JsonObject target, JsonObject patch)
    {
        foreach (var (name, value) in patch.ToArray())
        {
            if (value is null)
            {
                target.Remove(name);
            }
            else if (value is JsonObject child && target[name] is JsonObject existing)
            {
                MergePatch(existing, child);
            }
            else
            {
                target[name] = value.DeepClone();
            }
        }
    }

    private static bool IsDns1123Subdomain(string name) =>
        name.Length is > 0 and <= 253
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.')
        && char.IsAsciiLetterOrDigit(name[0]) && char.IsAsciiLetterOrDigit(name[^1]);

    private static (int, JsonNode) Status(int code, string reason, string message) => (code, new JsonObject
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    });

    private static async Task WriteStatusAsync(HttpContext context, int code, string reason, string message)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(Status(code, reason, message).Item2.ToJsonString());
    }

    /// <summary>
    /// Splits a request path into what it addresses. Core objects are keyed by their plural (<c>secrets</c>),
    /// group objects by <c>plural.group</c> (<c>networkpolicies.networking.k8s.io</c>); <c>/status</c> is the object.
    /// </summary>
    private static FakeRequest Parse(HttpRequest request)
    {
        var parts = request.Path.Value!.Trim('/').Split('/');
        string? plural = null, ns = null, name = null;
        if (parts is ["api", "v1", "namespaces", var n1, var p1, .. var rest1])
        {
            (ns, plural, name) = (n1, p1, rest1.FirstOrDefault());
        }
        else if (parts is ["apis", var group, _, "namespaces", var n2, var p2, .. var rest2])
        {
            (ns, plural, name) = (n2, p2 + "." + group, rest2.FirstOrDefault());
        }

        return new FakeRequest(request.Method, request.Path.Value!, plural, ns, name, request.Query["propagationPolicy"].ToString())
        {
            Query = request.QueryString.Value ?? string.Empty,
        };
    }
}

/// <summary>One request the fake received.</summary>
/// <param name="Method">GET, POST, PUT, PATCH or DELETE.</param>
/// <param name="Path">The URL path.</param>
/// <param name="Plural">The resource (<c>plural</c> for core, <c>plural.group</c> otherwise), or null for paths the fake does not serve.</param>
/// <param name="Namespace">The namespace.</param>
/// <param name="Name">The object's name, or null for the collection.</param>
/// <param name="PropagationPolicy">The <c>propagationPolicy</c> query parameter of a delete, if any.</param>
public sealed record FakeRequest(string Method, string Path, string? Plural, string? Namespace, string? Name, string PropagationPolicy)
{
    /// <summary>The query string as sent (<c>?labelSelector=…</c>), empty when there is none.</summary>
    public string Query { get; init; } = string.Empty;

    /// <summary>Whether the request asked to watch (<c>watch=true</c> or <c>watch=1</c>): authorised as <c>watch</c>, not <c>list</c>.</summary>
    public bool Watch => Query.Contains("watch=true", StringComparison.Ordinal) || Query.Contains("watch=1", StringComparison.Ordinal);

    public override string ToString() => $"{Method} {Path}";
}
