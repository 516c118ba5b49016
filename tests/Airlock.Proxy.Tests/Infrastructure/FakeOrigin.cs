using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Airlock.Proxy.Tests.Infrastructure;

/// <summary>
/// A real Kestrel origin on a loopback address: HTTPS (HTTP/1.1 and HTTP/2 by ALPN) and plain HTTP on
/// two ports chosen by the OS. It records every request that reaches it (<see cref="Requests"/>) so
/// tests can assert what a proxy forwarded upstream.
/// </summary>
/// <remarks>
/// Routes (any method unless noted):
/// <list type="bullet">
/// <item><c>/echo</c> and every unmatched path: <see cref="EchoResponse"/> JSON.</item>
/// <item><c>/headers</c>: the request headers as a JSON object of arrays.</item>
/// <item><c>/big/{n}</c>: n bytes of <see cref="BigBodyByte"/>, streamed; <c>?chunked=1</c> omits Content-Length.</item>
/// <item><c>/slow?ms=N</c>: waits N ms (cancelled with the request), then <c>slow</c>; <c>&amp;headersFirst=1</c> sends the head before waiting.</item>
/// <item><c>/status/{code}</c>: that status (200-599); redirects point at <c>/echo</c>.</item>
/// <item><c>/sse?count=3&amp;ms=50</c>: server-sent events <c>id: i / event: tick / data: event i</c>, each flushed.</item>
/// <item><c>/ws</c>: WebSocket echo (HTTP/1.1 upgrade or HTTP/2 extended CONNECT), accepts the first offered subprotocol.</item>
/// <item><c>/reset?after=N</c>: announces 2N bytes, sends N, then aborts the connection (HTTP/2: the stream).</item>
/// </list>
/// Every response carries <c>X-Fake-Origin-Request: {sequence}</c>.
/// </remarks>
public sealed class FakeOrigin : IAsyncDisposable
{
    /// <summary>Response header naming the <see cref="OriginRequest.Sequence"/> that produced a response.</summary>
    public const string RequestHeader = "X-Fake-Origin-Request";

    private const int PatternPeriod = 251;
    private static readonly byte[] Pattern = CreatePattern(PatternPeriod * 256);
    private static readonly string EmptySha256 = Convert.ToHexStringLower(SHA256.HashData(ReadOnlySpan<byte>.Empty));
    private static readonly object AbortedByRoute = new();

    private readonly Lock _gate = new();
    private readonly List<OriginRequest> _requests = [];
    private readonly List<(Func<OriginRequest, bool> Match, TaskCompletionSource<OriginRequest> Found)> _waiters = [];
    private readonly bool _ownsCertificate;
    private WebApplication? _app;
    private long _sequence;
    private int _connections;

    private FakeOrigin(IPAddress address, X509Certificate2 certificate, bool ownsCertificate)
    {
        Address = address;
        Certificate = certificate;
        _ownsCertificate = ownsCertificate;
    }

    /// <summary>The loopback address both ports are bound to.</summary>
    public IPAddress Address { get; }

    /// <summary>The HTTPS port.</summary>
    public int HttpsPort { get; private set; }

    /// <summary>The plain HTTP port.</summary>
    public int HttpPort { get; private set; }

    /// <summary><see cref="Address"/> and <see cref="HttpsPort"/>.</summary>
    public IPEndPoint HttpsEndPoint => new(Address, HttpsPort);

    /// <summary><see cref="Address"/> and <see cref="HttpPort"/>.</summary>
    public IPEndPoint HttpEndPoint => new(Address, HttpPort);

    /// <summary>The certificate served on the HTTPS port.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>A snapshot of the requests received so far, in arrival order.</summary>
    public IReadOnlyList<OriginRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>TCP connections accepted on either port, including ones that never sent a request.</summary>
    public int ConnectionCount => Volatile.Read(ref _connections);

    /// <summary>The byte at <paramref name="position"/> of every <c>/big/{n}</c> (and <c>/reset</c>) body.</summary>
    public static byte BigBodyByte(long position) => (byte)(position % PatternPeriod);

    /// <summary>Starts an origin; dispose it to stop.</summary>
    public static async Task<FakeOrigin> StartAsync(FakeOriginOptions? options = null)
    {
        options ??= FakeOriginOptions.Default;
        if (!IPAddress.IsLoopback(options.Address))
        {
            throw new ArgumentException($"test servers bind loopback addresses only, not {options.Address}", nameof(options));
        }

        var ownsCertificate = options.Certificate is null;
        var certificate = options.Certificate ?? TestCertificates.IssueServer([.. options.Names, options.Address.ToString()]);
        var origin = new FakeOrigin(options.Address, certificate, ownsCertificate);
        try
        {
            await origin.StartCoreAsync(options);
            return origin;
        }
        catch
        {
            await origin.DisposeAsync();
            throw;
        }
    }

    /// <summary>https://{host}:{HttpsPort}{pathAndQuery}; reach it through a proxy, curl <c>--resolve</c> or <see cref="CreateClient"/>.</summary>
    public Uri HttpsUrl(string pathAndQuery = "/", string host = "api.test") => new($"https://{host}:{HttpsPort.ToString(CultureInfo.InvariantCulture)}{pathAndQuery}");

    /// <summary>http://{host}:{HttpPort}{pathAndQuery}.</summary>
    public Uri HttpUrl(string pathAndQuery = "/", string host = "api.test") => new($"http://{host}:{HttpPort.ToString(CultureInfo.InvariantCulture)}{pathAndQuery}");

    /// <summary>The value for curl's <c>--resolve</c> that sends <paramref name="host"/> on the HTTPS port here.</summary>
    public string CurlResolveHttps(string host = "api.test") => CurlResolve(host, HttpsPort);

    /// <summary>The value for curl's <c>--resolve</c> that sends <paramref name="host"/> on the HTTP port here.</summary>
    public string CurlResolveHttp(string host = "api.test") => CurlResolve(host, HttpPort);

    /// <summary>
    /// A direct client (no proxy) that connects every host name to <see cref="Address"/>, trusts only
    /// <see cref="TestCertificates.Root"/> and sends <paramref name="version"/> exactly (default HTTP/1.1).
    /// A hand-built <see cref="HttpRequestMessage"/> keeps its own <see cref="HttpRequestMessage.Version"/> (1.1): set it.
    /// </summary>
    public HttpClient CreateClient(Version? version = null) =>
        new(TestCertificates.CreateHandler(TestCertificates.Root, Address))
        {
            DefaultRequestVersion = version ?? HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

    /// <summary>Forgets the requests recorded so far (tests in one class run one at a time).</summary>
    public void ClearRequests()
    {
        lock (_gate)
        {
            _requests.Clear();
        }
    }

    /// <summary>The first recorded request matching <paramref name="match"/>, waiting up to <paramref name="timeout"/> for it to arrive.</summary>
    /// <exception cref="TimeoutException">None arrived in time; the message lists what did.</exception>
    public async Task<OriginRequest> WaitForRequestAsync(Func<OriginRequest, bool> match, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(match);
        var found = new TaskCompletionSource<OriginRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var existing = _requests.FirstOrDefault(match);
            if (existing is not null)
            {
                return existing;
            }

            _waiters.Add((match, found));
        }

        try
        {
            return await found.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"no matching request reached the origin within {timeout}; received: [{string.Join("; ", Requests)}]");
        }
        finally
        {
            lock (_gate)
            {
                _waiters.RemoveAll(w => w.Found == found);
            }
        }
    }

    /// <summary>Stops Kestrel, aborting connections still open after two seconds.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await _app.StopAsync(stop.Token);
            }
            finally
            {
                await _app.DisposeAsync();
            }
        }

        if (_ownsCertificate)
        {
            Certificate.Dispose();
        }
    }

    private async Task StartCoreAsync(FakeOriginOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(FakeOrigin).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(options.Address, 0, listen =>
            {
                listen.Protocols = options.HttpsProtocols;
                listen.Use(next => connection => CountConnection(next, connection));
                listen.UseHttps(Certificate);
            });
            kestrel.Listen(options.Address, 0, listen =>
            {
                listen.Protocols = options.HttpProtocols;
                listen.Use(next => connection => CountConnection(next, connection));
            });
        });

        var app = builder.Build();
        _app = app;
        app.UseWebSockets();
        app.Use(RecordAsync);
        app.Map("/echo", EchoAsync);
        app.Map("/headers", HeadersAsync);
        app.Map("/big/{n}", BigAsync);
        app.Map("/slow", SlowAsync);
        app.Map("/status/{code}", StatusAsync);
        app.Map("/sse", ServerSentEventsAsync);
        app.Map("/ws", WebSocketEchoAsync);
        app.Map("/reset", ResetAsync);
        options.Routes?.Invoke(app);
        app.Map("/{**rest}", EchoAsync);

        await app.StartAsync();

        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        foreach (var address in addresses)
        {
            var uri = new Uri(address);
            if (uri.Scheme == Uri.UriSchemeHttps)
            {
                HttpsPort = uri.Port;
            }
            else
            {
                HttpPort = uri.Port;
            }
        }

        if (HttpsPort == 0 || HttpPort == 0)
        {
            throw new InvalidOperationException("Kestrel did not report both bound ports: " + string.Join(", ", addresses));
        }
    }

    private Task CountConnection(ConnectionDelegate next, ConnectionContext connection)
    {
        Interlocked.Increment(ref _connections);
        return next(connection);
    }

    private async Task RecordAsync(HttpContext context, RequestDelegate next)
    {
        // Upgrades (WebSocket over HTTP/1.1 or HTTP/2) have no request body to drain.
        var upgrade = context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true
            || context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect == true;
        var body = upgrade ? (Length: 0L, Sha256: EmptySha256, Complete: true) : await ReadBodyAsync(context);

        var ended = new TaskCompletionSource<OriginRequestEnd>(TaskCreationOptions.RunContinuationsAsynchronously);
        var request = Snapshot(context, body.Length, body.Sha256, ended.Task);
        Record(request);
        if (!body.Complete)
        {
            ended.SetResult(OriginRequestEnd.Aborted);
            return;
        }

        context.Items[typeof(OriginRequest)] = request;
        context.Response.Headers[RequestHeader] = request.Sequence.ToString(CultureInfo.InvariantCulture);
        try
        {
            await next(context);
            ended.SetResult(context.Items.ContainsKey(AbortedByRoute) ? OriginRequestEnd.Aborted : OriginRequestEnd.Completed);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or WebSocketException)
        {
            // The client went away mid-route (cancelled delay, failed write, torn WebSocket).
            ended.SetResult(OriginRequestEnd.Aborted);
        }
        catch
        {
            ended.SetResult(OriginRequestEnd.Failed);
            throw;
        }
    }

    private OriginRequest Snapshot(HttpContext context, long bodyLength, string bodySha256, Task<OriginRequestEnd> ended)
    {
        var headers = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in context.Request.Headers)
        {
            headers[name] = [.. values.Select(v => v ?? string.Empty)];
        }

        var host = context.Request.Headers.Host.ToString();
        // The SNI from the client hello; ITlsHandshakeFeature.HostName is only set with a certificate selector.
        var sni = context.Features.Get<ISslStreamFeature>()?.SslStream.TargetHostName;
        return new OriginRequest(
            sequence: Interlocked.Increment(ref _sequence),
            connectionId: context.Connection.Id,
            scheme: context.Request.Scheme,
            localPort: context.Connection.LocalPort,
            protocol: context.Request.Protocol,
            method: context.Request.Method,
            rawTarget: context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget,
            path: context.Request.Path.Value ?? string.Empty,
            query: context.Request.QueryString.Value ?? string.Empty,
            host: host.Length == 0 ? null : host,
            sni: string.IsNullOrEmpty(sni) ? null : sni,
            headers: headers,
            bodyLength: bodyLength,
            bodySha256: bodySha256,
            ended: ended);
    }

    private void Record(OriginRequest request)
    {
        List<TaskCompletionSource<OriginRequest>> found = [];
        lock (_gate)
        {
            _requests.Add(request);
            foreach (var (match, waiter) in _waiters)
            {
                if (match(request))
                {
                    found.Add(waiter);
                }
            }
        }

        foreach (var waiter in found)
        {
            waiter.TrySetResult(request);
        }
    }

    private static async Task<(long Length, string Sha256, bool Complete)> ReadBodyAsync(HttpContext context)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        long length = 0;
        try
        {
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                length += read;
            }

            return (length, Convert.ToHexStringLower(hash.GetHashAndReset()), true);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            return (length, string.Empty, false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static OriginRequest RequestOf(HttpContext context) => (OriginRequest)context.Items[typeof(OriginRequest)]!;

    private static Task EchoAsync(HttpContext context) =>
        context.Response.WriteAsJsonAsync(EchoResponse.From(RequestOf(context)), FakeOriginJson.Default.EchoResponse, contentType: null, context.RequestAborted);

    private static Task HeadersAsync(HttpContext context) =>
        context.Response.WriteAsJsonAsync(
            new Dictionary<string, string[]>(RequestOf(context).Headers, StringComparer.OrdinalIgnoreCase),
            FakeOriginJson.Default.DictionaryStringStringArray,
            contentType: null,
            context.RequestAborted);

    private static async Task BigAsync(HttpContext context)
    {
        if (!long.TryParse(context.Request.RouteValues["n"] as string, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            await BadRequestAsync(context, "/big/{n}: n must be a non-negative integer");
            return;
        }

        if (!context.Request.Query.ContainsKey("chunked"))
        {
            context.Response.ContentLength = length;
        }

        context.Response.ContentType = "application/octet-stream";
        await WritePatternAsync(context, length);
    }

    private static async Task SlowAsync(HttpContext context)
    {
        if (!TryQuery(context, "ms", 1000, out var milliseconds))
        {
            await BadRequestAsync(context, "/slow: ms must be a non-negative integer");
            return;
        }

        context.Response.ContentType = "text/plain";
        if (context.Request.Query.ContainsKey("headersFirst"))
        {
            await context.Response.StartAsync(context.RequestAborted);
        }

        await Task.Delay(TimeSpan.FromMilliseconds(milliseconds), context.RequestAborted);
        await context.Response.WriteAsync("slow\n", context.RequestAborted);
    }

    private static async Task StatusAsync(HttpContext context)
    {
        if (!int.TryParse(context.Request.RouteValues["code"] as string, NumberStyles.None, CultureInfo.InvariantCulture, out var code)
            || code is < 200 or > 599)
        {
            await BadRequestAsync(context, "/status/{code}: code must be 200-599");
            return;
        }

        context.Response.StatusCode = code;
        if (code is 301 or 302 or 303 or 307 or 308)
        {
            context.Response.Headers.Location = "/echo";
        }

        if (code is not (204 or 304) && !HttpMethods.IsHead(context.Request.Method))
        {
            var body = Encoding.ASCII.GetBytes($"status {code.ToString(CultureInfo.InvariantCulture)}\n");
            context.Response.ContentType = "text/plain";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        }
    }

    private static async Task ServerSentEventsAsync(HttpContext context)
    {
        if (!TryQuery(context, "count", 3, out var count) || !TryQuery(context, "ms", 50, out var milliseconds))
        {
            await BadRequestAsync(context, "/sse: count and ms must be non-negative integers");
            return;
        }

        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.StartAsync(context.RequestAborted);
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(milliseconds), context.RequestAborted);
            }

            var id = i.ToString(CultureInfo.InvariantCulture);
            await context.Response.WriteAsync($"id: {id}\nevent: tick\ndata: event {id}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }

    private static async Task WebSocketEchoAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await BadRequestAsync(context, "/ws: expected a WebSocket upgrade");
            return;
        }

        var offered = context.WebSockets.WebSocketRequestedProtocols;
        using var socket = await context.WebSockets.AcceptWebSocketAsync(offered.Count > 0 ? offered[0] : null);
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer.AsMemory(), context.RequestAborted);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, socket.CloseStatusDescription, context.RequestAborted);
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, context.RequestAborted);
        }
    }

    private static async Task ResetAsync(HttpContext context)
    {
        if (!TryQuery(context, "after", 0, out var after))
        {
            await BadRequestAsync(context, "/reset: after must be a non-negative integer");
            return;
        }

        if (after > 0)
        {
            context.Response.ContentLength = 2L * after;
            context.Response.ContentType = "application/octet-stream";
            await WritePatternAsync(context, after);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }

        context.Items[AbortedByRoute] = true;
        context.Abort();
    }

    private static async Task WritePatternAsync(HttpContext context, long length)
    {
        // Chunks start at multiples of the pattern length, itself a multiple of the period.
        for (long sent = 0; sent < length;)
        {
            var count = (int)Math.Min(Pattern.Length, length - sent);
            await context.Response.Body.WriteAsync(Pattern.AsMemory(0, count), context.RequestAborted);
            sent += count;
        }
    }

    private static bool TryQuery(HttpContext context, string name, int fallback, out int value)
    {
        var text = context.Request.Query[name].ToString();
        if (text.Length == 0)
        {
            value = fallback;
            return true;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    private static Task BadRequestAsync(HttpContext context, string message)
    {
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync(message + "\n", context.RequestAborted);
    }

    private string CurlResolve(string host, int port)
    {
        var address = Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{Address}]" : Address.ToString();
        return $"{host}:{port.ToString(CultureInfo.InvariantCulture)}:{address}";
    }

    private static byte[] CreatePattern(int length)
    {
        var pattern = new byte[length];
        for (var i = 0; i < length; i++)
        {
            pattern[i] = BigBodyByte(i);
        }

        return pattern;
    }
}
