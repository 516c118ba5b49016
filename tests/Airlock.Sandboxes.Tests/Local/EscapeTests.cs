using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Airlock.Sandboxes.Tests.Local;

/// <summary>
/// Escape attempts from inside a real <c>airlock run</c> sandbox; each must fail. They run as the current user
/// and, when that is root (CI), once more as an unprivileged user (nobody) through <c>setpriv</c>.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EscapeTests : IAsyncLifetime, IDisposable
{
    private readonly TcpListener _hostV4 = new(IPAddress.Loopback, 0);
    private readonly TcpListener _hostV6 = new(IPAddress.IPv6Loopback, 0);
    private int _accepted;
    private DirectoryInfo _directory = null!;
    private string? _temporary;

    public static TheoryData<string> Users() => IsRoot() ? ["current", "nobody"] : ["current"];

    public Task InitializeAsync()
    {
        _hostV4.Start();
        _hostV6.Start();
        _ = AcceptAsync(_hostV4);
        _ = AcceptAsync(_hostV6);
        // Not under /tmp: the sandbox has a private /tmp, which would hide the host's anyway.
        _directory = Directory.CreateDirectory(Path.Combine("/var/tmp", "airlock-escape-" + Guid.NewGuid().ToString("N")));
        UnixFileModeForAll(_directory.FullName);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _hostV4.Stop();
        _hostV6.Stop();
        _directory.Delete(recursive: true);
        if (_temporary is not null)
        {
            Directory.Delete(_temporary, recursive: true);
        }

        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _hostV4.Dispose();
        _hostV6.Dispose();
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task A_direct_connection_ignoring_the_proxy_has_no_network(string user)
    {
        var run = await RunAsync(user, $"curl -sS --max-time 3 --noproxy '*' http://127.0.0.1:{Port(_hostV4)}/ && echo ESCAPED; curl -sS --max-time 3 --noproxy '*' http://93.184.215.14/ && echo ESCAPED; exit 0");

        Assert.DoesNotContain("ESCAPED", run.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, Volatile.Read(ref _accepted));
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task The_hosts_loopback_is_unreachable_also_through_the_proxy(string user)
    {
        const string viaProxy = "--proxy http://127.0.0.1:3128 --noproxy ''";
        var run = await RunAsync(user, $"curl -sS --max-time 5 {viaProxy} http://127.0.0.1:{Port(_hostV4)}/x; echo; curl -sS --max-time 5 {viaProxy} -g 'http://[::1]:{Port(_hostV6)}/x'; echo; curl -sS --max-time 5 {viaProxy} https://127.0.0.1:{Port(_hostV4)}/ -o /dev/null -w '%{{http_connect}}\\n'");

        Assert.True(run.Stdout.Contains("\"reason\":\"default_deny\"", StringComparison.Ordinal), run.Stdout + run.Stderr);
        Assert.Contains("403", run.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, Volatile.Read(ref _accepted));
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task UDP_DNS_and_IPv6_go_nowhere(string user)
    {
        var run = await RunAsync(user, "(echo x > /dev/udp/8.8.8.8/53) 2>/dev/null && echo ESCAPED-UDP; (echo x > /dev/tcp/2606:4700:4700::1111/53) 2>/dev/null && echo ESCAPED-V6; getent hosts example.com && echo ESCAPED-DNS; ip link add dummy0 type dummy 2>/dev/null && echo ESCAPED-NETADMIN; exit 0");

        Assert.DoesNotContain("ESCAPED", run.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task Raw_packet_and_ping_sockets_are_refused(string user)
    {
        const string probe = """
            import socket
            def attempt(name, family, kind, proto, target):
                try:
                    s = socket.socket(family, kind, proto)
                except OSError as e:
                    print(name, "refused", e.errno)
                    return
                try:
                    s.sendto(b"\x08\x00\xf7\xff\x00\x00\x00\x00", target)
                    print("ESCAPED", name)
                except OSError as e:
                    print(name, "unsent", e.errno)
            attempt("raw", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP, ("8.8.8.8", 0))
            attempt("raw6", socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6, ("2001:4860:4860::8888", 0))
            attempt("packet", socket.AF_PACKET, socket.SOCK_RAW, 0, ("lo", 0))
            attempt("ping", socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP, ("8.8.8.8", 0))
            """;
        var script = Path.Combine(_directory.FullName, "probe-" + user + ".py");
        await File.WriteAllTextAsync(script, probe);
        UnixFileModeForAll(script);

        var run = await RunAsync(user, $"python3 {script}");

        Assert.DoesNotContain("ESCAPED", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("raw refused 1", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("raw6 refused 1", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("packet refused 1", run.Stdout, StringComparison.Ordinal);
        Assert.Matches("ping (refused|unsent) [0-9]+", run.Stdout);
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task The_CA_key_and_the_proxys_secrets_are_not_inside(string user)
    {
        var run = await RunAsync(user, "grep -rl 'PRIVATE KEY' /run/airlock /tmp 2>/dev/null && echo ESCAPED-KEY; env | grep -q canary-secret && echo ESCAPED-SECRET; for i in $(seq 200); do [ -S /run/airlock/proxy.sock ] && break; sleep 0.05; done; ls /run/airlock; exit 0", "--secret", $"TOKEN=@{SecretFile()}");

        Assert.DoesNotContain("ESCAPED", run.Stdout, StringComparison.Ordinal);
        Assert.True(run.Stdout.Contains("proxy.sock", StringComparison.Ordinal), run.Stdout + run.Stderr);
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task Hidden_paths_are_masked_and_the_system_is_read_only(string user)
    {
        var hidden = Path.Combine(_directory.FullName, "hidden");
        Directory.CreateDirectory(hidden);
        await File.WriteAllTextAsync(Path.Combine(hidden, "credentials"), "canary-hidden");
        UnixFileModeForAll(hidden);
        var policy = await PolicyAsync($"filesystem:\n  hidden: [\"{hidden}\"]\n");

        var run = await RunWithPolicyAsync(user, $"cat {hidden}/credentials 2>/dev/null; touch /usr/escaped 2>/dev/null && echo ESCAPED-USR; touch {_directory.FullName}/outside 2>/dev/null && echo ESCAPED-OUTSIDE; touch written && echo WORKDIR-OK; exit 0", policy);

        Assert.DoesNotContain("canary-hidden", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("ESCAPED", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("WORKDIR-OK", run.Stdout, StringComparison.Ordinal);
        Assert.False(File.Exists("/usr/escaped"));
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task Host_processes_are_invisible_and_cannot_be_signalled(string user)
    {
        var run = await RunAsync(user, $"kill -0 {Environment.ProcessId} 2>/dev/null && echo ESCAPED-SIGNAL; ls /proc | grep -c '^[0-9]'; exit 0");

        Assert.DoesNotContain("ESCAPED", run.Stdout, StringComparison.Ordinal);
        Assert.True(int.Parse(run.Stdout.Trim().Split('\n')[^1], System.Globalization.CultureInfo.InvariantCulture) < 10, run.Stdout);
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task A_timeout_ends_the_whole_tree_with_124_and_leaves_nothing_behind(string user)
    {
        var marker = "airlock-escape-" + Guid.NewGuid().ToString("N")[..8];

        var run = await RunAsync(user, $"(sleep 300; echo {marker}) & sleep 300", "--timeout", "2s");

        Assert.Equal(124, run.ExitCode);
        using var pgrep = Process.Start(new ProcessStartInfo("pgrep", ["-f", marker]) { RedirectStandardOutput = true })!;
        await pgrep.WaitForExitAsync();
        Assert.Equal(1, pgrep.ExitCode);
        Assert.DoesNotContain(Directory.GetDirectories(Path.GetTempPath(), "airlock-session-*"), d => Directory.GetCreationTimeUtc(d) > DateTime.UtcNow.AddMinutes(-1) && !HasLiveSocket(d));
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task Nothing_inside_survives_the_death_of_airlock_run(string user)
    {
        var marker = "airlock-orphan-" + Guid.NewGuid().ToString("N")[..8];

        // A killed run cannot remove its session directory: keep it in ours rather than in the shared /tmp.
        // Short: the proxy's socket path inside it must fit a unix socket address.
        _temporary = Directory.CreateDirectory(Path.Combine("/var/tmp", "al-k-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        UnixFileModeForAll(_temporary);
        var run = RunAsync(user, $"(sleep 300; echo {marker}-child) > /dev/null 2>&1 & sleep 300; echo {marker}-main");
        Assert.True(await WaitForAsync(async () => await AnyProcessAsync("^sh -c .*" + marker)), "the sandboxed command never started");

        // SIGKILL: no handler runs in airlock; only the kernel (--die-with-parent, the pid namespace) cleans up.
        using (var kill = Process.Start("pkill", ["-KILL", "-f", "airlock.dll run --policy .*" + marker])!)
        {
            await kill.WaitForExitAsync();
        }

        Assert.Equal(137, (await run).ExitCode);
        Assert.True(await WaitForAsync(async () => !await AnyProcessAsync("^sh -c .*" + marker)), "a sandboxed process outlived airlock run");
        Assert.Single(Directory.GetDirectories(_temporary, "airlock-session-*"));
    }

    private static async Task<bool> AnyProcessAsync(string pattern)
    {
        using var pgrep = Process.Start(new ProcessStartInfo("pgrep", ["-f", pattern]) { RedirectStandardOutput = true })!;
        await pgrep.WaitForExitAsync();
        return pgrep.ExitCode == 0;
    }

    private static async Task<bool> WaitForAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 150; i++)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task The_exit_code_is_the_commands(string user)
    {
        var run = await RunAsync(user, "exit 42");

        Assert.Equal(42, run.ExitCode);
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string user, string script, params string[] options) =>
        await RunWithPolicyAsync(user, script, await PolicyAsync(string.Empty), options);

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunWithPolicyAsync(string user, string script, string policy, params string[] options)
    {
        var workdir = Directory.CreateDirectory(Path.Combine(_directory.FullName, "work-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        UnixFileModeForAll(workdir);
        var events = Path.Combine(_directory.FullName, Guid.NewGuid().ToString("N") + ".ndjson");
        var start = new ProcessStartInfo(user == "nobody" ? "setpriv" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (user == "nobody")
        {
            foreach (var arg in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "dotnet" })
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["HOME"] = _directory.FullName;
            start.Environment["DOTNET_CLI_HOME"] = _directory.FullName;
        }

        if (_temporary is not null)
        {
            start.Environment["TMPDIR"] = _temporary;
        }

        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "airlock.dll"), "run", "--policy", policy, "--workdir", workdir, "--events", events, "--quiet" }.Concat(options).Concat(["--", "sh", "-c", script]))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    private async Task<string> PolicyAsync(string extra)
    {
        var path = Path.Combine(_directory.FullName, Guid.NewGuid().ToString("N") + ".yaml");
        await File.WriteAllTextAsync(path, "version: 1\negress:\n  - allow: example.com\n" + extra);
        UnixFileModeForAll(path);
        return path;
    }

    private string SecretFile()
    {
        var path = Path.Combine(_directory.FullName, "secret");
        File.WriteAllText(path, "canary-secret-value");
        UnixFileModeForAll(path);
        return path;
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        try
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync();
                Interlocked.Increment(ref _accepted);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    private static int Port(TcpListener listener) => ((IPEndPoint)listener.LocalEndpoint).Port;

    private static bool HasLiveSocket(string directory) => File.Exists(Path.Combine(directory, "public", "proxy.sock"));

    private static void UnixFileModeForAll(string path) =>
        File.SetUnixFileMode(path, Directory.Exists(path)
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute
            : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

    private static bool IsRoot() =>
        File.ReadAllLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0");
}
