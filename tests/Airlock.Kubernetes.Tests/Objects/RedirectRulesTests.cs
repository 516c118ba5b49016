using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Airlock.Kubernetes.Objects;

namespace Airlock.Kubernetes.Tests.Objects;

/// <summary>
/// The sidecar topology's redirect rules, applied by the real <c>nft</c> to a fresh network namespace (root, as the
/// init container is) and probed with real sockets: the workload's TCP goes to the proxy's transparent port with its
/// original destination intact, IPv4 and IPv6; its UDP is dropped except DNS to the resolver when DNS is allowed; the
/// proxy's own uid and loopback are left alone.
/// </summary>
public sealed class RedirectRulesTests : IDisposable
{
    private const int AgentUid = 1000;
    private const string Resolver = "192.0.2.53";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("airlock-redirect-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_rules_redirect_the_workloads_tcp_drop_its_udp_and_leave_the_proxy_alone(bool dns)
    {
        var results = await ProbeAsync(dns);

        Assert.Equal("connected", results["agent_tcp4"]);
        Assert.Equal("connected", results["agent_tcp6"]);
        Assert.Equal("EPERM", results["agent_udp4"]);
        Assert.Equal("EPERM", results["agent_udp6"]);
        Assert.Equal(dns ? "sent" : "EPERM", results["agent_dns_udp"]);
        Assert.Equal("ECONNREFUSED", results["agent_loopback"]);
        Assert.Equal("timeout", results["proxy_tcp4"]);
        Assert.Equal("sent", results["proxy_udp4"]);

        // Exactly the workload's two connections reached the proxy, each with its original destination.
        Assert.Equal(["203.0.113.5:80", "[2001:db8:1::5]:443"], JsonSerializer.Deserialize<string[]>(results["accepted"]) ?? []);
    }

    [Fact]
    public async Task Without_a_nameserver_the_rules_refuse_to_install_when_dns_is_allowed()
    {
        var (exit, _, stderr) = await RunInNamespaceAsync(dns: true, resolvConf: "search cluster.local\n");

        Assert.NotEqual(0, exit);
        Assert.Contains("no nameserver in /etc/resolv.conf", stderr, StringComparison.Ordinal);
    }

    private async Task<Dictionary<string, string>> ProbeAsync(bool dns)
    {
        var (exit, stdout, stderr) = await RunInNamespaceAsync(dns, $"nameserver {Resolver}\n");
        Assert.True(exit == 0, $"the probe failed ({exit}): {stderr}");
        using var json = JsonDocument.Parse(stdout);
        return json.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText());
    }

    /// <summary>A new network and mount namespace with a routed (but unanswered) interface, the rules, then the probe.</summary>
    private async Task<(int Exit, string Stdout, string Stderr)> RunInNamespaceAsync(bool dns, string resolvConf)
    {
        Assert.True(Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root" || GetUid() == 0, "these tests apply nft rules in a new network namespace and need root (CI runs as root)");
        var resolv = Path.Combine(_dir.FullName, "resolv.conf");
        await File.WriteAllTextAsync(resolv, resolvConf);
        var rules = Path.Combine(_dir.FullName, "redirect.sh");
        await File.WriteAllTextAsync(rules, SandboxPods.RedirectScript(dns));
        var probe = Path.Combine(AppContext.BaseDirectory, "Objects", "Redirect", "redirect_probe.py");
        var setup = string.Join('\n',
            "set -eu",
            "ip link set lo up",
            "ip link add v0 type veth peer name v1",
            "ip link set v1 up",
            "ip addr add 192.0.2.2/24 dev v0",
            "ip -6 addr add 2001:db8::2/64 dev v0 nodad",
            "ip link set v0 up",
            "ip route add default via 192.0.2.1",
            "ip -6 route add default via 2001:db8::1",
            $"mount --bind '{resolv}' /etc/resolv.conf",
            $"sh '{rules}'",
            string.Create(CultureInfo.InvariantCulture, $"exec python3 '{probe}' {SandboxObjects.TransparentProxyPort} {AgentUid} {SandboxObjects.ProxyUid} {Resolver}"));
        var start = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--net", "--mount", "sh", "-c", setup })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static uint GetUid() => uint.TryParse(File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], out var uid) ? uid : uint.MaxValue;
}
