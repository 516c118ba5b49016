using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using Airlock.Kubernetes.Objects;
using Airlock.Policy.Loading;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Airlock.Server.Configuration;

/// <summary>What <see cref="ServerConfigLoader.Parse"/> found: the settings, or every problem as <c>file:line:col: message</c>.</summary>
/// <param name="Config">The settings, when there were no errors.</param>
/// <param name="Errors">The problems, in file order.</param>
public sealed record ServerConfigResult(ServerConfig? Config, ImmutableArray<string> Errors);

/// <summary>
/// Reads the gateway's YAML config file. Unknown keys, wrong types and bad values are errors with their
/// position and, where one is close, the key that was probably meant; nothing is silently ignored.
/// </summary>
public static class ServerConfigLoader
{
    private static readonly string[] TopKeys = ["listen", "control", "store", "driver", "kubernetes", "limits"];
    private static readonly string[] LimitKeys = ["requestsPerSecond", "burst"];
    private static readonly string[] ControlKeys = ["listen", "endpoint"];
    private static readonly string[] KubernetesKeys =
        ["kubeconfig", "namespace", "image", "proxyImage", "topology", "workload", "warmPool", "readyTimeout", "defaultTtl", "idleTimeout", "reconcileInterval", "networkPolicy", "controlPlane"];

    private static readonly string[] NetworkPolicyKeys = ["mode", "dns", "allowSessionOverride", "ingressFrom"];
    private static readonly string[] PeerKeys = ["namespace", "podLabels"];

    /// <summary>Parses a config file's text.</summary>
    /// <param name="text">The YAML.</param>
    /// <param name="file">The file name errors are reported against.</param>
    /// <returns>The settings or the errors; never throws on bad input.</returns>
    public static ServerConfigResult Parse(string text, string file)
    {
        ArgumentNullException.ThrowIfNull(text);
        var reader = new Reader(file);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            reader.Error(e.Start, "not valid YAML: " + e.Message.Split('\n')[0]);
            return new ServerConfigResult(null, reader.Errors);
        }

        var config = new ServerConfig();
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" or "~" })
        {
            return new ServerConfigResult(config, []);
        }

        if (stream.Documents.Count > 1)
        {
            reader.Error(stream.Documents[1].RootNode.Start, "a config file holds one YAML document");
        }

        if (reader.Mapping(stream.Documents[0].RootNode, "the config file", TopKeys) is { } root)
        {
            config = reader.Top(root, config);
        }

        return reader.Errors.IsEmpty ? new ServerConfigResult(config, []) : new ServerConfigResult(null, reader.Errors);
    }

    /// <summary>Reads and parses a config file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The settings or the errors (a file that cannot be read is one error).</returns>
    public static ServerConfigResult Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            return Parse(File.ReadAllText(path), path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ServerConfigResult(null, [$"{path}: cannot read the config file: {e.Message}"]);
        }
    }

    /// <summary>Whether <paramref name="text"/> is <c>HOST:PORT</c> with an IP address (IPv6 in brackets) and a port from 0 to 65535.</summary>
    public static bool TryParseListen(string text, out IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(text);
        endPoint = null!;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            return false;
        }

        var host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        else if (host.Contains(':', StringComparison.Ordinal))
        {
            return false;
        }

        if (host == "localhost")
        {
            host = "127.0.0.1";
        }

        if (!IPAddress.TryParse(host, out var address))
        {
            return false;
        }

        endPoint = new IPEndPoint(address, port);
        return true;
    }

    private sealed class Reader(string file)
    {
        private readonly ImmutableArray<string>.Builder _errors = ImmutableArray.CreateBuilder<string>();

        public ImmutableArray<string> Errors => _errors.ToImmutable();

        public void Error(Mark at, string message) =>
            _errors.Add(string.Create(CultureInfo.InvariantCulture, $"{file}:{at.Line}:{at.Column}: {message}"));

        public ServerConfig Top(YamlMappingNode root, ServerConfig config)
        {
            foreach (var (keyNode, value) in root.Children)
            {
                var key = ((YamlScalarNode)keyNode).Value!;
                switch (key)
                {
                    case "listen":
                        config = config with { Listen = Address(value, "listen") ?? config.Listen };
                        break;
                    case "store":
                        config = config with { Store = Text(value, "store") };
                        break;
                    case "driver":
                        config = config with { Driver = Enum(value, "driver", ["local", "kubernetes"]) == "kubernetes" ? GatewayDriver.Kubernetes : GatewayDriver.Local };
                        break;
                    case "control" when Mapping(value, "control", ControlKeys) is { } control:
                        foreach (var (k, v) in control.Children)
                        {
                            config = ((YamlScalarNode)k).Value == "listen"
                                ? config with { ControlListen = Address(v, "control.listen") ?? config.ControlListen }
                                : config with { ControlEndpoint = Endpoint(v, "control.endpoint") };
                        }

                        break;
                    case "kubernetes" when Mapping(value, "kubernetes", KubernetesKeys) is { } kubernetes:
                        config = config with { Kubernetes = Kubernetes(kubernetes) };
                        break;
                    case "limits" when Mapping(value, "limits", LimitKeys) is { } limits:
                        foreach (var (k, v) in limits.Children)
                        {
                            config = ((YamlScalarNode)k).Value == "burst"
                                ? config with { RequestBurst = Count(v, "limits.burst") ?? config.RequestBurst }
                                : config with { RequestsPerSecond = Count(v, "limits.requestsPerSecond") ?? config.RequestsPerSecond };
                        }

                        break;
                }
            }

            if (config.Driver == GatewayDriver.Kubernetes)
            {
                RequireForKubernetes(root, config);
            }

            return config;
        }

        private void RequireForKubernetes(YamlMappingNode root, ServerConfig config)
        {
            var at = root.Children.FirstOrDefault(c => ((YamlScalarNode)c.Key).Value == "driver").Value?.Start ?? root.Start;
            if (config.Kubernetes.Namespace is null)
            {
                Error(at, "driver kubernetes needs kubernetes.namespace (where sandboxes are created)");
            }

            if (config.Kubernetes.Image is null)
            {
                Error(at, "driver kubernetes needs kubernetes.image (the default workload image)");
            }

            if (config.Kubernetes.Workload == WorkloadKind.Claim && string.IsNullOrEmpty(config.Kubernetes.WarmPool))
            {
                Error(at, "kubernetes.workload claim needs kubernetes.warmPool (the SandboxWarmPool to claim from)");
            }

            if (config.ControlEndpoint is not null && config.Kubernetes.ControlPlane is null)
            {
                Error(at, "control.endpoint needs kubernetes.controlPlane (the control plane's namespace and pod labels), so the sandboxes' NetworkPolicies let their proxies reach it");
            }

            if (config.Kubernetes.Workload == WorkloadKind.Claim && config.ControlEndpoint is null)
            {
                Error(at, "kubernetes.workload claim needs control.endpoint: a claimed pod's proxy gets its session's policy from the control plane");
            }
        }

        private KubernetesGatewayConfig Kubernetes(YamlMappingNode node)
        {
            var k = new KubernetesGatewayConfig();
            foreach (var (keyNode, value) in node.Children)
            {
                var key = ((YamlScalarNode)keyNode).Value!;
                var name = "kubernetes." + key;
                k = key switch
                {
                    "kubeconfig" => k with { Kubeconfig = Text(value, name) },
                    "namespace" => k with { Namespace = Text(value, name) },
                    "image" => k with { Image = Text(value, name) },
                    "proxyImage" => k with { ProxyImage = Text(value, name) ?? k.ProxyImage },
                    "topology" => k with { Topology = Enum(value, name, ["sidecar", "proxy-pod"]) == "proxy-pod" ? SandboxTopology.ProxyPod : SandboxTopology.Sidecar },
                    "workload" => k with { Workload = Enum(value, name, ["pod", "sandbox", "claim"]) switch { "sandbox" => WorkloadKind.Sandbox, "claim" => WorkloadKind.Claim, _ => WorkloadKind.Pod } },
                    "warmPool" => k with { WarmPool = Text(value, name) is { Length: > 0 } pool ? pool : null },
                    "readyTimeout" => k with { ReadyTimeout = Duration(value, name) ?? k.ReadyTimeout },
                    "defaultTtl" => k with { DefaultTtl = Duration(value, name) ?? k.DefaultTtl },
                    "idleTimeout" => k with { IdleTimeout = Duration(value, name) ?? k.IdleTimeout },
                    "reconcileInterval" => k with { ReconcileInterval = Duration(value, name) ?? k.ReconcileInterval },
                    "controlPlane" => k with { ControlPlane = Peer(value, name) },
                    _ => NetworkPolicy(value, k),
                };
            }

            return k;
        }

        private KubernetesGatewayConfig NetworkPolicy(YamlNode value, KubernetesGatewayConfig k)
        {
            if (Mapping(value, "kubernetes.networkPolicy", NetworkPolicyKeys) is not { } node)
            {
                return k;
            }

            var settings = NetworkPolicySettings.Default;
            foreach (var (keyNode, v) in node.Children)
            {
                var key = ((YamlScalarNode)keyNode).Value!;
                var name = "kubernetes.networkPolicy." + key;
                switch (key)
                {
                    case "mode":
                        settings = settings with { Mode = Enum(v, name, ["restricted", "none", "custom"]) switch { "none" => NetworkMode.None, "custom" => NetworkMode.Custom, _ => NetworkMode.Restricted } };
                        break;
                    case "dns":
                        settings = settings with { Dns = Bool(v, name) ?? settings.Dns };
                        break;
                    case "allowSessionOverride":
                        k = k with { AllowSessionOverride = Bool(v, name) ?? k.AllowSessionOverride };
                        break;
                    default:
                        if (v is YamlSequenceNode peers)
                        {
                            settings = settings with { IngressFrom = [.. peers.Children.Select(p => Peer(p, name)).OfType<PeerSelector>()] };
                        }
                        else
                        {
                            Error(v.Start, $"{name} must be a list of {{namespace, podLabels}}");
                        }

                        break;
                }
            }

            return k with { NetworkPolicy = settings };
        }

        private PeerSelector? Peer(YamlNode value, string name)
        {
            if (Mapping(value, name, PeerKeys) is not { } node)
            {
                return null;
            }

            string? ns = null;
            var labels = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
            foreach (var (keyNode, v) in node.Children)
            {
                if (((YamlScalarNode)keyNode).Value == "namespace")
                {
                    ns = Text(v, name + ".namespace");
                }
                else if (v is YamlMappingNode map)
                {
                    foreach (var (lk, lv) in map.Children)
                    {
                        if (lk is YamlScalarNode { Value: { } labelKey } && lv is YamlScalarNode { Value: { } labelValue })
                        {
                            labels[labelKey] = labelValue;
                        }
                        else
                        {
                            Error(lk.Start, $"{name}.podLabels: labels are text keys with text values");
                        }
                    }
                }
                else
                {
                    Error(v.Start, $"{name}.podLabels must be a map of labels");
                }
            }

            if (ns is null)
            {
                Error(node.Start, $"{name} needs a namespace");
                return null;
            }

            return new PeerSelector(ns, labels.ToImmutable());
        }

        public YamlMappingNode? Mapping(YamlNode node, string name, string[] keys)
        {
            if (node is not YamlMappingNode mapping)
            {
                Error(node.Start, $"{name} must be a map");
                return null;
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            var clean = true;
            foreach (var key in mapping.Children.Keys)
            {
                if (key is not YamlScalarNode { Value: { } text })
                {
                    Error(key.Start, $"{name}: keys are plain words");
                    clean = false;
                    continue;
                }

                if (!keys.Contains(text, StringComparer.Ordinal))
                {
                    var suggestion = Suggestions.Closest(text, keys);
                    Error(key.Start, $"{name}: unknown key '{text}'" + (suggestion is null ? $" (known: {string.Join(", ", keys)})" : $"; did you mean '{suggestion}'?"));
                    clean = false;
                }
                else if (!seen.Add(text))
                {
                    Error(key.Start, $"{name}: '{text}' appears twice");
                    clean = false;
                }
            }

            // Unknown keys are reported; the known ones are still read, so every mistake shows at once.
            return clean ? mapping : Filtered(mapping, keys);
        }

        private static YamlMappingNode Filtered(YamlMappingNode mapping, string[] keys)
        {
            var filtered = new YamlMappingNode();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (key, value) in mapping.Children)
            {
                if (key is YamlScalarNode { Value: { } text } && keys.Contains(text, StringComparer.Ordinal) && seen.Add(text))
                {
                    filtered.Add(key, value);
                }
            }

            return filtered;
        }

        private string? Text(YamlNode node, string name)
        {
            if (node is YamlScalarNode scalar)
            {
                return scalar.Value is null or "~" or "null" && scalar.Style == ScalarStyle.Plain ? null : scalar.Value;
            }

            Error(node.Start, $"{name} must be text");
            return null;
        }

        private string? Enum(YamlNode node, string name, string[] allowed)
        {
            var text = Text(node, name);
            if (text is null || allowed.Contains(text, StringComparer.Ordinal))
            {
                return text;
            }

            var suggestion = Suggestions.Closest(text, allowed);
            Error(node.Start, $"{name}: '{text}' is not one of {string.Join(", ", allowed)}" + (suggestion is null ? string.Empty : $"; did you mean '{suggestion}'?"));
            return null;
        }

        private int? Count(YamlNode node, string name)
        {
            var text = Text(node, name);
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count is > 0 and <= 1_000_000)
            {
                return count;
            }

            Error(node.Start, $"{name}: '{text}' is not a whole number from 1 to 1000000");
            return null;
        }

        private bool? Bool(YamlNode node, string name) => Text(node, name) switch
        {
            "true" => true,
            "false" => false,
            var other => Invalid<bool?>(node, $"{name}: '{other}' is not true or false"),
        };

        private TimeSpan? Duration(YamlNode node, string name)
        {
            var text = Text(node, name);
            if (text is null)
            {
                return null;
            }

            if (DurationSyntax.TryParse(text, out var duration, out var error) && duration > TimeSpan.Zero)
            {
                return duration;
            }

            Error(node.Start, $"{name}: {error ?? "must be more than zero"}");
            return null;
        }

        private string? Address(YamlNode node, string name)
        {
            var text = Text(node, name);
            if (text is null || TryParseListen(text, out _))
            {
                return text;
            }

            Error(node.Start, $"{name}: '{text}' is not IP:PORT (for example 127.0.0.1:8080, 0.0.0.0:8080 or [::]:8080)");
            return null;
        }

        private string? Endpoint(YamlNode node, string name)
        {
            var text = Text(node, name);
            var colon = text?.LastIndexOf(':') ?? -1;
            if (text is null || (colon > 0 && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535))
            {
                return text;
            }

            Error(node.Start, $"{name}: '{text}' is not HOST:PORT (for example airlock.airlock-system.svc:7070)");
            return null;
        }

        private T Invalid<T>(YamlNode node, string message)
        {
            Error(node.Start, message);
            return default!;
        }
    }
}
