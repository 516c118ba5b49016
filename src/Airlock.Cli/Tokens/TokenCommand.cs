using System.CommandLine;
using Airlock.Server.Auth;
using Airlock.Server.Store;

namespace Airlock.Cli.Tokens;

/// <summary><c>airlock token create</c>: API tokens for the gateway.</summary>
internal static class TokenCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var scope = new Option<string>("--scope") { Description = "admin (everything) or sessions (its own sandboxes and their events).", Required = true };
        scope.AcceptOnlyFromAmong("admin", "sessions");
        var ttl = new Option<string?>("--ttl") { Description = "How long the token works: 90s, 15m, 12h, 30d (default: until revoked)." };
        var description = new Option<string?>("--description") { Description = "What the token is for." };
        var store = new Option<string?>("--store") { Description = "sqlite:PATH or postgres://… (default: AIRLOCK_STORE, else SQLite in the user's data directory)." };
        var create = new Command("create", "Create a token and print it on standard output (once: only its hash is kept).")
        {
            scope, ttl, description, store,
        };
        create.SetAction(async (parse, cancellationToken) =>
        {
            TimeSpan? lifetime = null;
            if (parse.GetValue(ttl) is { } text)
            {
                if (!TokenCommands.TryParseTtl(text, out var parsed))
                {
                    await stderr.WriteLineAsync($"airlock token create: --ttl '{text}' is not a lifetime such as 90s, 15m, 12h or 30d").ConfigureAwait(false);
                    return ExitCodes.Usage;
                }

                lifetime = parsed;
            }

            _ = TokenScopes.TryParse(parse.GetRequiredValue(scope), out var tokenScope);
            var url = parse.GetValue(store) ?? (Environment.GetEnvironmentVariable("AIRLOCK_STORE") is { Length: > 0 } fromEnvironment ? fromEnvironment : null);
            try
            {
                var info = await TokenCommands.CreateAsync(url, tokenScope, lifetime, parse.GetValue(description), stdout, cancellationToken).ConfigureAwait(false);
                await stderr.WriteLineAsync($"airlock token create: token {info.Id}, scope {TokenScopes.Name(info.Scope)}{(info.ExpiresAt is { } at ? $", expires {at:u}" : string.Empty)}").ConfigureAwait(false);
                return ExitCodes.Success;
            }
            catch (StoreException e)
            {
                await stderr.WriteLineAsync($"airlock token create: {e.Message}").ConfigureAwait(false);
                return ExitCodes.SandboxFailed;
            }
        });
        var generate = new Command("generate", "Print a new token without storing it: the value for AIRLOCK_BOOTSTRAP_ADMIN_TOKEN, which airlock serve imports as an admin token on start.");
        generate.SetAction(async (_, _) =>
        {
            await stdout.WriteLineAsync(TokenCommands.Generate()).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return new Command("token", "API tokens for the gateway (airlock serve).") { create, generate };
    }
}
