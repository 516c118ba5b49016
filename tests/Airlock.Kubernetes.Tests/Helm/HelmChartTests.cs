using System.Text.Json.Nodes;
using System.Xml.Linq;
using Airlock.Kubernetes.Tests.Verification;

namespace Airlock.Kubernetes.Tests.Helm;

/// <summary>
/// The chart through the real helm: lint, the schema's refusals, and every object <c>helm template</c> renders for
/// each value set checked by the strict Kubernetes 1.35 schemas and Pod Security <c>restricted</c>.
/// </summary>
public sealed class HelmChartTests
{
    public static TheoryData<string> ValueSets() => HelmChart.Names();

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Helm_lint_strict_passes(string valueSet)
    {
        var lint = await HelmChart.RunWithValuesAsync(HelmChart.ValueSets[valueSet], "lint", HelmBinary.ChartDirectory, "--namespace", HelmChart.ReleaseNamespace);
        var strict = await HelmChart.RunWithValuesAsync(HelmChart.ValueSets[valueSet], "lint", HelmBinary.ChartDirectory, "--strict", "--namespace", HelmChart.ReleaseNamespace);

        Assert.True(lint.ExitCode == 0, lint.Output);
        Assert.True(strict.ExitCode == 0, strict.Output);
        Assert.Contains("0 chart(s) failed", strict.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Every_rendered_object_passes_the_official_schemas(string valueSet)
    {
        var objects = await HelmChart.ObjectsAsync(valueSet);

        var errors = objects.SelectMany(o => KubernetesValidator.Validate(o).Select(e => $"{o["kind"]} {o["metadata"]?["name"]}: {e}")).ToList();

        Assert.True(errors.Count == 0, string.Join("\n", errors));
        Assert.Contains(objects, o => (string?)o["kind"] == "Deployment");
        Assert.All(objects, o => Assert.False(string.IsNullOrEmpty((string?)o["metadata"]?["namespace"]), $"{o["kind"]} {o["metadata"]?["name"]} has no namespace"));
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task The_control_plane_pod_passes_pod_security_restricted_with_a_read_only_root(string valueSet)
    {
        var deployment = HelmChart.Single(await HelmChart.ObjectsAsync(valueSet), "Deployment");
        var pod = deployment["spec"]!["template"]!["spec"]!;
        var container = Assert.Single(pod["containers"]!.AsArray())!;

        var violations = PodSecurityRestricted.Check(deployment);

        Assert.True(violations.Count == 0, string.Join("\n", violations));
        Assert.Equal((65532L, 65532L), ((long)pod["securityContext"]!["runAsUser"]!, (long)pod["securityContext"]!["runAsGroup"]!));
        Assert.True((bool)container["securityContext"]!["readOnlyRootFilesystem"]!);
        Assert.True((bool)pod["automountServiceAccountToken"]!);
        Assert.NotNull(container["resources"]?["requests"]?["memory"]);
        Assert.NotNull(container["resources"]?["limits"]?["memory"]);
        Assert.Equal(["/etc/airlock", "/var/lib/airlock", "/tmp"], container["volumeMounts"]!.AsArray().Select(m => (string)m!["mountPath"]!));
        Assert.Equal(["airlock", "serve", "--config", "/etc/airlock/config.yaml"], container["args"]!.AsArray().Select(a => (string)a!));
        Assert.Equal([("http", 8080L), ("control", 7070L)], container["ports"]!.AsArray().Select(p => ((string)p!["name"]!, (long)p["containerPort"]!)));
        Assert.Equal(("/healthz", "/readyz"), ((string?)container["livenessProbe"]?["httpGet"]?["path"], (string?)container["readinessProbe"]?["httpGet"]?["path"]));
    }

    [Fact]
    public async Task The_config_file_carries_the_contract_from_the_values()
    {
        var defaults = Config(await HelmChart.ObjectsAsync("defaults"));
        var separate = Config(await HelmChart.ObjectsAsync("separate-namespace"));
        var claim = Config(await HelmChart.ObjectsAsync("claim-warm-pool"));
        var postgres = await HelmChart.ObjectsAsync("postgres");

        Assert.Equal("0.0.0.0:8080", (string?)defaults["listen"]);
        Assert.Equal(("0.0.0.0:7070", "airlock.airlock-system.svc:7070"), ((string?)defaults["control"]!["listen"], (string?)defaults["control"]!["endpoint"]));
        Assert.Equal("sqlite:/var/lib/airlock/airlock.db", (string?)defaults["store"]);
        Assert.Equal("kubernetes", (string?)defaults["driver"]);
        var k8s = defaults["kubernetes"]!;
        Assert.Equal(
            ("airlock-system", "python:3.12-slim", "ghcr.io/airlock-dev/airlock:0.1.0", "sidecar", "pod", "", "3m", "24h"),
            ((string?)k8s["namespace"], (string?)k8s["image"], (string?)k8s["proxyImage"], (string?)k8s["topology"], (string?)k8s["workload"], (string?)k8s["warmPool"], (string?)k8s["readyTimeout"], (string?)k8s["defaultTtl"]));
        Assert.Equal(("restricted", true, true), ((string?)k8s["networkPolicy"]!["mode"], (bool)k8s["networkPolicy"]!["dns"]!, (bool)k8s["networkPolicy"]!["allowSessionOverride"]!));
        Assert.Equal("airlock-system", (string?)k8s["controlPlane"]!["namespace"]);
        var deployment = HelmChart.Single(await HelmChart.ObjectsAsync("defaults"), "Deployment");
        Assert.True(JsonNode.DeepEquals(deployment["spec"]!["selector"]!["matchLabels"], k8s["controlPlane"]!["podLabels"]));

        Assert.Equal(("agents", "proxy-pod"), ((string?)separate["kubernetes"]!["namespace"], (string?)separate["kubernetes"]!["topology"]));
        Assert.Equal("routers", (string?)separate["kubernetes"]!["networkPolicy"]!["ingressFrom"]![0]!["namespace"]);
        Assert.Equal("router", (string?)separate["kubernetes"]!["networkPolicy"]!["ingressFrom"]![0]!["podLabels"]!["app"]);
        Assert.Equal(("claim", "python"), ((string?)claim["kubernetes"]!["workload"], (string?)claim["kubernetes"]!["warmPool"]));

        Assert.Null(Config(postgres)["store"]);
        var env = HelmChart.Single(postgres, "Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray();
        var store = Assert.Single(env, e => (string?)e!["name"] == "AIRLOCK_STORE")!;
        Assert.Equal(("airlock-db", "url"), ((string?)store["valueFrom"]!["secretKeyRef"]!["name"], (string?)store["valueFrom"]!["secretKeyRef"]!["key"]));
        Assert.Contains(env, e => (string?)e!["name"] == "AIRLOCK_BOOTSTRAP_ADMIN_TOKEN");
    }

    [Fact]
    public async Task Data_lives_in_a_claim_with_persistence_and_a_bounded_emptyDir_without()
    {
        var persistent = await HelmChart.ObjectsAsync("persistence");
        var ephemeral = await HelmChart.ObjectsAsync("defaults");

        var claim = HelmChart.Single(persistent, "PersistentVolumeClaim");
        Assert.Equal(("5Gi", "standard"), ((string?)claim["spec"]!["resources"]!["requests"]!["storage"], (string?)claim["spec"]!["storageClassName"]));
        Assert.Equal(claim["metadata"]!["name"]!.ToString(), Volume(persistent, "data")["persistentVolumeClaim"]!["claimName"]!.ToString());
        Assert.DoesNotContain(ephemeral, o => (string?)o["kind"] == "PersistentVolumeClaim");
        Assert.Equal("1Gi", (string?)Volume(ephemeral, "data")["emptyDir"]!["sizeLimit"]);
        Assert.Equal("64Mi", (string?)Volume(ephemeral, "tmp")["emptyDir"]!["sizeLimit"]);
        Assert.Equal("Recreate", (string?)HelmChart.Single(ephemeral, "Deployment")["spec"]!["strategy"]!["type"]);
    }

    [Fact]
    public async Task The_service_account_mounts_no_token_and_the_image_follows_the_values()
    {
        var objects = await HelmChart.ObjectsAsync("network-policy-disabled");

        Assert.False((bool)HelmChart.Single(objects, "ServiceAccount")["automountServiceAccountToken"]!);
        var pod = HelmChart.Single(objects, "Deployment")["spec"]!["template"]!["spec"]!;
        Assert.Equal("ghcr.io/airlock-dev/airlock:dev", (string?)pod["containers"]![0]!["image"]);
        Assert.Equal("regcred", (string?)pod["imagePullSecrets"]![0]!["name"]);
        Assert.DoesNotContain(objects, o => (string?)o["kind"] == "NetworkPolicy");
    }

    [Fact]
    public async Task Two_replicas_on_sqlite_fail_with_a_message_saying_what_to_change()
    {
        var template = await HelmChart.RunWithValuesAsync("replicaCount: 2\n", "template", HelmChart.ReleaseName, HelmBinary.ChartDirectory);
        var install = await HelmChart.RunWithValuesAsync("replicaCount: 2\n", "install", HelmChart.ReleaseName, HelmBinary.ChartDirectory, "--dry-run=client");
        var withPostgres = await HelmChart.RunWithValuesAsync("replicaCount: 2\nstore:\n  postgres:\n    existingSecret: db\n", "template", HelmChart.ReleaseName, HelmBinary.ChartDirectory);

        Assert.NotEqual(0, template.ExitCode);
        Assert.Contains("replicaCount is 2 but the store is SQLite", template.Stderr, StringComparison.Ordinal);
        Assert.Contains("store.postgres.existingSecret", template.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, install.ExitCode);
        Assert.Contains("replicaCount is 2 but the store is SQLite", install.Stderr, StringComparison.Ordinal);
        Assert.True(withPostgres.ExitCode == 0, withPostgres.Output);
    }

    [Theory]
    [InlineData("kubernetes:\n  topology: sidecars\n", "/kubernetes/topology")]
    [InlineData("kubernetes:\n  workload: job\n", "/kubernetes/workload")]
    [InlineData("kubernetes:\n  networkPolicy:\n    mode: open\n", "/kubernetes/networkPolicy/mode")]
    [InlineData("replicaCount: \"1\"\n", "/replicaCount")]
    [InlineData("networkPolicy:\n  enabled: \"yes\"\n", "/networkPolicy/enabled")]
    [InlineData("persistence:\n  enable: true\n", "/persistence")]
    [InlineData("kubernetes:\n  readyTimeout: 180\n", "/kubernetes/readyTimeout")]
    public async Task The_schema_rejects_wrong_types_unknown_keys_and_unknown_enum_values(string values, string location)
    {
        var lint = await HelmChart.RunWithValuesAsync(values, "lint", HelmBinary.ChartDirectory);
        var template = await HelmChart.RunWithValuesAsync(values, "template", HelmChart.ReleaseName, HelmBinary.ChartDirectory);

        Assert.NotEqual(0, lint.ExitCode);
        Assert.Contains($"at '{location}'", lint.Output, StringComparison.Ordinal);
        Assert.NotEqual(0, template.ExitCode);
        Assert.Contains($"at '{location}'", template.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("kubernetes:\n  workload: claim\n", "kubernetes.warmPool is empty")]
    [InlineData("kubernetes:\n  warmPool: python\n", "a warm pool is used only with workload claim")]
    [InlineData("kubernetes:\n  workload: claim\n  warmPool: python\n  topology: proxy-pod\n", "claim needs kubernetes.topology sidecar")]
    [InlineData("kubernetes:\n  topology: proxy-pod\n  networkPolicy:\n    mode: none\n", "mode none cannot be used with the proxy-pod topology")]
    [InlineData("kubernetes:\n  workload: sandbox\nrbac:\n  agentSandbox: false\n", "rbac.agentSandbox is false")]
    public async Task Combinations_the_driver_cannot_build_fail_rendering(string values, string message)
    {
        var template = await HelmChart.RunWithValuesAsync(values, "template", HelmChart.ReleaseName, HelmBinary.ChartDirectory);

        Assert.NotEqual(0, template.ExitCode);
        Assert.Contains(message, template.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_chart_app_version_is_the_products_version()
    {
        var chart = YamlDocuments.Parse(await File.ReadAllTextAsync(Path.Combine(HelmBinary.ChartDirectory, "Chart.yaml")))[0];
        var props = XDocument.Load(Path.Combine(HelmBinary.RepositoryRoot, "Directory.Build.props"));
        var version = props.Descendants("Version").Single().Value;

        Assert.Equal(version, (string?)chart["appVersion"]);
        Assert.Equal(("v2", "0.1.0"), ((string?)chart["apiVersion"], (string?)chart["version"]));
    }

    [Fact]
    public async Task Notes_tell_how_to_create_the_first_admin_token_and_warn_about_ephemeral_data()
    {
        var install = await HelmBinary.RunAsync("install", HelmChart.ReleaseName, HelmBinary.ChartDirectory, "--namespace", HelmChart.ReleaseNamespace, "--dry-run=client");
        var persistent = await HelmChart.RunWithValuesAsync(HelmChart.ValueSets["persistence"], "install", HelmChart.ReleaseName, HelmBinary.ChartDirectory, "--namespace", HelmChart.ReleaseNamespace, "--dry-run=client");

        Assert.True(install.ExitCode == 0, install.Output);
        Assert.Contains("kubectl -n airlock-system exec deploy/airlock -- airlock token create --scope admin", install.Stdout, StringComparison.Ordinal);
        Assert.Contains("WARNING: persistence.enabled is false", install.Stdout, StringComparison.Ordinal);
        Assert.True(persistent.ExitCode == 0, persistent.Output);
        Assert.DoesNotContain("WARNING: persistence.enabled is false", persistent.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task The_gateway_accepts_the_rendered_config_file(string valueSet)
    {
        var map = HelmChart.Single(await HelmChart.ObjectsAsync(valueSet), "ConfigMap");

        var result = Airlock.Server.Configuration.ServerConfigLoader.Parse((string)map["data"]!["config.yaml"]!, "config.yaml");

        Assert.True(result.Errors.IsEmpty, string.Join('\n', result.Errors));
        Assert.Equal(Airlock.Server.Configuration.GatewayDriver.Kubernetes, result.Config!.Driver);
        Assert.NotNull(result.Config.ControlEndpoint);
        Assert.NotNull(result.Config.Kubernetes.ControlPlane);
    }

    private static JsonNode Config(IReadOnlyList<JsonNode> objects)
    {
        var map = HelmChart.Single(objects, "ConfigMap");
        return Assert.Single(YamlDocuments.Parse((string)map["data"]!["config.yaml"]!));
    }

    private static JsonNode Volume(IReadOnlyList<JsonNode> objects, string name) =>
        Assert.Single(HelmChart.Single(objects, "Deployment")["spec"]!["template"]!["spec"]!["volumes"]!.AsArray(), v => (string?)v!["name"] == name)!;
}
