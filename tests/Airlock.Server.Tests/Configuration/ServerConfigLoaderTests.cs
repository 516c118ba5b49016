using Airlock.Kubernetes.Objects;
using Airlock.Server.Configuration;

namespace Airlock.Server.Tests.Configuration;

public sealed class ServerConfigLoaderTests
{
    private const string Full = """
        listen: 0.0.0.0:8080
        control:
          listen: 0.0.0.0:7070
          endpoint: airlock.airlock-system.svc:7070
        store: sqlite:/var/lib/airlock/airlock.db
        driver: kubernetes
        kubernetes:
          namespace: agents
          image: "python:3.12"
          proxyImage: "ghcr.io/airlock-dev/airlock:0.1.0"
          topology: proxy-pod
          workload: sandbox
          warmPool: ""
          readyTimeout: 2m
          defaultTtl: 12h
          networkPolicy:
            mode: restricted
            dns: false
            allowSessionOverride: false
            ingressFrom:
              - namespace: routers
                podLabels:
                  app: router
          controlPlane:
            namespace: airlock-system
            podLabels:
              app.kubernetes.io/name: airlock
              app.kubernetes.io/instance: airlock
        """;

    [Fact]
    public void A_full_config_is_read_into_every_setting()
    {
        var result = ServerConfigLoader.Parse(Full, "config.yaml");

        Assert.Empty(result.Errors);
        var config = result.Config!;
        Assert.Equal(("0.0.0.0:8080", "0.0.0.0:7070", "airlock.airlock-system.svc:7070", "sqlite:/var/lib/airlock/airlock.db", GatewayDriver.Kubernetes),
            (config.Listen, config.ControlListen, config.ControlEndpoint, config.Store, config.Driver));
        var k = config.Kubernetes;
        Assert.Equal(("agents", "python:3.12", SandboxTopology.ProxyPod, WorkloadKind.Sandbox, (string?)null), (k.Namespace, k.Image, k.Topology, k.Workload, k.WarmPool));
        Assert.Equal((TimeSpan.FromMinutes(2), TimeSpan.FromHours(12), TimeSpan.FromHours(1)), (k.ReadyTimeout, k.DefaultTtl, k.IdleTimeout));
        Assert.Equal((NetworkMode.Restricted, false, false), (k.NetworkPolicy.Mode, k.NetworkPolicy.Dns, k.AllowSessionOverride));
        var router = Assert.Single(k.NetworkPolicy.IngressFrom);
        Assert.Equal(("routers", "router"), (router.Namespace, router.PodLabels["app"]));
        Assert.Equal(("airlock-system", 2), (k.ControlPlane!.Namespace, k.ControlPlane.PodLabels.Count));
    }

    [Fact]
    public void An_empty_file_is_the_defaults_loopback_and_local()
    {
        var config = ServerConfigLoader.Parse("", "empty.yaml").Config!;

        Assert.Equal((ServerConfig.DefaultListen, ServerConfig.DefaultControlListen, GatewayDriver.Local, (string?)null), (config.Listen, config.ControlListen, config.Driver, config.Store));
    }

    [Fact]
    public void Rate_limits_are_read_and_default_to_50_per_second_with_bursts_of_200()
    {
        var defaults = ServerConfigLoader.Parse("", "empty.yaml").Config!;
        var set = ServerConfigLoader.Parse("limits:\n  requestsPerSecond: 5\n  burst: 10\n", "c.yaml").Config!;

        Assert.Equal((50, 200), (defaults.RequestsPerSecond, defaults.RequestBurst));
        Assert.Equal((5, 10), (set.RequestsPerSecond, set.RequestBurst));
    }

    [Theory]
    [InlineData("lisen: 127.0.0.1:8080\n", "c.yaml:1:1: the config file: unknown key 'lisen'; did you mean 'listen'?")]
    [InlineData("listen: 8080\n", "c.yaml:1:9: listen: '8080' is not IP:PORT")]
    [InlineData("listen: example.com:80\n", "c.yaml:1:9: listen: 'example.com:80' is not IP:PORT")]
    [InlineData("driver: kubernetis\n", "c.yaml:1:9: driver: 'kubernetis' is not one of local, kubernetes; did you mean 'kubernetes'?")]
    [InlineData("control:\n  listen: 127.0.0.1:7070\n  endpoint: nowhere\n", "c.yaml:3:13: control.endpoint: 'nowhere' is not HOST:PORT")]
    [InlineData("kubernetes:\n  readyTimeout: 3 minutes\n", "c.yaml:2:17: kubernetes.readyTimeout: unknown duration unit ' minutes'; write a number and a unit")]
    [InlineData("kubernetes:\n  networkPolicy:\n    dns: maybe\n", "c.yaml:3:10: kubernetes.networkPolicy.dns: 'maybe' is not true or false")]
    [InlineData("kubernetes:\n  topology: sidecars\n", "did you mean 'sidecar'?")]
    [InlineData("kubernetes: [a, b]\n", "c.yaml:1:13: kubernetes must be a map")]
    [InlineData("listen: [unclosed\n", "c.yaml:2:1: not valid YAML")]
    [InlineData("limits:\n  burst: many\n", "c.yaml:2:10: limits.burst: 'many' is not a whole number from 1 to 1000000")]
    [InlineData("limits:\n  requestsPerSecond: 0\n", "c.yaml:2:22: limits.requestsPerSecond: '0' is not a whole number")]
    [InlineData("limits:\n  requestPerSecond: 5\n", "c.yaml:2:3: limits: unknown key 'requestPerSecond' (known: requestsPerSecond, burst)")]
    [InlineData("listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n", "c.yaml:2:1: not valid YAML: Duplicate key listen")]
    public void A_mistake_is_reported_at_its_line_and_column_with_a_suggestion(string text, string expected)
    {
        var result = ServerConfigLoader.Parse(text, "c.yaml");

        Assert.Null(result.Config);
        Assert.True(result.Errors.Any(e => e.Contains(expected, StringComparison.Ordinal)), string.Join("\n", result.Errors));
    }

    [Fact]
    public void Every_mistake_is_reported_at_once()
    {
        var result = ServerConfigLoader.Parse("lisen: x\ndriver: nope\nkubernetes:\n  imag: python\n", "c.yaml");

        Assert.Equal(3, result.Errors.Length);
        Assert.Equal(["c.yaml:1:1", "c.yaml:2:9", "c.yaml:4:3"], result.Errors.Select(e => string.Join(':', e.Split(':').Take(3))));
    }

    [Theory]
    [InlineData("driver: kubernetes\n", "kubernetes.namespace")]
    [InlineData("driver: kubernetes\nkubernetes:\n  namespace: a\n", "kubernetes.image")]
    [InlineData("driver: kubernetes\nkubernetes:\n  namespace: a\n  image: b\n  workload: claim\n", "kubernetes.warmPool")]
    [InlineData("driver: kubernetes\nkubernetes:\n  namespace: a\n  image: b\n  workload: claim\n  warmPool: p\n", "needs control.endpoint")]
    [InlineData("driver: kubernetes\ncontrol:\n  endpoint: a.b.svc:7070\nkubernetes:\n  namespace: a\n  image: b\n", "kubernetes.controlPlane")]
    public void The_kubernetes_driver_names_what_it_still_needs(string text, string needed)
    {
        var result = ServerConfigLoader.Parse(text, "c.yaml");

        Assert.Null(result.Config);
        Assert.Contains(result.Errors, e => e.Contains(needed, StringComparison.Ordinal) && e.StartsWith("c.yaml:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_file_that_cannot_be_read_is_one_error_naming_it()
    {
        var result = ServerConfigLoader.Load("/nonexistent/airlock/config.yaml");

        Assert.Null(result.Config);
        Assert.StartsWith("/nonexistent/airlock/config.yaml: cannot read the config file", Assert.Single(result.Errors), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1:8080", true)]
    [InlineData("[::]:0", true)]
    [InlineData("localhost:80", true)]
    [InlineData("::1:80", false)]
    [InlineData("127.0.0.1:65536", false)]
    [InlineData("127.0.0.1", false)]
    public void Listen_addresses_are_ip_and_port(string text, bool valid) =>
        Assert.Equal(valid, ServerConfigLoader.TryParseListen(text, out _));
}
