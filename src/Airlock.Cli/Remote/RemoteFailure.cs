using System.Net;
using System.Text.Json;
using Airlock.Client;

namespace Airlock.Cli.Remote;

/// <summary>
/// What a command prints, and exits with, when a gateway call fails: the server's Problem Details detail, one line per
/// field error, and with <c>--output json</c> also an <c>{"error": …}</c> object on standard output.
/// </summary>
internal static class RemoteFailure
{
    /// <summary>Reports <paramref name="failure"/> and returns the exit code; false when it is not a gateway failure (rethrow it).</summary>
    public static bool TryReport(Exception failure, string verb, Uri server, bool json, TextWriter stdout, TextWriter stderr, out int exitCode, string? policyFile = null)
    {
        exitCode = ExitCodes.SandboxFailed;
        RemoteError error;
        switch (failure)
        {
            case AirlockApiException problem:
                error = new RemoteError((int)problem.StatusCode, problem.Title, problem.Detail, problem.Errors.Count > 0 ? problem.Errors.ToDictionary(e => e.Key, e => e.Value) : null);
                if (problem.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                {
                    exitCode = ExitCodes.Unauthorized;
                    var hint = problem.StatusCode == HttpStatusCode.Unauthorized
                        ? $"; check --token or {AirlockClient.TokenVariable} (airlock token create makes one)"
                        : string.Empty;
                    stderr.WriteLine($"airlock {verb}: the gateway refused: {(int)problem.StatusCode} {problem.Title}{Detail(problem.Detail)}{hint}");
                }
                else if (problem.StatusCode == HttpStatusCode.BadRequest && problem.Errors.TryGetValue("policy", out var policyErrors) && policyFile is not null)
                {
                    // The gateway names the policy by its name; the person wrote a file.
                    exitCode = ExitCodes.InvalidPolicy;
                    stderr.WriteLine($"airlock {verb}: {problem.Title ?? "the policy is not valid"}");
                    foreach (var message in policyErrors)
                    {
                        var colon = message.IndexOf(':', StringComparison.Ordinal);
                        stderr.WriteLine(colon > 0 && colon + 1 < message.Length && char.IsAsciiDigit(message[colon + 1]) ? policyFile + message[colon..] : message);
                    }
                }
                else
                {
                    stderr.WriteLine($"airlock {verb}: {(int)problem.StatusCode} {problem.Message}");
                }

                break;
            case HttpRequestException unreachable:
                exitCode = ExitCodes.GatewayUnreachable;
                error = new RemoteError(null, "unreachable", $"cannot reach the gateway at {server}: {unreachable.Message}", null);
                stderr.WriteLine($"airlock {verb}: {error.Detail}");
                break;
            case TaskCanceledException { InnerException: TimeoutException }:
                exitCode = ExitCodes.GatewayUnreachable;
                error = new RemoteError(null, "timeout", $"the gateway at {server} did not answer in time", null);
                stderr.WriteLine($"airlock {verb}: {error.Detail}");
                break;
            default:
                return false;
        }

        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(new RemoteErrorOutput(error), RemoteJson.Default.RemoteErrorOutput));
        }

        return true;
    }

    private static string Detail(string? detail) => string.IsNullOrEmpty(detail) ? string.Empty : ": " + detail;
}
