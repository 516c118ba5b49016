using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Airlock.Policy.Loading;
using Airlock.Proxy.Certificates;
using Airlock.Proxy.Control;
using Airlock.Proxy.Events;
using Airlock.Proxy.Hosting;
using Airlock.Proxy.Metrics;
using Microsoft.Extensions.Logging;

namespace Airlock.Cli.Proxy;

/// <summary><c>airlock proxy</c>: run the egress proxy for one session until Ctrl-C or SIGTERM.</summary>
internal static class ProxyCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var policy = new Option<string>("--policy") { Description = "The policy file.", Required = true };
        var listen = new Option<string?>("--listen") { Description = "Explicit proxy address (HTTP_PROXY / CONNECT), IP:PORT.", DefaultValueFactory = _ => "127.0.0.1:3128" };
        var transparent = new Option<string?>("--transparent-listen") { Description = "Address for connections redirected by nftables/iptables, IP:PORT." };
        var unix = new Option<string?>("--unix") { Description = "Also listen on this unix socket (explicit proxy)." };
        var session = new Option<string?>("--session") { Description = "Session id written into events (default: a random one)." };
        var caDir = new Option<string?>("--ca-dir") { Description = "Use ca.crt and ca.key here, or create them (key 0600)." };
        var caCert = new Option<string?>("--ca-cert") { Description = "CA certificate (PEM), with --ca-key." };
        var caKey = new Option<string?>("--ca-key") { Description = "CA private key (PEM), with --ca-cert." };
        var caCertOut = new Option<string?>("--ca-cert-out") { Description = "Write the CA certificate (never the key) here, for clients to trust." };
        var lifetime = new Option<TimeSpan?>("--session-lifetime") { Description = "Lifetime of a created session CA, e.g. 24h.", CustomParser = Run.Durations.Parse };
        var upstreamCa = new Option<string?>("--upstream-ca") { Description = "Extra CA bundle (PEM) trusted for upstream TLS, besides the system roots." };
        var resolve = new Option<string[]>("--resolve") { Description = "HOST=IP[:PORT]: resolve HOST to IP instead of DNS, and dial PORT if given (the address checks still apply; repeatable)." };
        var secret = new Option<string[]>("--secret") { Description = "NAME=@file or NAME=env:VAR: a secret for 'inject' (repeatable)." };
        var events = new Option<string?>("--events") { Description = "Write NDJSON events to FILE, or '-' for stdout.", DefaultValueFactory = _ => "-" };
        var metrics = new Option<string?>("--metrics") { Description = "Serve Prometheus metrics at http://ADDR/metrics." };
        var control = new Option<string?>("--control") { Description = "Dial out to a control plane (HOST:PORT or unix:/path): events, asks, policy updates." };

        var command = new Command("proxy", "Run the egress proxy for one session (until Ctrl-C or SIGTERM; SIGHUP reloads the policy file).")
        {
            policy, listen, transparent, unix, session, caDir, caCert, caKey, caCertOut, lifetime, upstreamCa, resolve, secret, events, metrics, control,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            void Usage(string message) => stderr.WriteLine($"airlock proxy: {message}");

            // A proxy process starts no commands, so the runtime switch it sets is inherited by nothing.
            InlineSocketCompletions.Enable();

            var policyPath = parse.GetRequiredValue(policy);
            var loaded = PolicyLoader.LoadFile(policyPath);
            foreach (var diagnostic in loaded.Diagnostics)
            {
                stderr.WriteLine(diagnostic.ToString());
            }

            if (loaded.Policy is null)
            {
                return ExitCodes.InvalidPolicy;
            }

            IPEndPoint? Endpoint(Option<string?> option, out bool ok)
            {
                ok = true;
                if (parse.GetValue(option) is not { Length: > 0 } text)
                {
                    return null;
                }

                if (ListenAddress.TryParse(text, out var endpoint, out var error))
                {
                    return endpoint;
                }

                Usage($"{option.Name}: {error}");
                ok = false;
                return null;
            }

            var listenEndpoint = Endpoint(listen, out var okListen);
            var transparentEndpoint = Endpoint(transparent, out var okTransparent);
            var metricsEndpoint = Endpoint(metrics, out var okMetrics);
            if (!okListen || !okTransparent || !okMetrics)
            {
                return ExitCodes.Usage;
            }

            if (!ResolveOverrides.TryParse(parse.GetValue(resolve) ?? [], out var overrides, out var resolvePorts, out var resolveError))
            {
                Usage($"--resolve: {resolveError}");
                return ExitCodes.Usage;
            }

            if (!SecretSources.TryRead(parse.GetValue(secret) ?? [], out var secrets, out var secretError))
            {
                Usage($"--secret: {secretError}");
                return ExitCodes.Usage;
            }

            ControlEndpoint? controlEndpoint = null;
            if (parse.GetValue(control) is { } controlText && !ControlEndpoint.TryParse(controlText, out controlEndpoint, out var controlError))
            {
                Usage($"--control: {controlError}");
                return ExitCodes.Usage;
            }

            var sessionId = parse.GetValue(session) ?? "ses_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
            SessionCertificateAuthority ca;
            X509Certificate2Collection upstreamRoots = [];
            try
            {
                ca = (parse.GetValue(caDir), parse.GetValue(caCert), parse.GetValue(caKey)) switch
                {
                    ({ } dir, null, null) => SessionCertificateAuthority.LoadOrCreateInDirectory(dir, sessionId, parse.GetValue(lifetime) ?? TimeSpan.FromHours(24)),
                    (null, { } cert, { } key) => SessionCertificateAuthority.Load(cert, key),
                    (null, null, null) => SessionCertificateAuthority.Create(sessionId, parse.GetValue(lifetime) ?? TimeSpan.FromHours(24)),
                    _ => throw new CertificateAuthorityException("give either --ca-dir, or both --ca-cert and --ca-key"),
                };
                if (parse.GetValue(upstreamCa) is { } bundle)
                {
                    upstreamRoots.ImportFromPemFile(bundle);
                }
            }
            catch (Exception e) when (e is CertificateAuthorityException or IOException or CryptographicException or UnauthorizedAccessException)
            {
                Usage(e.Message);
                return ExitCodes.Usage;
            }

            using (ca)
            {
                if (parse.GetValue(caCertOut) is { } certOut)
                {
                    ca.WriteCertificate(certOut);
                }

                var eventsPath = parse.GetValue(events) ?? "-";
                var proxyMetrics = new ProxyMetrics();
                var sink = NdjsonEventSink.Open(eventsPath, metrics: proxyMetrics);
                await using (sink.ConfigureAwait(false))
                {
                    var leaves = new LeafCertificateCache(ca);
                    using var logging = LoggerFactory.Create(builder => builder
                        .SetMinimumLevel(LogLevel.Warning)
                        .AddSimpleConsole(o => o.SingleLine = true)
                        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
                    var options = new ProxyOptions
                    {
                        Policy = loaded.Policy,
                        SessionId = sessionId,
                        LeafCertificates = leaves.GetContext,
                        Events = sink,
                        Listen = listenEndpoint,
                        TransparentListen = transparentEndpoint,
                        UnixSocketPath = parse.GetValue(unix),
                        MetricsListen = metricsEndpoint,
                        Resolve = overrides,
                        ResolvePorts = resolvePorts,
                        UpstreamRoots = upstreamRoots,
                        Secrets = name => secrets.GetValueOrDefault(name),
                        Control = controlEndpoint,
                        Metrics = proxyMetrics,
                        LoggerFactory = logging,
                    };

                    ProxyServer server;
                    try
                    {
                        server = await ProxyServer.StartAsync(options, cancellationToken).ConfigureAwait(false);
                    }
                    catch (IOException e)
                    {
                        Usage($"cannot listen: {e.Message}");
                        return ExitCodes.Usage;
                    }

                    await using (server.ConfigureAwait(false))
                    {
                        using var reload = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
                        {
                            context.Cancel = true;
                            var next = PolicyLoader.LoadFile(policyPath);
                            foreach (var diagnostic in next.Diagnostics)
                            {
                                stderr.WriteLine(diagnostic.ToString());
                            }

                            if (next.Policy is null)
                            {
                                stderr.WriteLine("airlock proxy: the new policy is invalid; keeping the current one");
                                return;
                            }

                            server.ReplacePolicy(next.Policy);
                            stderr.WriteLine($"airlock proxy: policy reloaded from {policyPath}");
                        });

                        stderr.WriteLine($"airlock proxy: session {sessionId}, policy {policyPath}, listening on {Describe(options, server)}");
                        try
                        {
                            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                            stderr.WriteLine("airlock proxy: stopping");
                        }
                    }
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static string Describe(ProxyOptions options, ProxyServer server)
    {
        var parts = new List<string>();
        if (options.Listen is { } listen)
        {
            parts.Add($"{(listen.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{listen.Address}]" : listen.Address)}:{server.Port ?? listen.Port}");
        }

        if (options.UnixSocketPath is { } unix)
        {
            parts.Add($"unix:{unix}");
        }

        if (options.TransparentListen is { } transparent)
        {
            parts.Add($"transparent {transparent}");
        }

        if (options.MetricsListen is { } metrics)
        {
            parts.Add($"metrics http://{metrics}/metrics");
        }

        return string.Join(", ", parts);
    }
}
