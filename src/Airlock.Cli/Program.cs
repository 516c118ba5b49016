using Airlock.Cli;
using Airlock.Cli.Run;

// The sandbox's init is on every sandbox's start path: skip building the command tree for it.
if (args is [SandboxInit.Verb, "--", ..])
{
    return await SandboxInit.RunAsync(args[2..], Console.Error).ConfigureAwait(false);
}

return await AirlockCommand.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
