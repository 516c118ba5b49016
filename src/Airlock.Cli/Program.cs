using Airlock.Cli;
using Airlock.Cli.Run;
using Airlock.Cli.Sandbox;

// The sandbox's init and agent are on every sandbox's start path: skip building the command tree for them.
if (args is [SandboxInit.Verb, "--", ..])
{
    return await SandboxInit.RunAsync(args[2..], Console.Error).ConfigureAwait(false);
}

if (args is [SandboxProcesses.AgentVerb, ..])
{
    return await SandboxProcesses.RunAgentAsync(args[1..]).ConfigureAwait(false);
}

if (args is [SandboxProcesses.SupervisorVerb, var stateDirectory])
{
    return await SandboxProcesses.RunSupervisorAsync(stateDirectory).ConfigureAwait(false);
}

return await AirlockCommand.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
