using System.CommandLine;
using Airlock.Cli.Demo;
using Airlock.Cli.Kubernetes;
using Airlock.Cli.Policies;
using Airlock.Cli.Proxy;
using Airlock.Cli.Remote;
using Airlock.Cli.Run;
using Airlock.Cli.Sandbox;
using Airlock.Cli.Serve;
using Airlock.Cli.Tokens;

namespace Airlock.Cli;

/// <summary>The <c>airlock</c> command tree.</summary>
internal static class AirlockCommand
{
    /// <summary>Parses and runs a command line, writing to the given streams.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr) =>
        RunAsync(args, stdout, stderr, Environment.GetEnvironmentVariable, CancellationToken.None);

    /// <summary>Parses and runs a command line with the given environment (<c>AIRLOCK_SERVER</c>, <c>AIRLOCK_TOKEN</c>), until it ends or is cancelled.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Func<string, string?> environment, CancellationToken cancellationToken)
    {
        var root = new RootCommand("Airlock runs untrusted agent code in sandboxes whose egress goes through a policy-enforcing proxy.")
        {
            PolicyCommands.Create(stdout, stderr, environment),
            DemoCommand.Create(stdout, stderr),
            ProxyCommand.Create(stdout, stderr),
            RunCommand.Create(stdout, stderr),
            SandboxCommands.Create(stdout, stderr, environment),
            ApprovalCommands.Create(stdout, stderr, environment),
            KubernetesCommands.Create(stdout, stderr, TimeProvider.System),
            ServeCommand.Create(stdout, stderr),
            TokenCommand.Create(stdout, stderr),
        };

        var configuration = new InvocationConfiguration { Output = stdout, Error = stderr };
        return await root.Parse(args).InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }
}
