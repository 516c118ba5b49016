using System.Collections.Immutable;
using System.CommandLine;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Airlock.Cli.Proxy;
using Airlock.Policy.Loading;
using Airlock.Policy.Model;
using Airlock.Sandboxes.Limits;

namespace Airlock.Cli.Run;

/// <summary>What <see cref="SandboxSessionOptions.TryRead"/> read from the command line, all of it validated.</summary>
internal sealed record SandboxSession(
    string PolicyPath,
    string PolicyText,
    EgressPolicy Policy,
    string WorkDirectory,
    ImmutableDictionary<string, string> Environment,
    Dictionary<string, string> Secrets,
    Dictionary<string, IPAddress[]> Resolve,
    Dictionary<string, int> ResolvePorts,
    string? UpstreamRootsPem,
    X509Certificate2Collection UpstreamRoots,
    ResourceLimits Limits);

/// <summary>
/// The options every sandbox-making command shares (<c>airlock run</c>, <c>airlock sandbox create</c>):
/// <c>--policy</c>, <c>--workdir</c>, <c>--env</c>, <c>--secret</c>, <c>--resolve</c>, <c>--upstream-ca</c>,
/// <c>--memory</c>, <c>--pids</c>, <c>--cpus</c>, and how they are read and checked.
/// </summary>
internal sealed class SandboxSessionOptions
{
    private readonly Option<string?> _policy;
    private readonly Option<string?> _workdir = new("--workdir") { Description = "Working directory, read-write inside (default: the current directory)." };
    private readonly Option<string[]> _env = new("--env") { Description = "K=V for the command (repeatable; the host environment is not passed through)." };
    private readonly Option<string[]> _secret = new("--secret") { Description = "NAME=@file or NAME=env:VAR: a secret for 'inject', given to the proxy only (repeatable)." };
    private readonly Option<string[]> _resolve = new("--resolve") { Description = "HOST=IP[:PORT] for the proxy (repeatable; the address checks still apply)." };
    private readonly Option<string?> _upstreamCa = new("--upstream-ca") { Description = "Extra PEM roots the proxy trusts upstream." };
    private readonly Option<string?> _memory = new("--memory") { Description = "Memory limit, e.g. 512M, 2G (reported if it cannot be applied)." };
    private readonly Option<string?> _pids = new("--pids") { Description = "Process limit (reported if it cannot be applied)." };
    private readonly Option<string?> _cpus = new("--cpus") { Description = "CPU limit in cores, e.g. 0.5 (reported if it cannot be applied)." };

    /// <summary>The options; <paramref name="policyRequired"/> false when another source (a gateway's stored policy) may stand in for <c>--policy</c>.</summary>
    public SandboxSessionOptions(bool policyRequired = true) =>
        _policy = new Option<string?>("--policy") { Description = "The policy file.", Required = policyRequired };

    /// <summary>The <c>--policy</c> file, if given.</summary>
    public string? PolicyPath(ParseResult parse) => parse.GetValue(_policy);

    /// <summary>The <c>--env</c> pairs as given.</summary>
    public string[] EnvironmentPairs(ParseResult parse) => parse.GetValue(_env) ?? [];

    /// <summary>The <c>--secret</c> specs as given.</summary>
    public string[] SecretSpecs(ParseResult parse) => parse.GetValue(_secret) ?? [];

    /// <summary>The options given that only a local sandbox understands (its workdir, limits, the proxy's resolve and roots).</summary>
    public IEnumerable<string> LocalOnlyGiven(ParseResult parse) =>
        new Option[] { _workdir, _resolve, _upstreamCa, _memory, _pids, _cpus }
            .Where(o => parse.GetResult(o) is { Implicit: false })
            .Select(o => o.Name);

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _policy, _workdir, _env, _secret, _resolve, _upstreamCa, _memory, _pids, _cpus })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>Reads and checks every option; on failure prints why (prefixed with <paramref name="verb"/>) and gives the exit code.</summary>
    public bool TryRead(ParseResult parse, string verb, TextWriter stderr, out SandboxSession session, out int exitCode)
    {
        session = null!;
        exitCode = ExitCodes.Usage;
        bool Usage(string message)
        {
            stderr.WriteLine($"airlock {verb}: {message}");
            return false;
        }

        if (parse.GetValue(_policy) is not { } policyPath)
        {
            return Usage("--policy FILE is required");
        }

        var loaded = PolicyLoader.LoadFile(policyPath);
        foreach (var diagnostic in loaded.Diagnostics)
        {
            stderr.WriteLine(diagnostic.ToString());
        }

        if (loaded.Policy is null)
        {
            exitCode = ExitCodes.InvalidPolicy;
            return false;
        }

        if (!TryParseEnvironment(parse.GetValue(_env) ?? [], out var environment, out var envError))
        {
            return Usage($"--env: {envError}");
        }

        if (!SecretSources.TryRead(parse.GetValue(_secret) ?? [], out var secrets, out var secretError))
        {
            return Usage($"--secret: {secretError}");
        }

        if (!ResolveOverrides.TryParse(parse.GetValue(_resolve) ?? [], out var overrides, out var resolvePorts, out var resolveError))
        {
            return Usage($"--resolve: {resolveError}");
        }

        if (!TryParseLimits(parse.GetValue(_memory), parse.GetValue(_pids), parse.GetValue(_cpus), out var limits, out var limitError))
        {
            return Usage(limitError);
        }

        string? rootsPem = null;
        X509Certificate2Collection roots = [];
        if (parse.GetValue(_upstreamCa) is { } bundle)
        {
            try
            {
                rootsPem = File.ReadAllText(bundle);
                roots.ImportFromPem(rootsPem);
            }
            catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException)
            {
                return Usage($"--upstream-ca: {e.Message}");
            }
        }

        var workDirectory = Path.GetFullPath(parse.GetValue(_workdir) ?? Directory.GetCurrentDirectory());
        if (!Directory.Exists(workDirectory))
        {
            return Usage($"--workdir: '{workDirectory}' is not a directory");
        }

        string policyText;
        try
        {
            policyText = File.ReadAllText(policyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Usage($"--policy: {e.Message}");
        }

        session = new SandboxSession(Path.GetFullPath(policyPath), policyText, loaded.Policy, workDirectory, environment, secrets, overrides, resolvePorts, rootsPem, roots, limits);
        exitCode = ExitCodes.Success;
        return true;
    }

    /// <summary>Parses repeated <c>K=V</c> (<c>--env</c>); the last value of a name wins.</summary>
    public static bool TryParseEnvironment(IEnumerable<string> pairs, out ImmutableDictionary<string, string> environment, out string? error)
    {
        var builder = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                environment = ImmutableDictionary<string, string>.Empty;
                error = $"'{pair}' is not K=V";
                return false;
            }

            builder[pair[..equals]] = pair[(equals + 1)..];
        }

        environment = builder.ToImmutable();
        error = null;
        return true;
    }

    private static bool TryParseLimits(string? memory, string? pids, string? cpus, out ResourceLimits limits, out string error)
    {
        limits = ResourceLimits.None;
        long? memoryBytes = null;
        int? pidCount = null;
        double? cpuCount = null;
        if (memory is not null)
        {
            if (!ResourceLimitSyntax.TryParseMemory(memory, out var bytes, out var memoryError))
            {
                error = $"--memory: {memoryError}";
                return false;
            }

            memoryBytes = bytes;
        }

        if (pids is not null)
        {
            if (!ResourceLimitSyntax.TryParsePids(pids, out var count, out var pidsError))
            {
                error = $"--pids: {pidsError}";
                return false;
            }

            pidCount = count;
        }

        if (cpus is not null)
        {
            if (!ResourceLimitSyntax.TryParseCpus(cpus, out var cores, out var cpusError))
            {
                error = $"--cpus: {cpusError}";
                return false;
            }

            cpuCount = cores;
        }

        limits = new ResourceLimits { MemoryBytes = memoryBytes, Pids = pidCount, Cpus = cpuCount };
        error = string.Empty;
        return true;
    }
}
