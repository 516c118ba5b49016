using System.CommandLine;
using Airlock.Client;

namespace Airlock.Cli.Remote;

/// <summary>
/// <c>--server URL</c> and <c>--token TOKEN</c>, else <c>AIRLOCK_SERVER</c> and <c>AIRLOCK_TOKEN</c>: the gateway a command
/// talks to instead of a local driver.
/// </summary>
internal sealed class GatewayOptions(Func<string, string?> environment)
{
    private readonly Option<string?> _server = new("--server") { Description = $"The gateway's address, such as http://127.0.0.1:8080 (default: ${AirlockClient.ServerVariable})." };
    private readonly Option<string?> _token = new("--token") { Description = $"The gateway's API token (default: ${AirlockClient.TokenVariable})." };

    public void AddTo(Command command)
    {
        command.Options.Add(_server);
        command.Options.Add(_token);
    }

    /// <summary>Whether the command goes to a gateway: <c>--server</c> or <c>AIRLOCK_SERVER</c> is set.</summary>
    public bool IsRemote(ParseResult parse) => !string.IsNullOrWhiteSpace(Server(parse));

    /// <summary>A client for the gateway; on failure prints why (prefixed with <paramref name="verb"/>).</summary>
    public bool TryConnect(ParseResult parse, string verb, TextWriter stderr, out AirlockClient client)
    {
        client = null!;
        var server = Server(parse);
        if (string.IsNullOrWhiteSpace(server))
        {
            stderr.WriteLine($"airlock {verb}: needs a gateway: --server URL or {AirlockClient.ServerVariable} (the address airlock serve prints), with a token in --token or {AirlockClient.TokenVariable}");
            return false;
        }

        if (!Uri.TryCreate(server.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            stderr.WriteLine($"airlock {verb}: the gateway's address must be an http or https URL such as http://127.0.0.1:8080, not '{server}'");
            return false;
        }

        var token = parse.GetValue(_token) ?? environment(AirlockClient.TokenVariable);
        if (string.IsNullOrWhiteSpace(token))
        {
            stderr.WriteLine($"airlock {verb}: no token for {uri}: set {AirlockClient.TokenVariable} or pass --token (airlock token create makes one)");
            return false;
        }

        client = new AirlockClient(uri, token);
        return true;
    }

    private string? Server(ParseResult parse) => parse.GetValue(_server) ?? environment(AirlockClient.ServerVariable);
}
