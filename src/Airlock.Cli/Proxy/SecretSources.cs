using System.Diagnostics.CodeAnalysis;

namespace Airlock.Cli.Proxy;

/// <summary>
/// Reads <c>--secret NAME=@file</c> and <c>--secret NAME=env:VAR</c>: secrets for <c>inject</c>, given to the
/// proxy only. Values on the command line itself are refused (they would show in the process list).
/// </summary>
internal static class SecretSources
{
    public static bool TryRead(IEnumerable<string> specs, [NotNullWhen(true)] out Dictionary<string, string>? secrets, [NotNullWhen(false)] out string? error)
    {
        secrets = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var spec in specs)
        {
            var equals = spec.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? spec[..equals] : string.Empty;
            var source = equals > 0 ? spec[(equals + 1)..] : string.Empty;
            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                error = $"'{spec}' is not NAME=@file or NAME=env:VAR";
                secrets = null;
                return false;
            }

            string? value;
            if (source.StartsWith('@'))
            {
                try
                {
                    value = File.ReadAllText(source[1..]).TrimEnd('\r', '\n');
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    error = $"secret {name}: cannot read '{source[1..]}': {e.Message}";
                    secrets = null;
                    return false;
                }
            }
            else if (source.StartsWith("env:", StringComparison.Ordinal))
            {
                value = Environment.GetEnvironmentVariable(source[4..]);
                if (value is null)
                {
                    error = $"secret {name}: environment variable {source[4..]} is not set";
                    secrets = null;
                    return false;
                }
            }
            else
            {
                error = $"secret {name}: give it as @file or env:VAR, never inline (inline values show in the process list)";
                secrets = null;
                return false;
            }

            secrets[name] = value;
        }

        error = null;
        return true;
    }
}
