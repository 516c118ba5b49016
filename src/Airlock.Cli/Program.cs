using Airlock.Cli;

return await AirlockCommand.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
