// The sandbox lifecycle through the gateway's API: create (waiting for ready) → exec `true` (buffered) → delete,
// against a real `airlock serve` process with the local driver, timed per phase and end to end.
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

var airlock = Arg("--airlock") ?? Path.GetFullPath("artifacts/aot/airlock");
var runs = int.Parse(Arg("--runs") ?? "30", CultureInfo.InvariantCulture);
var warmup = int.Parse(Arg("--warmup") ?? "3", CultureInfo.InvariantCulture);
if (!File.Exists(airlock))
{
    Console.Error.WriteLine($"no airlock binary at {airlock} (bench/gateway/run.sh publishes one; or --airlock PATH)");
    return 2;
}

var work = Directory.CreateDirectory(Path.Combine("/var/tmp", "al-gwb-" + Guid.NewGuid().ToString("N")[..6]));
var store = $"sqlite:{work.FullName}/airlock.db";
var environment = new Dictionary<string, string> { ["AIRLOCK_STATE_DIR"] = Path.Combine(work.FullName, "s") };
try
{
    var token = (await RunAsync(airlock, ["token", "create", "--scope", "admin", "--store", store], environment)).Trim();
    using var serve = Start(airlock, ["serve", "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0", "--store", store], environment);
    var started = await serve.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("airlock serve printed nothing");
    var api = new Uri(started.Split(' ')[3]);
    using var http = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromSeconds(120) };
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

    var create = new List<double>();
    var exec = new List<double>();
    var delete = new List<double>();
    var total = new List<double>();
    for (var i = 0; i < warmup + runs; i++)
    {
        var clock = Stopwatch.StartNew();
        using var created = await http.PostAsync(new Uri("/v1/sandboxes", UriKind.Relative), Json("{\"policy\":\"version: 1\\n\"}"));
        var body = await created.Content.ReadAsStringAsync();
        if (!created.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"create: {(int)created.StatusCode} {body}");
        }

        var id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
        var afterCreate = clock.Elapsed.TotalMilliseconds;
        using var ran = await http.PostAsync(new Uri($"/v1/sandboxes/{id}/exec?buffered=true", UriKind.Relative), Json("{\"command\":[\"true\"]}"));
        var result = JsonDocument.Parse(await ran.Content.ReadAsStringAsync()).RootElement;
        if (!ran.IsSuccessStatusCode || result.GetProperty("exit").GetInt32() != 0)
        {
            throw new InvalidOperationException($"exec: {(int)ran.StatusCode} {result}");
        }

        var afterExec = clock.Elapsed.TotalMilliseconds;
        using var deleted = await http.DeleteAsync(new Uri($"/v1/sandboxes/{id}", UriKind.Relative));
        if (!deleted.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"delete: {(int)deleted.StatusCode}");
        }

        var end = clock.Elapsed.TotalMilliseconds;
        if (i >= warmup)
        {
            create.Add(afterCreate);
            exec.Add(afterExec - afterCreate);
            delete.Add(end - afterExec);
            total.Add(end);
        }
    }

    serve.Kill(entireProcessTree: true);
    Console.WriteLine($"{runs} runs after {warmup} warm-up, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
    Console.WriteLine("| phase | p50 ms | p90 ms | p99 ms | max ms |");
    Console.WriteLine("|---|---|---|---|---|");
    foreach (var (name, values) in new[] { ("create (ready)", create), ("exec `true`", exec), ("delete", delete), ("create → exec → delete", total) })
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {Percentile(values, 50):0.0} | {Percentile(values, 90):0.0} | {Percentile(values, 99):0.0} | {values.Max():0.0} |"));
    }

    return 0;
}
finally
{
    work.Delete(recursive: true);
}

string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

static double Percentile(List<double> values, int percentile)
{
    var sorted = values.Order().ToArray();
    return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Length) - 1, 0, sorted.Length - 1)];
}

static Process Start(string file, string[] arguments, Dictionary<string, string> environment)
{
    var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = false, UseShellExecute = false };
    foreach (var argument in arguments)
    {
        info.ArgumentList.Add(argument);
    }

    foreach (var (key, value) in environment)
    {
        info.Environment[key] = value;
    }

    return Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
}

static async Task<string> RunAsync(string file, string[] arguments, Dictionary<string, string> environment)
{
    using var process = Start(file, arguments, environment);
    var output = await process.StandardOutput.ReadToEndAsync();
    await process.WaitForExitAsync();
    return process.ExitCode == 0 ? output : throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited {process.ExitCode}");
}
