using System.CommandLine;
using System.Text.Json;
using Airlock.Cli.Console;
using Airlock.Cli.Sandbox;
using Airlock.Client;

namespace Airlock.Cli.Remote;

/// <summary><c>airlock approvals ls|approve|deny</c>: the held <c>ask</c> decisions of a gateway's sandboxes.</summary>
internal static class ApprovalCommands
{
    public static Command Create(TextWriter stdout, TextWriter stderr, Func<string, string?> environment) =>
        new("approvals", "Requests held by 'ask' rules, waiting for a decision (needs a gateway: --server or AIRLOCK_SERVER).")
        {
            ListCommand(stdout, stderr, environment),
            DecideCommand(stdout, stderr, environment, ApprovalDecision.Approve),
            DecideCommand(stdout, stderr, environment, ApprovalDecision.Deny),
        };

    private static Command ListCommand(TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        var gateway = new GatewayOptions(environment);
        var output = SandboxCommands.OutputOption();
        var session = new Option<string?>("--sandbox") { Description = "Only this sandbox's." };
        var command = new Command("ls", "List pending approvals, oldest first.") { session, output };
        gateway.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var json = parse.GetValue(output) == "json";
            return await RemoteCall.RunAsync(gateway, parse, "approvals ls", json, stdout, stderr, async client =>
            {
                var pending = await client.ListApprovalsAsync(parse.GetValue(session), cancellationToken).ConfigureAwait(false);
                if (json)
                {
                    stdout.WriteLine(JsonSerializer.Serialize([.. pending.Select(ApprovalOutput.From)], RemoteJson.Default.ApprovalOutputArray));
                    return ExitCodes.Success;
                }

                if (pending.Count == 0)
                {
                    stderr.WriteLine("airlock: no pending approvals");
                    return ExitCodes.Success;
                }

                var now = DateTimeOffset.UtcNow;
                TextTable.Write(stdout, ["ID", "SANDBOX", "DESTINATION", "RULE", "WAITING", "EXPIRES IN"], pending.Select(a => new[]
                {
                    a.Id, a.Session, $"{a.Host}:{a.Port}", a.Rule ?? "-", TextTable.Age(now - a.RequestedAt), TextTable.Age(a.ExpiresAt - now),
                }));
                return ExitCodes.Success;
            }, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private static Command DecideCommand(TextWriter stdout, TextWriter stderr, Func<string, string?> environment, ApprovalDecision decision)
    {
        var gateway = new GatewayOptions(environment);
        var output = SandboxCommands.OutputOption();
        var id = new Argument<string>("ID") { Description = "The approval's id (airlock approvals ls)." };
        var approve = decision == ApprovalDecision.Approve;
        var sessionWide = new Option<bool>("--session-wide") { Description = "Approve for the rest of the sandbox's life: its policy gets an allow rule for this host and port." };
        var command = approve
            ? new Command("approve", "Let a held request through.") { sessionWide, output, id }
            : new Command("deny", "Refuse a held request.") { output, id };
        gateway.AddTo(command);
        var verb = approve ? "approvals approve" : "approvals deny";
        command.SetAction(async (parse, cancellationToken) =>
        {
            var json = parse.GetValue(output) == "json";
            var scope = approve && parse.GetValue(sessionWide) ? ApprovalScope.Session : ApprovalScope.Once;
            return await RemoteCall.RunAsync(gateway, parse, verb, json, stdout, stderr, async client =>
            {
                var decided = await client.DecideApprovalAsync(parse.GetRequiredValue(id), decision, scope, cancellationToken).ConfigureAwait(false);
                stdout.WriteLine(json
                    ? JsonSerializer.Serialize(ApprovalOutput.From(decided), RemoteJson.Default.ApprovalOutput)
                    : $"{decided.Id}: {ApprovalOutput.StateName(decided.State)} {decided.Host}:{decided.Port} for sandbox {decided.Session}{(decided.Scope == ApprovalScope.Session ? " (for the rest of its life)" : string.Empty)}");
                return ExitCodes.Success;
            }, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }
}
