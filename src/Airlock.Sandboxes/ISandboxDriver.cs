using Airlock.Proxy.Events;

namespace Airlock.Sandboxes;

/// <summary>
/// The driver contract: what every kind of sandbox (local bubblewrap, Kubernetes) offers the CLI and the
/// gateway. A sandbox is long-lived: created from a <see cref="SandboxSpec"/>, used by any number of execs and
/// file transfers, and deleted explicitly or when its TTL runs out. Its only way out is its own egress proxy,
/// whose events <see cref="EventsAsync"/> streams.
/// </summary>
public interface ISandboxDriver
{
    /// <summary>The driver's name, as given to <c>--driver</c>.</summary>
    string Name { get; }

    /// <summary>Creates a sandbox and returns once it answers.</summary>
    /// <exception cref="SandboxException">The spec is invalid or the sandbox could not start.</exception>
    Task<SandboxInfo> CreateAsync(SandboxSpec spec, CancellationToken cancellationToken);

    /// <summary>Runs a command in the sandbox, streaming its output, and returns its exit code.</summary>
    /// <exception cref="SandboxException">No such sandbox, or it is not running.</exception>
    Task<int> ExecAsync(string id, ExecRequest request, ExecStreams streams, CancellationToken cancellationToken);

    /// <summary>Writes a file into the sandbox (its workdir or another writable root; symlinks cannot lead out).</summary>
    /// <param name="id">The sandbox.</param>
    /// <param name="path">Absolute inside the sandbox, or relative to its workdir.</param>
    /// <param name="content">The bytes.</param>
    /// <param name="mode">Permission bits of the file.</param>
    /// <param name="cancellationToken">Cancels the upload; the target is left as it was.</param>
    /// <exception cref="SandboxException">Refused (outside the sandbox's files, a directory, read-only) or no such sandbox.</exception>
    Task UploadAsync(string id, string path, Stream content, UnixFileMode mode, CancellationToken cancellationToken);

    /// <summary>Reads a regular file out of the sandbox into <paramref name="destination"/>.</summary>
    /// <exception cref="SandboxException">Refused, missing, or no such sandbox.</exception>
    Task DownloadAsync(string id, string path, Stream destination, CancellationToken cancellationToken);

    /// <summary>Every sandbox this driver knows, running or not.</summary>
    Task<IReadOnlyList<SandboxInfo>> ListAsync(CancellationToken cancellationToken);

    /// <summary>One sandbox, or null.</summary>
    Task<SandboxInfo?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Stops a sandbox and removes everything it had except its events; false when there was none.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken);

    /// <summary>The sandbox's egress events so far and, with <paramref name="follow"/>, as they happen until it is deleted.</summary>
    /// <exception cref="SandboxException">No such sandbox.</exception>
    IAsyncEnumerable<EgressEvent> EventsAsync(string id, bool follow, CancellationToken cancellationToken);
}

/// <summary>Sandbox ids: <c>sb-</c> and lower-case hex, the same for every driver.</summary>
public static class SandboxIds
{
    /// <summary>A new random id (<c>sb-</c> and 10 hex digits).</summary>
    public static string New() => "sb-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(5));

    /// <summary>Whether <paramref name="id"/> has the form of a sandbox id (anything else is never looked up).</summary>
    public static bool IsWellFormed(string? id) =>
        id is { Length: > 3 and <= 40 } && id.StartsWith("sb-", StringComparison.Ordinal) && id[3..].All(char.IsAsciiHexDigitLower);
}

/// <summary>What a sandbox is made from.</summary>
public sealed record SandboxSpec
{
    /// <summary>The id to create it under (a caller that records the sandbox before it exists); a new one when null.</summary>
    public string? Id { get; init; }

    /// <summary>The policy document (YAML or JSON), validated again by the driver.</summary>
    public required string PolicyText { get; init; }

    /// <summary>Where the policy came from (a file name), for diagnostics and listings.</summary>
    public required string PolicySource { get; init; }

    /// <summary>The working directory, read-write inside.</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>Environment for every command (the host's is not passed through).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Secrets for the policy's <c>inject</c>: the proxy gets them, the sandbox never does.</summary>
    public IReadOnlyDictionary<string, string> Secrets { get; init; } = new Dictionary<string, string>();

    /// <summary>Memory, process and CPU limits; what could not be applied is reported in <see cref="SandboxInfo.Limits"/>.</summary>
    public Limits.ResourceLimits Limits { get; init; } = new();

    /// <summary>Delete the sandbox this long after creation (null: never).</summary>
    public TimeSpan? TimeToLive { get; init; }

    /// <summary>The proxy's <c>--resolve</c> overrides (offline demos, tests); the address checks still apply.</summary>
    public IReadOnlyDictionary<string, System.Net.IPAddress[]> Resolve { get; init; } = new Dictionary<string, System.Net.IPAddress[]>();

    /// <summary>Ports to dial instead of the requested one, for <see cref="Resolve"/> names.</summary>
    public IReadOnlyDictionary<string, int> ResolvePorts { get; init; } = new Dictionary<string, int>();

    /// <summary>Extra PEM roots the proxy trusts upstream (corporate roots, tests).</summary>
    public string? UpstreamRootsPem { get; init; }
}

/// <summary>A command to run in a sandbox.</summary>
public sealed record ExecRequest
{
    /// <summary>The command and its arguments.</summary>
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>Extra environment, over the sandbox's.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The working directory inside (default the sandbox's workdir).</summary>
    public string? WorkingDirectory { get; init; }
}

/// <summary>Where an exec's bytes come from and go.</summary>
/// <param name="Stdin">The command's input, or null for none (closed at once).</param>
/// <param name="Stdout">Its standard output.</param>
/// <param name="Stderr">Its standard error.</param>
public sealed record ExecStreams(Stream? Stdin, Stream Stdout, Stream Stderr);

/// <summary>Whether a sandbox can be used.</summary>
public enum SandboxState
{
    /// <summary>Running: exec and file transfers work.</summary>
    Running,

    /// <summary>Its processes are gone (killed, crashed, or the machine restarted); only deleting it remains.</summary>
    Exited,
}

/// <summary>What a driver knows of one sandbox.</summary>
public sealed record SandboxInfo
{
    /// <summary>The sandbox's id.</summary>
    public required string Id { get; init; }

    /// <summary>The driver that runs it.</summary>
    public required string Driver { get; init; }

    /// <summary>Whether it runs.</summary>
    public required SandboxState State { get; init; }

    /// <summary>When it was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When its TTL deletes it, if it has one.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Its workdir.</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>Where its policy came from.</summary>
    public required string PolicySource { get; init; }

    /// <summary>Where its events are written (they outlive the sandbox).</summary>
    public required string EventsPath { get; init; }

    /// <summary>How each requested limit was applied, or why it was not.</summary>
    public IReadOnlyList<Limits.AppliedLimit> Limits { get; init; } = [];
}

/// <summary>A sandbox operation that failed, with a message for the person or program that asked.</summary>
public sealed class SandboxException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SandboxException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public SandboxException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public SandboxException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
