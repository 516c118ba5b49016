namespace Airlock.Cli.Tests;

public sealed class KubernetesRenderTests
{
    private const string Policy = "version: 1\nname: k8s\negress:\n  - allow: api.openai.com\n    inject:\n      - header: Authorization\n        value: \"Bearer {{secret:OPENAI_API_KEY}}\"\n";

    [Fact]
    public async Task Render_prints_every_object_with_placeholder_secrets()
    {
        using var policy = new TempPolicy(Policy);

        var run = await CliRun.Of(
            "k8s", "render", "--topology", "proxy-pod", "--workload", "sandbox", "--session", "ses_cli", "--namespace", "agents",
            "--policy", policy.Path, "--image", "python:3.12", "--control-plane-namespace", "airlock-system", "--control-plane-selector", "app=airlock");

        Assert.Equal(0, run.ExitCode);
        var kinds = run.Stdout.Split('\n').Where(l => l.StartsWith("kind: ", StringComparison.Ordinal)).Select(l => l[6..]).ToList();
        Assert.Equal(["NetworkPolicy", "NetworkPolicy", "Secret", "Secret", "Pod", "Service", "Sandbox"], kinds);
        Assert.Contains("ca.key: \"<ca-key: generated per session>\"", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("secret-OPENAI_API_KEY: \"<secret OPENAI_API_KEY: supplied per session>\"", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_refuses_an_invalid_policy_with_its_location_and_exit_2()
    {
        using var policy = new TempPolicy("version: 1\nname: bad\negress:\n  - allow: api.github.com\n    prots: [443]\n");

        var run = await CliRun.Of("k8s", "render", "--session", "s1", "--namespace", "agents", "--policy", policy.Path, "--image", "python:3.12");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"{policy.Path}:5:", run.Stderr, StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
    }

    [Fact]
    public async Task Render_explains_a_combination_it_cannot_build()
    {
        using var policy = new TempPolicy(Policy);

        var run = await CliRun.Of(
            "k8s", "render", "--topology", "proxy-pod", "--network-mode", "none", "--session", "s1", "--namespace", "agents", "--policy", policy.Path, "--image", "python:3.12");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("bypass", run.Stderr, StringComparison.Ordinal);
    }
}
