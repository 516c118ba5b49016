using System.CommandLine;
using Airlock.Client;
using Airlock.Sandboxes.Local;

namespace Airlock.Cli.Remote;

/// <summary>Runs one command's work against the gateway, turning its failures into messages and exit codes.</summary>
internal static class RemoteCall
{
    public static async Task<int> RunAsync(
        GatewayOptions gateway,
        ParseResult parse,
        string verb,
        bool json,
        TextWriter stdout,
        TextWriter stderr,
        Func<AirlockClient, Task<int>> work,
        CancellationToken cancellationToken,
        string? policyFile = null)
    {
        if (!gateway.TryConnect(parse, verb, stderr, out var client))
        {
            return ExitCodes.Usage;
        }

        using (client)
        {
            try
            {
                return await work(client).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return LocalRun.InterruptedExitCode;
            }
            catch (Exception e) when (RemoteFailure.TryReport(e, verb, client.Server, json, stdout, stderr, out var exitCode, policyFile))
            {
                return exitCode;
            }
        }
    }
}
