using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

// A small, bounded load generator for bench/proxy/run.sh. Two modes:
//
//   http     keep-alive HTTPS GETs from N concurrent workers for a fixed time (and at most
//            --max-requests), directly or through an HTTP proxy (CONNECT), trusting only --ca;
//            prints requests/s and latency percentiles as JSON.
//   tunnels  opens N CONNECT tunnels through a proxy, completes a TLS handshake to the origin
//            inside each, holds them idle until --go-file appears (or --hold elapses), then
//            sends one GET on every tunnel to prove it was alive; prints counts as JSON.
//
// Everything is bounded: durations, request counts, and per-operation timeouts.
return args.Length > 0 && args[0] is "http" or "tunnels"
    ? await LoadGen.RunAsync(args[0], args[1..])
    : LoadGen.Usage();

internal static class LoadGen
{
    public static int Usage()
    {
        Console.Error.WriteLine("""
            usage:
              loadgen http --url URL [--proxy http://H:P] --ca FILE [--resolve HOST=IP]
                           [--concurrency 50] [--rate R] [--duration 10] [--warmup 2] [--max-requests N] [--out FILE]
              loadgen tunnels --proxy H:P --target HOST:PORT --ca FILE [--count 1000] [--parallel 50]
                           [--ready-file FILE] [--go-file FILE] [--hold 60] [--out FILE]
            """);
        return 2;
    }

    public static async Task<int> RunAsync(string mode, string[] args)
    {
        try
        {
            var o = Options.Parse(args);
            var json = mode == "http" ? await HttpMode.RunAsync(o) : await TunnelMode.RunAsync(o);
            if (o.Get("out") is { } outFile)
            {
                await File.WriteAllTextAsync(outFile, json + "\n");
            }

            Console.WriteLine(json);
            return 0;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"loadgen: {e.Message}");
            return Usage();
        }
    }

    /// <summary>A validation callback that trusts exactly the given roots and checks the name.</summary>
    public static RemoteCertificateValidationCallback TrustOnly(X509Certificate2Collection roots, Action? onHandshake = null) =>
        (_, certificate, presented, errors) =>
        {
            onHandshake?.Invoke();
            if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            if (presented is not null)
            {
                foreach (var element in presented.ChainElements)
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }

            using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            return chain.Build(leaf);
        };

    public static X509Certificate2Collection LoadRoots(string path)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(path);
        return roots.Count > 0 ? roots : throw new ArgumentException($"--ca {path}: no certificate");
    }
}

internal static class HttpMode
{
    public static async Task<string> RunAsync(Options o)
    {
        var url = new Uri(o.Require("url"));
        var proxy = o.Get("proxy");
        var roots = LoadGen.LoadRoots(o.Require("ca"));
        var resolve = o.Get("resolve") is { } r ? r.Split('=', 2) : null;
        var concurrency = o.Int("concurrency", 50);
        var duration = o.Double("duration", 10);
        var warmup = o.Double("warmup", 2);
        var maxRequests = o.Long("max-requests", 50_000_000);
        var rate = o.Double("rate", 0); // total requests/s over all workers; 0: as fast as each answer comes

        long handshakes = 0;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = concurrency,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = proxy is not null,
            Proxy = proxy is null ? null : new WebProxy(proxy),
            SslOptions = { RemoteCertificateValidationCallback = LoadGen.TrustOnly(roots, () => Interlocked.Increment(ref handshakes)) },
        };
        if (resolve is [var host, var ip])
        {
            var address = IPAddress.Parse(ip);
            handler.ConnectCallback = async (context, token) =>
            {
                var endpoint = string.Equals(context.DnsEndPoint.Host, host, StringComparison.OrdinalIgnoreCase)
                    ? new IPEndPoint(address, context.DnsEndPoint.Port)
                    : (EndPoint)context.DnsEndPoint;
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(endpoint, token);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        var frequency = (double)Stopwatch.Frequency;
        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + (long)(warmup * frequency);
        var end = measureFrom + (long)(duration * frequency);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(warmup + duration));

        long issued = 0, errors = 0, warmupRequests = 0, bodyBytes = 0;
        string? firstError = null;
        var latencies = new List<long>[concurrency];

        // With --rate each worker sends on a fixed schedule (an open-loop load at that rate). A request is timed
        // from when it was due if the previous answer held it back past that (no coordinated omission), else from
        // when it was actually sent (timer slack is the load generator's, not the target's).
        var interval = rate > 0 ? (long)(concurrency / rate * frequency) : 0;

        async Task Worker(int id)
        {
            var mine = latencies[id] = new List<long>(1 << 16);
            var buffer = new byte[64 * 1024];
            var due = start + (interval * id / concurrency);
            while (!stop.IsCancellationRequested && Interlocked.Increment(ref issued) <= maxRequests)
            {
                var began = Stopwatch.GetTimestamp();
                if (interval > 0)
                {
                    if (began < due)
                    {
                        try
                        {
                            await Task.Delay(TimeSpan.FromSeconds((due - began) / frequency), stop.Token);
                        }
                        catch (OperationCanceledException)
                        {
                            break;
                        }

                        began = Stopwatch.GetTimestamp();
                    }
                    else
                    {
                        began = due;
                    }

                    due += interval;
                }

                long read = 0;
                bool ok;
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, url) { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop.Token);
                    var body = await response.Content.ReadAsStreamAsync(stop.Token);
                    await using (body)
                    {
                        int n;
                        while ((n = await body.ReadAsync(buffer, stop.Token)) > 0)
                        {
                            read += n;
                        }
                    }

                    ok = response.StatusCode == HttpStatusCode.OK;
                    if (!ok)
                    {
                        Interlocked.CompareExchange(ref firstError, $"HTTP {(int)response.StatusCode}", null);
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
                {
                    ok = false;
                    Interlocked.CompareExchange(ref firstError, Describe(e), null);
                }

                var done = Stopwatch.GetTimestamp();
                if (done < measureFrom)
                {
                    Interlocked.Increment(ref warmupRequests);
                }
                else if (done < end)
                {
                    if (ok)
                    {
                        mine.Add(done - began);
                        Interlocked.Add(ref bodyBytes, read);
                    }
                    else
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
            }
        }

        var cpuBefore = Environment.CpuUsage.TotalTime;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(i => Task.Run(() => Worker(i))));
        var clientCpu = (Environment.CpuUsage.TotalTime - cpuBefore).TotalSeconds;
        var measured = (Math.Min(Stopwatch.GetTimestamp(), end) - measureFrom) / frequency;

        var all = latencies.Where(l => l is not null).SelectMany(l => l).ToArray();
        Array.Sort(all);
        double Ms(long ticks) => ticks * 1000.0 / frequency;
        double Percentile(double p) => all.Length == 0 ? double.NaN : Ms(all[Math.Min(all.Length - 1, (int)Math.Ceiling(p / 100 * all.Length) - 1)]);

        return Json.Write(w =>
        {
            w.WriteString("mode", "http");
            w.WriteString("url", url.ToString());
            w.WriteString("proxy", proxy);
            w.WriteNumber("concurrency", concurrency);
            w.WriteNumber("rate", rate);
            w.WriteNumber("warmup_s", warmup);
            w.WriteNumber("duration_s", Math.Round(measured, 3));
            w.WriteNumber("requests", all.Length);
            w.WriteNumber("errors", errors);
            w.WriteString("first_error", firstError);
            w.WriteNumber("warmup_requests", warmupRequests);
            w.WriteNumber("tls_handshakes", handshakes);
            w.WriteNumber("client_cpu_s", Math.Round(clientCpu, 3));
            w.WriteNumber("rps", Math.Round(all.Length / measured, 1));
            w.WriteNumber("body_bytes_per_s", Math.Round(bodyBytes / measured));
            w.WriteStartObject("latency_ms");
            w.WriteNumber("mean", all.Length == 0 ? 0 : Math.Round(Ms((long)all.Average()), 3));
            w.WriteNumber("p50", Math.Round(Percentile(50), 3));
            w.WriteNumber("p90", Math.Round(Percentile(90), 3));
            w.WriteNumber("p99", Math.Round(Percentile(99), 3));
            w.WriteNumber("p999", Math.Round(Percentile(99.9), 3));
            w.WriteNumber("max", all.Length == 0 ? 0 : Math.Round(Ms(all[^1]), 3));
            w.WriteEndObject();
        });
    }

    private static string Describe(Exception e)
    {
        var text = new StringBuilder(e.GetType().Name).Append(": ").Append(e.Message);
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            text.Append(" <- ").Append(inner.GetType().Name).Append(": ").Append(inner.Message);
        }

        return text.ToString();
    }
}

internal static class TunnelMode
{
    public static async Task<string> RunAsync(Options o)
    {
        var proxy = o.Require("proxy").Split(':', 2);
        var target = o.Require("target");
        var targetHost = target[..target.LastIndexOf(':')];
        var roots = LoadGen.LoadRoots(o.Require("ca"));
        var count = o.Int("count", 1000);
        var parallel = o.Int("parallel", 50);
        var hold = TimeSpan.FromSeconds(o.Double("hold", 60));
        var readyFile = o.Get("ready-file");
        var goFile = o.Get("go-file");
        var proxyEndpoint = new IPEndPoint(IPAddress.Parse(proxy[0]), int.Parse(proxy[1], CultureInfo.InvariantCulture));

        var tunnels = new SslStream?[count];
        var sockets = new Socket?[count];
        string? firstError = null;
        var opening = Stopwatch.StartNew();
        using (var gate = new SemaphoreSlim(parallel))
        {
            await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                    var socket = sockets[i] = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    await socket.ConnectAsync(proxyEndpoint, timeout.Token);
                    var stream = new NetworkStream(socket, ownsSocket: false);
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"), timeout.Token);
                    var head = await ReadHeadAsync(stream, timeout.Token);
                    if (!head.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) && !head.StartsWith("HTTP/1.0 200", StringComparison.Ordinal))
                    {
                        throw new IOException($"CONNECT answered: {head.Split('\r')[0]}");
                    }

                    var tls = new SslStream(stream, leaveInnerStreamOpen: false, LoadGen.TrustOnly(roots));
                    await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = targetHost }, timeout.Token);
                    tunnels[i] = tls;
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
                {
                    Interlocked.CompareExchange(ref firstError, $"{e.GetType().Name}: {e.Message}", null);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        var opened = tunnels.Count(t => t is not null);
        var openSeconds = opening.Elapsed.TotalSeconds;
        if (readyFile is not null)
        {
            await File.WriteAllTextAsync(readyFile, opened.ToString(CultureInfo.InvariantCulture));
        }

        var held = Stopwatch.StartNew();
        while (held.Elapsed < hold && (goFile is null || !File.Exists(goFile)))
        {
            await Task.Delay(100);
        }

        // Prove every tunnel was still alive after being held: one GET on each.
        var alive = 0;
        using (var gate = new SemaphoreSlim(parallel))
        {
            await Task.WhenAll(tunnels.Select(async t =>
            {
                if (t is null)
                {
                    return;
                }

                await gate.WaitAsync();
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                    await t.WriteAsync(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {targetHost}\r\nConnection: close\r\n\r\n"), timeout.Token);
                    var head = await ReadHeadAsync(t, timeout.Token);
                    if (head.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref alive);
                    }
                }
                catch (Exception e) when (e is IOException or OperationCanceledException)
                {
                    Interlocked.CompareExchange(ref firstError, $"after hold: {e.GetType().Name}: {e.Message}", null);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        foreach (var t in tunnels)
        {
            t?.Dispose();
        }

        foreach (var s in sockets)
        {
            s?.Dispose();
        }

        return Json.Write(w =>
        {
            w.WriteString("mode", "tunnels");
            w.WriteString("target", target);
            w.WriteNumber("requested", count);
            w.WriteNumber("opened", opened);
            w.WriteNumber("open_s", Math.Round(openSeconds, 3));
            w.WriteNumber("held_s", Math.Round(held.Elapsed.TotalSeconds, 3));
            w.WriteNumber("alive_after_hold", alive);
            w.WriteString("first_error", firstError);
        });
    }

    /// <summary>Reads up to the end of an HTTP head, one byte at a time (nothing past it is consumed).</summary>
    private static async Task<string> ReadHeadAsync(Stream stream, CancellationToken token)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (head.Length < 16 * 1024)
        {
            if (await stream.ReadAsync(one, token) == 0)
            {
                throw new IOException("connection closed before the end of the head");
            }

            head.Append((char)one[0]);
            if (head.Length >= 4 && head[^1] == '\n' && head[^2] == '\r' && head[^3] == '\n' && head[^4] == '\r')
            {
                return head.ToString();
            }
        }

        throw new IOException("head too long");
    }
}

internal static class Json
{
    public static string Write(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}

internal sealed class Options
{
    private readonly Dictionary<string, string> values = new(StringComparer.Ordinal);

    public static Options Parse(string[] args)
    {
        var options = new Options();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected --name value, got '{args[i]}'");
            }

            options.values[args[i][2..]] = args[++i];
        }

        return options;
    }

    public string? Get(string name) => values.GetValueOrDefault(name);

    public string Require(string name) => Get(name) ?? throw new ArgumentException($"--{name} is required");

    public int Int(string name, int fallback) => Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public long Long(string name, long fallback) => Get(name) is { } v ? long.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) => Get(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
