using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Airlock.Proxy.Tests.Functional;

/// <summary>
/// A client host of our own for transparent-mode tests: a network namespace joined to this host by a veth
/// pair (10.213.N.0/30), whose TCP traffic to chosen ports is redirected by nftables on this host to the
/// proxy's transparent listener. Needs root, <c>ip</c> and <c>nft</c>; everything is removed on dispose.
/// </summary>
internal sealed class TestNetwork : IAsyncDisposable
{
    private static int _next;
    private readonly string _namespace;
    private readonly string _hostInterface;
    private readonly string _table;

    private TestNetwork(int id)
    {
        _namespace = $"airlock-t{Environment.ProcessId % 10000}-{id}";
        _hostInterface = $"alk{Environment.ProcessId % 10000}h{id}";
        _table = $"airlock_test_{Environment.ProcessId}_{id}";
        var subnet = 16 + (id % 200);
        HostAddress = IPAddress.Parse($"10.213.{subnet}.1");
        ClientAddress = IPAddress.Parse($"10.213.{subnet}.2");
    }

    /// <summary>This host's end of the link; the transparent listener binds here.</summary>
    public IPAddress HostAddress { get; }

    /// <summary>The client's address inside the namespace.</summary>
    public IPAddress ClientAddress { get; }

    /// <summary>Why transparent tests cannot run here, or null when they can.</summary>
    public static string? Unavailable =>
        !OperatingSystem.IsLinux() ? "not Linux"
        : !IsRoot() ? "needs root (CI runs as root)"
        : !File.Exists("/usr/sbin/nft") && !File.Exists("/sbin/nft") ? "nft is not installed (scripts/install-deps.sh installs nftables)"
        : !File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip") ? "ip is not installed"
        : null;

    public static async Task<TestNetwork> CreateAsync()
    {
        var network = new TestNetwork(Interlocked.Increment(ref _next));
        try
        {
            await network.SetUpAsync();
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }

        return network;
    }

    /// <summary>Redirects the namespace's TCP traffic to <paramref name="ports"/> (any address) to the proxy.</summary>
    public Task RedirectAsync(int proxyPort, params int[] ports) =>
        RunAsync("nft", ["-f", "-"], check: true, stdin: $$"""
            table ip {{_table}} {
              chain prerouting {
                type nat hook prerouting priority dstnat; policy accept;
                iifname "{{_hostInterface}}" tcp dport { {{string.Join(", ", ports)}} } redirect to :{{proxyPort}}
              }
            }
            """);

    /// <summary>Runs a command inside the namespace.</summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> ExecAsync(params string[] command) =>
        RunAsync("ip", ["netns", "exec", _namespace, .. command], check: false);

    public async ValueTask DisposeAsync()
    {
        await RunQuietlyAsync("nft", "delete", "table", "ip", _table);
        await RunQuietlyAsync("ip", "link", "delete", _hostInterface);
        await RunQuietlyAsync("ip", "netns", "delete", _namespace);
    }

    private async Task SetUpAsync()
    {
        var peer = _hostInterface[..^2] + "c" + _hostInterface[^1];
        await RunAsync("ip", "netns", "add", _namespace);
        await RunAsync("ip", "link", "add", _hostInterface, "type", "veth", "peer", "name", peer);
        await RunAsync("ip", "link", "set", peer, "netns", _namespace);
        await RunAsync("ip", "addr", "add", $"{HostAddress}/30", "dev", _hostInterface);
        await RunAsync("ip", "link", "set", _hostInterface, "up");
        await RunAsync("ip", "netns", "exec", _namespace, "ip", "addr", "add", $"{ClientAddress}/30", "dev", peer);
        await RunAsync("ip", "netns", "exec", _namespace, "ip", "link", "set", peer, "up");
        await RunAsync("ip", "netns", "exec", _namespace, "ip", "link", "set", "lo", "up");
        await RunAsync("ip", "netns", "exec", _namespace, "ip", "route", "add", "default", "via", HostAddress.ToString());
    }

    private static async Task RunQuietlyAsync(string file, params string[] args)
    {
        try
        {
            await RunAsync(file, args);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, params string[] args) => RunAsync(file, args, check: true);

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, string[] args, bool check, string? stdin = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        var result = (process.ExitCode, await stdout, await stderr);
        if (check && result.ExitCode != 0)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"{file} {string.Join(' ', args)} exited {result.ExitCode}: {result.Item3}"));
        }

        return result;
    }

    private static bool IsRoot()
    {
        try
        {
            return File.ReadAllText("/proc/self/status").Split('\n').Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0");
        }
        catch (IOException)
        {
            return false;
        }
    }
}
