using System.Collections.Immutable;
using Airlock.Policy.Model;

namespace Airlock.Sandboxes.Local;

/// <summary>What one bubblewrap sandbox is made of.</summary>
public sealed record BubblewrapSpec
{
    /// <summary>The policy's file system section.</summary>
    public required FilesystemPolicy Filesystem { get; init; }

    /// <summary>The working directory, mounted read-write and made current.</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>The user's home on the host (for <c>~</c> in paths).</summary>
    public required string Home { get; init; }

    /// <summary>The host directory with the session's public files (socket, CA certificate and bundle).</summary>
    public required string PublicDirectory { get; init; }

    /// <summary>The host directory holding the <c>airlock</c> binary, mounted read-only at <see cref="SandboxLayout.BinaryDirectory"/>.</summary>
    public string? BinaryDirectory { get; init; }

    /// <summary>Environment variables of the sandboxed command (the proxy variables are added).</summary>
    public ImmutableDictionary<string, string> Environment { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>The command run inside (normally the sandbox init: the bridge, then the user's command).</summary>
    public required ImmutableArray<string> Command { get; init; }

    /// <summary>Whether a path exists on the host (and is a directory); the tests substitute it.</summary>
    public Func<string, PathKind> Probe { get; init; } = ProbePath;

    private static PathKind ProbePath(string path) =>
        Directory.Exists(path) ? PathKind.Directory : File.Exists(path) ? PathKind.File : PathKind.Missing;
}

/// <summary>What a path on the host is.</summary>
public enum PathKind
{
    /// <summary>Nothing there.</summary>
    Missing,

    /// <summary>A regular file (or anything not a directory).</summary>
    File,

    /// <summary>A directory.</summary>
    Directory,
}

/// <summary>
/// Builds the <c>bwrap</c> argument list for a local sandbox, as a pure function: every namespace unshared
/// (the user namespace too, mapped to an unprivileged uid, all capabilities dropped), a read-only view of the
/// system, private <c>/tmp</c> and <c>/run</c>, the workdir read-write, hidden paths masked, no network but
/// loopback, and the session's public files read-only under <see cref="SandboxLayout.RunDirectory"/>.
/// </summary>
public static class BubblewrapCommand
{
    /// <summary>The uid and gid the command runs as inside the sandbox.</summary>
    public const int SandboxUid = 1000;

    /// <summary>The environment every sandboxed command gets for its egress.</summary>
    public static ImmutableDictionary<string, string> EgressEnvironment { get; } = new Dictionary<string, string>
    {
        ["HTTP_PROXY"] = $"http://127.0.0.1:{SandboxLayout.BridgePort}",
        ["HTTPS_PROXY"] = $"http://127.0.0.1:{SandboxLayout.BridgePort}",
        ["http_proxy"] = $"http://127.0.0.1:{SandboxLayout.BridgePort}",
        ["https_proxy"] = $"http://127.0.0.1:{SandboxLayout.BridgePort}",
        ["ALL_PROXY"] = $"http://127.0.0.1:{SandboxLayout.BridgePort}",
        ["NO_PROXY"] = "localhost,127.0.0.1,::1",
        ["no_proxy"] = "localhost,127.0.0.1,::1",
        ["SSL_CERT_FILE"] = SandboxLayout.CaBundle,
        ["REQUESTS_CA_BUNDLE"] = SandboxLayout.CaBundle,
        ["CURL_CA_BUNDLE"] = SandboxLayout.CaBundle,
        ["GIT_SSL_CAINFO"] = SandboxLayout.CaBundle,
        ["PIP_CERT"] = SandboxLayout.CaBundle,
        ["NODE_EXTRA_CA_CERTS"] = SandboxLayout.CaCertificate,
    }.ToImmutableDictionary(StringComparer.Ordinal);

    /// <summary>The arguments after <c>bwrap</c>.</summary>
    public static ImmutableArray<string> Arguments(BubblewrapSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var args = ImmutableArray.CreateBuilder<string>();
        void Add(params string[] values) => args.AddRange(values);

        Add("--unshare-all", "--unshare-user", "--uid", "1000", "--gid", "1000", "--cap-drop", "ALL");
        Add("--die-with-parent", "--new-session", "--clearenv");
        Add("--ro-bind", "/", "/");
        Add("--proc", "/proc", "--dev", "/dev");
        Add("--tmpfs", "/tmp", "--tmpfs", "/run", "--tmpfs", "/dev/shm");
        Add("--ro-bind", spec.PublicDirectory, SandboxLayout.RunDirectory);
        if (spec.BinaryDirectory is { } binaries)
        {
            Add("--ro-bind", binaries, SandboxLayout.BinaryDirectory);
        }

        foreach (var bundle in SandboxLayout.SystemBundlePaths)
        {
            if (spec.Probe(bundle) == PathKind.File)
            {
                Add("--ro-bind", Path.Combine(spec.PublicDirectory, "ca-bundle.pem"), bundle);
            }
        }

        foreach (var path in spec.Filesystem.ReadOnly)
        {
            var resolved = Resolve(path, spec);
            if (spec.Probe(resolved) != PathKind.Missing)
            {
                Add("--ro-bind", resolved, resolved);
            }
        }

        foreach (var path in spec.Filesystem.ReadWrite)
        {
            var resolved = Resolve(path, spec);
            if (spec.Probe(resolved) != PathKind.Missing && resolved != "/tmp")
            {
                Add("--bind", resolved, resolved);
            }
        }

        Add("--bind", spec.WorkDirectory, spec.WorkDirectory);
        foreach (var path in SandboxLayout.DefaultHidden.Concat(spec.Filesystem.Hidden).Distinct(StringComparer.Ordinal))
        {
            var resolved = Resolve(path, spec);
            switch (spec.Probe(resolved))
            {
                case PathKind.Directory:
                    Add("--tmpfs", resolved, "--remount-ro", resolved);
                    break;
                case PathKind.File:
                    Add("--ro-bind", "/dev/null", resolved);
                    break;
            }
        }

        Add("--chdir", spec.WorkDirectory);
        foreach (var (name, value) in spec.Environment.SetItems(EgressEnvironment).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Add("--setenv", name, value);
        }

        Add("--");
        args.AddRange(spec.Command);
        return args.ToImmutable();
    }

    /// <summary>Resolves <c>~</c> and relative paths (against the workdir) to absolute, normalised paths.</summary>
    internal static string Resolve(string path, BubblewrapSpec spec) => Resolve(path, spec.Home, spec.WorkDirectory);

    /// <summary>Resolves <c>~</c> (against <paramref name="home"/>) and relative paths (against <paramref name="workDirectory"/>).</summary>
    internal static string Resolve(string path, string home, string workDirectory)
    {
        var expanded = path == "~" ? home
            : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(home, path[2..])
            : path;
        return Path.GetFullPath(expanded, workDirectory).TrimEnd('/') is { Length: > 0 } full ? full : "/";
    }
}
