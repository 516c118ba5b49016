using System.Collections.Immutable;
using Airlock.Policy.Model;
using Airlock.Sandboxes.Local;

namespace Airlock.Sandboxes.Tests.Local;

public class BubblewrapCommandTests
{
    private static readonly HashSet<string> Directories = ["/home/dev", "/home/dev/.ssh", "/home/dev/.aws", "/work/repo", "/opt/tools", "/data", "/etc/ssl/certs"];
    private static readonly HashSet<string> Files = ["/home/dev/.netrc", "/etc/ssl/certs/ca-certificates.crt", "/home/dev/secret.txt"];

    private static BubblewrapSpec Spec(FilesystemPolicy? filesystem = null) => new()
    {
        Filesystem = filesystem ?? FilesystemPolicy.Empty,
        WorkDirectory = "/work/repo",
        Home = "/home/dev",
        PublicDirectory = "/tmp/airlock-session-x/public",
        Environment = ImmutableDictionary<string, string>.Empty.Add("PATH", "/usr/bin:/bin").Add("HTTP_PROXY", "http://evil:1"),
        Command = ["/usr/bin/airlock", "sandbox-init", "--", "sh", "-c", "echo hi"],
        Probe = path => Directories.Contains(path) ? PathKind.Directory : Files.Contains(path) ? PathKind.File : PathKind.Missing,
    };

    [Fact]
    public void Every_namespace_is_unshared_as_an_unprivileged_user_without_capabilities()
    {
        var args = BubblewrapCommand.Arguments(Spec());

        Assert.Contains("--unshare-all", args);
        Assert.Contains("--unshare-user", args);
        Assert.Equal(["--cap-drop", "ALL"], Pair(args, "--cap-drop"));
        Assert.Equal(["--uid", "1000"], Pair(args, "--uid"));
        Assert.Contains("--die-with-parent", args);
        Assert.Contains("--new-session", args);
        Assert.Contains("--clearenv", args);
        Assert.DoesNotContain("--share-net", args);
    }

    [Fact]
    public void The_system_is_read_only_and_tmp_run_and_shm_are_private()
    {
        var args = BubblewrapCommand.Arguments(Spec());

        Assert.True(Follows(args, "--ro-bind", "/", "/"));
        Assert.True(Follows(args, "--tmpfs", "/tmp"));
        Assert.True(Follows(args, "--tmpfs", "/run"));
        Assert.True(Follows(args, "--tmpfs", "/dev/shm"));
        Assert.True(Follows(args, "--bind", "/work/repo", "/work/repo"));
        Assert.True(Follows(args, "--chdir", "/work/repo"));
    }

    [Fact]
    public void The_session_files_are_read_only_and_the_bundle_covers_the_system_bundle()
    {
        var args = BubblewrapCommand.Arguments(Spec());

        Assert.True(Follows(args, "--ro-bind", "/tmp/airlock-session-x/public", SandboxLayout.RunDirectory));
        Assert.True(Follows(args, "--ro-bind", "/tmp/airlock-session-x/public/ca-bundle.pem", "/etc/ssl/certs/ca-certificates.crt"));
        Assert.False(Follows(args, "--ro-bind", "/tmp/airlock-session-x/public/ca-bundle.pem", "/etc/pki/tls/certs/ca-bundle.crt"));
    }

    [Fact]
    public void Credential_paths_and_hidden_paths_are_masked()
    {
        var args = BubblewrapCommand.Arguments(Spec(new FilesystemPolicy { Hidden = ["~/secret.txt", "/data"] }));

        Assert.True(Follows(args, "--tmpfs", "/home/dev/.ssh", "--remount-ro", "/home/dev/.ssh"));
        Assert.True(Follows(args, "--tmpfs", "/home/dev/.aws"));
        Assert.True(Follows(args, "--ro-bind", "/dev/null", "/home/dev/.netrc"));
        Assert.True(Follows(args, "--ro-bind", "/dev/null", "/home/dev/secret.txt"));
        Assert.True(Follows(args, "--tmpfs", "/data"));

        // Masks come after the workdir and policy mounts, so a mount cannot uncover them.
        Assert.True(Array.LastIndexOf([.. args], "/home/dev/.ssh") > Array.IndexOf([.. args], "/work/repo"));
    }

    [Fact]
    public void Policy_paths_are_mounted_when_they_exist_relative_to_the_workdir()
    {
        var args = BubblewrapCommand.Arguments(Spec(new FilesystemPolicy { ReadOnly = ["/opt/tools", "/nonexistent"], ReadWrite = ["../../data", "/tmp"] }));

        Assert.True(Follows(args, "--ro-bind", "/opt/tools", "/opt/tools"));
        Assert.DoesNotContain("/nonexistent", args);
        Assert.True(Follows(args, "--bind", "/data", "/data"));
        Assert.False(Follows(args, "--bind", "/tmp", "/tmp"));
    }

    [Fact]
    public void The_proxy_environment_wins_over_the_callers()
    {
        var args = BubblewrapCommand.Arguments(Spec());

        Assert.True(Follows(args, "--setenv", "HTTP_PROXY", "http://127.0.0.1:3128"));
        Assert.False(Follows(args, "--setenv", "HTTP_PROXY", "http://evil:1"));
        Assert.True(Follows(args, "--setenv", "SSL_CERT_FILE", SandboxLayout.CaBundle));
        Assert.True(Follows(args, "--setenv", "NODE_EXTRA_CA_CERTS", SandboxLayout.CaCertificate));
        Assert.True(Follows(args, "--setenv", "PATH", "/usr/bin:/bin"));
    }

    [Fact]
    public void The_command_comes_last_after_a_separator()
    {
        var args = BubblewrapCommand.Arguments(Spec());
        var separator = args.IndexOf("--");

        Assert.Equal(["/usr/bin/airlock", "sandbox-init", "--", "sh", "-c", "echo hi"], args[(separator + 1)..].ToArray());
    }

    private static string[] Pair(ImmutableArray<string> args, string flag) => [flag, args[args.IndexOf(flag) + 1]];

    private static bool Follows(ImmutableArray<string> args, params string[] sequence)
    {
        for (var i = 0; i + sequence.Length <= args.Length; i++)
        {
            if (args.AsSpan(i, sequence.Length).SequenceEqual(sequence))
            {
                return true;
            }
        }

        return false;
    }
}
