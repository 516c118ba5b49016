using System.CommandLine;
using System.CommandLine.Parsing;
using Airlock.Cli.Run;
using Airlock.Kubernetes.Driver;
using Airlock.Kubernetes.Objects;
using Airlock.Sandboxes;
using Airlock.Sandboxes.Local;

namespace Airlock.Cli.Sandbox;

/// <summary>
/// <c>--driver local|kubernetes</c> and the options of the Kubernetes driver (<c>--kubeconfig</c>,
/// <c>--namespace</c>, <c>--image</c>, <c>--topology</c>, <c>--workload</c>), shared by every sandbox command.
/// </summary>
internal sealed class DriverSelection
{
    private static readonly string[] Names = [LocalSandboxDriver.DriverName, KubernetesSandboxDriver.DriverName];

    private readonly Option<string> _driver = new("--driver")
    {
        Description = $"The sandbox driver ({string.Join(", ", Names)}).",
        DefaultValueFactory = _ => LocalSandboxDriver.DriverName,
        CustomParser = result => result.Tokens.Count == 0 ? LocalSandboxDriver.DriverName
            : Names.Contains(result.Tokens[0].Value) ? result.Tokens[0].Value
            : Fail(result, $"unknown driver '{result.Tokens[0].Value}' (available: {string.Join(", ", Names)})"),
    };

    private readonly Option<string?> _kubeconfig = new("--kubeconfig") { Description = "kubernetes: the kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)." };
    private readonly Option<string> _namespace = new("--namespace") { Description = "kubernetes: the namespace.", DefaultValueFactory = _ => "default" };
    private readonly Option<string> _image = new("--image") { Description = "kubernetes: the workload image.", DefaultValueFactory = _ => "python:3.12-slim" };
    private readonly Option<string> _topology = new("--topology")
    {
        Description = "kubernetes: sidecar or proxy-pod.",
        DefaultValueFactory = _ => "sidecar",
        CustomParser = result => result.Tokens is [{ Value: "sidecar" or "proxy-pod" } token] ? token.Value : result.Tokens.Count == 0 ? "sidecar" : Fail(result, "--topology is sidecar or proxy-pod"),
    };

    private readonly Option<string> _workload = new("--workload")
    {
        Description = "kubernetes: pod or sandbox (agent-sandbox Sandbox).",
        DefaultValueFactory = _ => "pod",
        CustomParser = result => result.Tokens is [{ Value: "pod" or "sandbox" } token] ? token.Value : result.Tokens.Count == 0 ? "pod" : Fail(result, "--workload is pod or sandbox"),
    };

    public void AddTo(Command command)
    {
        command.Options.Add(_driver);
        command.Options.Add(_kubeconfig);
        command.Options.Add(_namespace);
        command.Options.Add(_image);
        command.Options.Add(_topology);
        command.Options.Add(_workload);
    }

    /// <summary>Whether the command line names a driver or any of its options (which a gateway's sandboxes do not take).</summary>
    public bool AnyGiven(ParseResult parse) =>
        new Option[] { _driver, _kubeconfig, _namespace, _image, _topology, _workload }.Any(o => parse.GetResult(o) is { Implicit: false });

    /// <summary>The driver the command line names.</summary>
    /// <exception cref="SandboxException">The Kubernetes configuration cannot be read.</exception>
    public ISandboxDriver Create(ParseResult parse)
    {
        if (parse.GetRequiredValue(_driver) == LocalSandboxDriver.DriverName)
        {
            return new LocalSandboxDriver(new LocalDriverOptions
            {
                StateDirectory = LocalDriverOptions.DefaultStateDirectory(),
                AirlockCommand = RunCommand.SelfCommand(),
            });
        }

        return new KubernetesSandboxDriver(new KubernetesDriverOptions
        {
            Client = KubernetesClients.Create(parse.GetValue(_kubeconfig)),
            Namespace = parse.GetRequiredValue(_namespace),
            Image = parse.GetRequiredValue(_image),
            Topology = parse.GetRequiredValue(_topology) == "proxy-pod" ? SandboxTopology.ProxyPod : SandboxTopology.Sidecar,
            Workload = parse.GetRequiredValue(_workload) == "sandbox" ? WorkloadKind.Sandbox : WorkloadKind.Pod,
        });
    }

    private static string Fail(ArgumentResult result, string message)
    {
        result.AddError(message);
        return string.Empty;
    }
}
