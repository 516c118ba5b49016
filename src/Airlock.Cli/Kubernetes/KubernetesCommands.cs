using System.Collections.Immutable;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Airlock.Kubernetes.Objects;
using Airlock.Policy.Loading;

namespace Airlock.Cli.Kubernetes;

/// <summary><c>airlock k8s render | wait-proxy</c>.</summary>
internal static class KubernetesCommands
{
    public static Command Create(TextWriter stdout, TextWriter stderr, TimeProvider time) => new("k8s", "Kubernetes: render a sandbox's objects; helpers that run inside sandbox pods.")
    {
        CreateRender(stdout, stderr, time),
        CreateWaitProxy(stderr),
    };

    private static Command CreateRender(TextWriter stdout, TextWriter stderr, TimeProvider time)
    {
        var topology = new Option<string>("--topology") { Description = "sidecar or proxy-pod.", DefaultValueFactory = _ => "sidecar" };
        topology.AcceptOnlyFromAmong("sidecar", "proxy-pod");
        var workload = new Option<string>("--workload") { Description = "pod, sandbox (agent-sandbox Sandbox) or claim (SandboxClaim on a warm pool).", DefaultValueFactory = _ => "pod" };
        workload.AcceptOnlyFromAmong("pod", "sandbox", "claim");
        var warmPool = new Option<string?>("--warm-pool") { Description = "The SandboxWarmPool a claim takes its pod from." };
        var session = new Option<string>("--session") { Description = "The session id.", Required = true };
        var ns = new Option<string>("--namespace", "-n") { Description = "The namespace.", Required = true };
        var policy = new Option<string>("--policy") { Description = "The policy file (validated first).", Required = true };
        var image = new Option<string>("--image") { Description = "The workload's image.", Required = true };
        var proxyImage = new Option<string?>("--proxy-image") { Description = "The proxy's image." };
        var mode = new Option<string>("--network-mode") { Description = "none, restricted or custom.", DefaultValueFactory = _ => "restricted" };
        mode.AcceptOnlyFromAmong("none", "restricted", "custom");
        var dns = new Option<bool>("--dns") { Description = "Whether the workload may use the cluster's DNS.", DefaultValueFactory = _ => true };
        var planeNamespace = new Option<string?>("--control-plane-namespace") { Description = "The control plane's namespace (ingress to the sandbox, egress to its event endpoint)." };
        var planeSelector = new Option<string[]>("--control-plane-selector") { Description = "k=v: a label of the control plane's pods (repeatable)." };
        var control = new Option<string?>("--control") { Description = "HOST:PORT of the control plane's event endpoint, which the proxy dials." };
        var ttl = new Option<TimeSpan?>("--ttl") { Description = "The sandbox's lifetime, e.g. 24h.", CustomParser = Run.Durations.Parse };

        var command = new Command("render", "Print every object of one sandbox as multi-document YAML (Secrets with placeholders, never a key).")
        {
            topology, workload, warmPool, session, ns, policy, image, proxyImage, mode, dns, planeNamespace, planeSelector, control, ttl,
        };
        command.SetAction(parse =>
        {
            var policyFile = parse.GetRequiredValue(policy);
            var loaded = PolicyLoader.LoadFile(policyFile);
            foreach (var diagnostic in loaded.Diagnostics)
            {
                stderr.WriteLine(diagnostic.ToString());
            }

            if (loaded.Policy is not { } egressPolicy)
            {
                return ExitCodes.InvalidPolicy;
            }

            PeerSelector? plane = null;
            if (parse.GetValue(planeNamespace) is { } planeNs)
            {
                var labels = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
                foreach (var pair in parse.GetValue(planeSelector) ?? [])
                {
                    var equals = pair.IndexOf('=', StringComparison.Ordinal);
                    if (equals <= 0)
                    {
                        stderr.WriteLine($"airlock: --control-plane-selector: '{pair}' is not k=v");
                        return ExitCodes.Usage;
                    }

                    labels[pair[..equals]] = pair[(equals + 1)..];
                }

                plane = new PeerSelector(planeNs, labels.ToImmutable());
            }
            else if (parse.GetValue(planeSelector) is { Length: > 0 })
            {
                stderr.WriteLine("airlock: --control-plane-selector needs --control-plane-namespace");
                return ExitCodes.Usage;
            }

            var secretNames = egressPolicy.Egress.SelectMany(rule => rule.Inject).SelectMany(inject => inject.Value.SecretNames).Distinct(StringComparer.Ordinal);
            var spec = new KubernetesSandboxSpec
            {
                SessionId = parse.GetRequiredValue(session),
                Namespace = parse.GetRequiredValue(ns),
                PolicyText = File.ReadAllText(policyFile),
                Image = parse.GetRequiredValue(image),
                ProxyImage = parse.GetValue(proxyImage) ?? KubernetesSandboxSpec.DefaultProxyImage,
                InjectionSecrets = secretNames.ToImmutableSortedDictionary(name => name, name => $"<secret {name}: supplied per session>", StringComparer.Ordinal),
                CreatedAt = time.GetUtcNow(),
                Ttl = parse.GetValue(ttl) ?? TimeSpan.FromHours(24),
                Topology = parse.GetRequiredValue(topology) == "proxy-pod" ? SandboxTopology.ProxyPod : SandboxTopology.Sidecar,
                Workload = parse.GetRequiredValue(workload) switch
                {
                    "sandbox" => WorkloadKind.Sandbox,
                    "claim" => WorkloadKind.Claim,
                    _ => WorkloadKind.Pod,
                },
                WarmPool = parse.GetValue(warmPool),
                NetworkPolicy = new NetworkPolicySettings
                {
                    Mode = parse.GetRequiredValue(mode) switch
                    {
                        "none" => NetworkMode.None,
                        "custom" => NetworkMode.Custom,
                        _ => NetworkMode.Restricted,
                    },
                    Dns = parse.GetValue(dns),
                    IngressFrom = plane is null ? [] : [plane],
                },
                ControlEndpoint = parse.GetValue(control),
                ControlPlane = plane,
            };

            try
            {
                stdout.Write(SandboxObjects.Build(spec, SessionCaMaterial.Placeholder).ToYaml());
                return ExitCodes.Success;
            }
            catch (SandboxSpecException e)
            {
                stderr.WriteLine($"airlock: k8s render: {e.Message}");
                return ExitCodes.Usage;
            }
        });
        return command;
    }

    private static Command CreateWaitProxy(TextWriter stderr)
    {
        var address = new Option<string>("--address") { Description = "HOST:PORT of the proxy.", Required = true };
        var timeout = new Option<TimeSpan?>("--timeout") { Description = "How long to wait, e.g. 120s.", CustomParser = Run.Durations.Parse };
        var command = new Command("wait-proxy", "Wait until the sandbox's proxy accepts connections (the init step of a proxy-pod sandbox); exit 1 on timeout.")
        {
            address, timeout,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            var target = parse.GetRequiredValue(address);
            var colon = target.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(target.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is 0 or > 65535)
            {
                stderr.WriteLine($"airlock: --address: '{target}' is not HOST:PORT");
                return ExitCodes.Usage;
            }

            var host = target[..colon].Trim('[', ']');
            var limit = parse.GetValue(timeout) ?? TimeSpan.FromSeconds(120);
            var clock = Stopwatch.StartNew();
            string last = "no attempt";
            while (clock.Elapsed < limit)
            {
                try
                {
                    using var client = new TcpClient();
                    using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
                    attempt.CancelAfter(TimeSpan.FromSeconds(2));
                    await client.ConnectAsync(host, port, attempt.Token).ConfigureAwait(false);
                    return ExitCodes.Success;
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellation.IsCancellationRequested)
                {
                    last = e.Message;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellation).ConfigureAwait(false);
            }

            stderr.WriteLine($"airlock: k8s wait-proxy: {target} did not accept a connection within {limit.TotalSeconds:0}s ({last})");
            return ExitCodes.Usage;
        });
        return command;
    }
}
