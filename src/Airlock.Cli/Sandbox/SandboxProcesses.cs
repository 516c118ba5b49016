using Airlock.Sandboxes.Agent;
using Airlock.Sandboxes.Local;

namespace Airlock.Cli.Sandbox;

/// <summary>
/// The hidden verbs behind <c>airlock sandbox</c>: <c>sandbox-supervise DIR</c> (the host-side process of one
/// sandbox, started detached by <c>sandbox create</c>) and <c>sandbox-agent</c> (inside the sandbox, speaking
/// the agent protocol on its standard input and output). Not for people.
/// </summary>
internal static class SandboxProcesses
{
    public const string AgentVerb = LocalSandboxSupervisor.SandboxAgentVerb;

    public const string SupervisorVerb = LocalSandboxSupervisor.Verb;

    public static async Task<int> RunSupervisorAsync(string stateDirectory)
    {
        if (!Directory.Exists(stateDirectory))
        {
            await System.Console.Error.WriteLineAsync($"airlock {SupervisorVerb}: no directory '{stateDirectory}'").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        var announce = new StreamWriter(System.Console.OpenStandardOutput());
        await using (announce.ConfigureAwait(false))
        {
            return await LocalSandboxSupervisor.RunAsync(stateDirectory, System.Console.OpenStandardInput(), announce, System.Console.Error).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// <c>sandbox-agent --workdir DIR [--root DIR]… [--wrap ARG]…</c>: the bridge to the proxy, then the agent on
    /// stdin/stdout; the <c>--wrap</c> arguments go before every command (the per-process limits).
    /// </summary>
    public static async Task<int> RunAgentAsync(string[] argv)
    {
        string? workDirectory = null;
        var roots = new List<string>();
        var wrap = new List<string>();
        for (var i = 0; i + 1 < argv.Length; i += 2)
        {
            switch (argv[i])
            {
                case "--workdir":
                    workDirectory = argv[i + 1];
                    break;
                case "--root":
                    roots.Add(argv[i + 1]);
                    break;
                case "--wrap":
                    wrap.Add(argv[i + 1]);
                    break;
                default:
                    await System.Console.Error.WriteLineAsync($"airlock {AgentVerb}: unknown argument '{argv[i]}'").ConfigureAwait(false);
                    return ExitCodes.Usage;
            }
        }

        if (workDirectory is null || argv.Length % 2 != 0)
        {
            await System.Console.Error.WriteLineAsync($"airlock {AgentVerb}: usage: {AgentVerb} --workdir DIR [--root DIR]...").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        await using var bridge = SandboxBridge.Start(SandboxLayout.ProxySocket);
        await SandboxAgent.RunAsync(System.Console.OpenStandardInput(), System.Console.OpenStandardOutput(), workDirectory, roots, wrap, CancellationToken.None).ConfigureAwait(false);
        return ExitCodes.Success;
    }
}
