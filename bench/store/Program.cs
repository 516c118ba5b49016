using System.Diagnostics;
using System.Globalization;
using Airlock.Proxy.Events;
using Airlock.Server.Store;

// Event ingestion throughput of the gateway's store: appends --events events in batches of --batch (as the
// control plane does with what proxies send) into a fresh SQLite file (or --store URL), while a tail reader
// follows with QueryEventsAsync(AfterSeq), as a resuming SSE client does. Prints one JSON line.
//
//   dotnet run -c Release --project bench/store -- [--events 200000] [--batch 500] [--no-tail] [--store URL]
var options = ParseArgs(args);
if (options is null)
{
    Console.Error.WriteLine("usage: store-bench [--events 200000] [--batch 500] [--no-tail] [--store sqlite:PATH|postgres://...]");
    return 2;
}

var (total, batchSize, tail, storeUrl) = options.Value;
var directory = Path.Combine(Path.GetTempPath(), "airlock-store-bench-" + Guid.NewGuid().ToString("N"));
storeUrl ??= "sqlite:" + Path.Combine(directory, "bench.db");

try
{
    await using var store = await ServerStore.OpenAsync(storeUrl, CancellationToken.None);
    var batches = MakeBatches(total, batchSize);

    // Warm up: JIT, the prepared insert, the page cache.
    await store.AppendEventsAsync(MakeBatches(batchSize, batchSize)[0], CancellationToken.None);

    using var stop = new CancellationTokenSource();
    long tailed = 0;
    var tailTask = !tail ? Task.CompletedTask : Task.Run(async () =>
    {
        long after = 0;
        while (true)
        {
            var page = await store.QueryEventsAsync(new EventQuery { AfterSeq = after, Limit = EventQuery.MaxLimit }, CancellationToken.None);
            if (page.Count > 0)
            {
                after = page[^1].Seq;
                tailed += page.Count;
            }
            else if (stop.IsCancellationRequested)
            {
                return;
            }
            else
            {
                await Task.Delay(5);
            }
        }
    });

    var latencies = new List<double>(batches.Count);
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    long stored = 0;
    foreach (var batch in batches)
    {
        var started = clock.Elapsed;
        stored += (await store.AppendEventsAsync(batch, CancellationToken.None)).Count;
        latencies.Add((clock.Elapsed - started).TotalMilliseconds);
    }

    var seconds = clock.Elapsed.TotalSeconds;
    stop.Cancel();
    await tailTask;

    // On a shared machine the wall-clock rate depends on the neighbours; CPU seconds per event do less so.
    var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
    latencies.Sort();

    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $$"""{"store":"{{store.Kind}}","events":{{stored}},"batch":{{batchSize}},"seconds":{{seconds:F3}},"events_per_second":{{stored / seconds:F0}},"batch_ms_p50":{{latencies[latencies.Count / 2]:F2}},"batch_ms_p99":{{latencies[(int)(latencies.Count * 0.99)]:F2}},"tail_reader":{{(tail ? "true" : "false")}},"tailed":{{tailed}},"cpu_seconds":{{cpuSeconds:F3}},"load_average":"{{LoadAverage()}}"}"""));
    return stored == total && (!tail || tailed == total + batchSize) ? 0 : 1;
}
finally
{
    if (Directory.Exists(directory))
    {
        Directory.Delete(directory, recursive: true);
    }
}

static List<List<EgressEvent>> MakeBatches(int total, int batchSize)
{
    var start = DateTimeOffset.UtcNow;
    var batches = new List<List<EgressEvent>>();
    for (var i = 0; i < total; i += batchSize)
    {
        var batch = new List<EgressEvent>(batchSize);
        for (var j = i; j < Math.Min(total, i + batchSize); j++)
        {
            batch.Add(new EgressEvent
            {
                Type = j % 3 == 0 ? EgressEventType.Connection : EgressEventType.Request,
                Ts = start.AddMilliseconds(j),
                Session = "sbx_" + (j % 50).ToString("D2", CultureInfo.InvariantCulture),
                Id = EventIds.NewEventId(start.AddMilliseconds(j)),
                Conn = "conn_" + (j / 4).ToString(CultureInfo.InvariantCulture),
                Decision = j % 10 == 0 ? "deny" : "allow",
                Reason = j % 10 == 0 ? "default_deny" : "rule_allow",
                Rule = j % 10 == 0 ? null : new EventRule(j % 7, "allow", "rule-" + (j % 7).ToString(CultureInfo.InvariantCulture)),
                Mode = "enforce",
                Client = "127.0.0.1:" + (40000 + (j % 20000)).ToString(CultureInfo.InvariantCulture),
                Host = j % 2 == 0 ? "github.com" : "pypi.org",
                Port = 443,
                Scheme = "https",
                Method = j % 3 == 0 ? null : "GET",
                Path = j % 3 == 0 ? null : "/simple/package-" + (j % 1000).ToString(CultureInfo.InvariantCulture) + "/",
                Status = j % 3 == 0 ? null : 200,
                ResolvedIp = "140.82.112.3",
                Tls = "inspect",
            });
        }

        batches.Add(batch);
    }

    return batches;
}

static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

static (int Events, int Batch, bool Tail, string? Store)? ParseArgs(string[] args)
{
    int events = 200_000, batch = 500;
    var tail = true;
    string? store = null;
    for (var i = 0; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--events" when i + 1 < args.Length && int.TryParse(args[++i], CultureInfo.InvariantCulture, out events) && events > 0:
            case "--batch" when i + 1 < args.Length && int.TryParse(args[++i], CultureInfo.InvariantCulture, out batch) && batch > 0:
                break;
            case "--no-tail":
                tail = false;
                break;
            case "--store" when i + 1 < args.Length:
                store = args[++i];
                break;
            default:
                return null;
        }
    }

    return (events, batch, tail, store);
}
