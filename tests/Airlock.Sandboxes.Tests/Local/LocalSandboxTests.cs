using System.Diagnostics;
using System.Text.Json;

namespace Airlock.Sandboxes.Tests.Local;

/// <summary>
/// Long-lived local sandboxes through the real <c>airlock sandbox</c> commands: real supervisors, real
/// bubblewrap, the real in-sandbox agent. Each runs as the current user and, when that is root (CI), once more
/// as an unprivileged user (nobody) through <c>setpriv</c>.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LocalSandboxTests : IAsyncLifetime
{
    private readonly List<(string User, string Id)> _created = [];
    private DirectoryInfo _directory = null!;

    public static TheoryData<string> Users() => IsRoot() ? ["current", "nobody"] : ["current"];

    private string State(string user) => Path.Combine(_directory.FullName, "state-" + user);

    public Task InitializeAsync()
    {
        // Not under /tmp: the sandbox has a private /tmp. Short, for the control socket's path.
        _directory = Directory.CreateDirectory(Path.Combine("/var/tmp", "al-sb-" + Guid.NewGuid().ToString("N")[..8]));
        OpenToAll(_directory.FullName);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var (user, id) in _created)
        {
            await CliAsync(user, ["sandbox", "rm", id]);
        }

        _directory.Delete(recursive: true);
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task A_sandbox_keeps_its_state_across_execs_streams_output_and_returns_exit_codes(string user)
    {
        var id = await CreateAsync(user);

        var first = await CliAsync(user, ["sandbox", "exec", id, "--", "sh", "-c", "echo out; echo err >&2; echo kept > /tmp/state; exit 3"]);
        var second = await CliAsync(user, ["sandbox", "exec", "--env", "GREETING=hi", id, "--", "sh", "-c", "cat /tmp/state; echo $GREETING; pwd"]);

        Assert.Equal((3, "out\n", "err\n"), (first.ExitCode, first.Stdout, first.Stderr));
        Assert.Equal(0, second.ExitCode);
        Assert.Equal(["kept", "hi", Workdir(id)], second.Stdout.TrimEnd().Split('\n'));
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task Standard_input_reaches_the_command_with_stdin(string user)
    {
        var id = await CreateAsync(user);

        var run = await CliAsync(user, ["sandbox", "exec", "-i", id, "--", "sh", "-c", "tr a-z A-Z"], stdin: "piped through\n");

        Assert.Equal((0, "PIPED THROUGH\n"), (run.ExitCode, run.Stdout));
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task Files_copy_in_and_out_byte_for_byte(string user)
    {
        var id = await CreateAsync(user);
        var content = new byte[300_000];
        new Random(7).NextBytes(content);
        var local = Path.Combine(_directory.FullName, "in-" + user);
        await File.WriteAllBytesAsync(local, content);
        OpenToAll(local);
        var back = Path.Combine(_directory.FullName, "back-" + user);

        var upload = await CliAsync(user, ["sandbox", "cp", local, $"{id}:blob"]);
        var inside = await CliAsync(user, ["sandbox", "exec", id, "--", "sh", "-c", "wc -c < blob; cp blob /tmp/copy"]);
        var download = await CliAsync(user, ["sandbox", "cp", $"{id}:/tmp/copy", back]);

        Assert.Equal(0, upload.ExitCode);
        Assert.Equal("300000", inside.Stdout.Trim());
        Assert.Equal(0, download.ExitCode);
        Assert.Equal(content, await File.ReadAllBytesAsync(back));
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task Symlink_tricks_in_copy_paths_do_not_leave_the_sandbox(string user)
    {
        var id = await CreateAsync(user);
        var outside = Path.Combine(_directory.FullName, "outside-" + user);
        Directory.CreateDirectory(outside);
        await File.WriteAllTextAsync(Path.Combine(outside, "secret"), "canary-host-secret");
        OpenToAll(outside);
        OpenToAll(Path.Combine(outside, "secret"));
        var local = Path.Combine(_directory.FullName, "payload-" + user);
        await File.WriteAllTextAsync(local, "payload");
        OpenToAll(local);

        // The sandboxed code plants links to the host file, the host directory, and a magic link, and a FIFO.
        var plant = await CliAsync(user, ["sandbox", "exec", id, "--", "sh", "-c", $"ln -s {outside}/secret leak; ln -s {outside} hostdir; ln -s /proc/self/fd/0 magic; ln -s /etc/shadow shadow; mkfifo fifo; echo planted"]);
        var reads = new List<(int ExitCode, string Stdout, string Stderr)>();
        foreach (var path in new[] { "leak", "hostdir/secret", "magic", "shadow", "fifo", "../../../../etc/passwd", "/etc/passwd", $"{outside}/secret" })
        {
            reads.Add(await CliAsync(user, ["sandbox", "cp", $"{id}:{path}", "-"]));
        }

        var writeThrough = await CliAsync(user, ["sandbox", "cp", local, $"{id}:leak"]);
        var writeInto = await CliAsync(user, ["sandbox", "cp", local, $"{id}:hostdir/planted"]);

        Assert.Contains("planted", plant.Stdout, StringComparison.Ordinal);
        Assert.All(reads, r =>
        {
            Assert.Equal(125, r.ExitCode);
            Assert.DoesNotContain("canary", r.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("root:", r.Stdout, StringComparison.Ordinal);
        });
        Assert.Equal(0, writeThrough.ExitCode);
        Assert.Equal("canary-host-secret", await File.ReadAllTextAsync(Path.Combine(outside, "secret")));
        Assert.Equal(125, writeInto.ExitCode);
        Assert.False(File.Exists(Path.Combine(outside, "planted")));
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task Egress_goes_through_the_sandboxs_proxy_and_is_recorded(string user)
    {
        var id = await CreateAsync(user);

        var run = await CliAsync(user, ["sandbox", "exec", id, "--", "sh", "-c", "curl -sS --max-time 10 http://denied.example/x"]);
        var events = await CliAsync(user, ["sandbox", "events", id]);

        Assert.Contains("\"reason\":\"default_deny\"", run.Stdout, StringComparison.Ordinal);
        var deny = events.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).Single(e => e.GetProperty("decision").GetString() == "deny");
        Assert.Equal("denied.example", deny.GetProperty("host").GetString());
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task Removing_a_sandbox_ends_every_process_and_keeps_only_its_events(string user)
    {
        var marker = "airlock-sb-" + Guid.NewGuid().ToString("N")[..8];
        var id = await CreateAsync(user);
        await CliAsync(user, ["sandbox", "exec", id, "--", "sh", "-c", $"(sleep 300; echo {marker}) > /dev/null 2>&1 & curl -s --max-time 5 http://denied.example/ > /dev/null; true"]);
        Assert.True(await AnyProcessAsync("^sh -c .*" + marker));

        var removed = await CliAsync(user, ["sandbox", "rm", id]);
        var list = await CliAsync(user, ["sandbox", "ls", "--output", "json"]);

        Assert.Equal((0, id + "\n"), (removed.ExitCode, removed.Stdout));
        Assert.Equal(0, JsonDocument.Parse(list.Stdout).RootElement.GetArrayLength());
        Assert.False(Directory.Exists(Path.Combine(State(user), "sandboxes", id)));
        Assert.False(await AnyProcessAsync("^sh -c .*" + marker));
        Assert.Contains("denied.example", await File.ReadAllTextAsync(Path.Combine(State(user), "events", id + ".ndjson")), StringComparison.Ordinal);
        Assert.Equal(125, (await CliAsync(user, ["sandbox", "exec", id, "--", "true"])).ExitCode);
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task A_sandbox_whose_supervisor_is_killed_takes_its_processes_with_it(string user)
    {
        var marker = "airlock-sb-" + Guid.NewGuid().ToString("N")[..8];
        var id = await CreateAsync(user);
        await CliAsync(user, ["sandbox", "exec", id, "--", "sh", "-c", $"(sleep 300; echo {marker}) > /dev/null 2>&1 & true"]);
        var record = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(State(user), "sandboxes", id, "sandbox.json"))).RootElement;

        using (var supervisor = Process.GetProcessById(record.GetProperty("supervisor_pid").GetInt32()))
        {
            supervisor.Kill();
            await supervisor.WaitForExitAsync();
        }

        var gone = await WaitAsync(async () => !await AnyProcessAsync("^sh -c .*" + marker));
        var list = await CliAsync(user, ["sandbox", "ls", "--output", "json"]);

        Assert.True(gone, "the sandbox's processes outlived its supervisor");
        Assert.Equal("exited", JsonDocument.Parse(list.Stdout).RootElement[0].GetProperty("state").GetString());
        Assert.Contains("not running", (await CliAsync(user, ["sandbox", "exec", id, "--", "true"])).Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task A_sandbox_is_deleted_when_its_TTL_runs_out(string user)
    {
        var id = await CreateAsync(user, "--ttl", "2s");

        var gone = await WaitAsync(() => Task.FromResult(!Directory.Exists(Path.Combine(State(user), "sandboxes", id))));

        Assert.True(gone, "the sandbox outlived its TTL");
        Assert.Equal(125, (await CliAsync(user, ["sandbox", "exec", id, "--", "true"])).ExitCode);
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task Limits_are_reported_one_by_one_and_the_memory_limit_binds(string user)
    {
        const string allocate = "python3 -c 'import sys; b = bytearray(int(sys.argv[1]) * 1024 * 1024); print(\"allocated\")'";
        var workdir = Directory.CreateDirectory(Path.Combine(_directory.FullName, "limits-" + user)).FullName;
        OpenToAll(workdir);
        var policy = Path.Combine(workdir, "p.yaml");
        await File.WriteAllTextAsync(policy, "version: 1\negress: []\n");
        OpenToAll(policy);

        var create = await CliAsync(user, ["sandbox", "create", "--policy", policy, "--workdir", workdir, "--memory", "64M", "--pids", "64", "--cpus", "1"]);
        var id = create.Stdout.Trim();
        _created.Add((user, id));
        var small = await CliAsync(user, ["sandbox", "exec", id, "--", "sh", "-c", allocate + " 8"]);
        var large = await CliAsync(user, ["sandbox", "exec", id, "--", "sh", "-c", allocate + " 256"]);
        var run = await CliAsync(user, ["run", "--policy", policy, "--workdir", workdir, "--quiet", "--memory", "64M", "--", "sh", "-c", allocate + " 256"]);

        Assert.True(create.ExitCode == 0, create.Stderr);
        foreach (var limit in new[] { "memory 64M: ", "pids 64: ", "cpus 1: " })
        {
            Assert.Matches($"airlock: {limit}(applied with (cgroup2|prlimit) \\(.+\\)|NOT applied \\(.+\\))\n", create.Stderr);
        }

        Assert.Contains("airlock: memory 64M: applied with", create.Stderr, StringComparison.Ordinal);
        Assert.Equal((0, "allocated\n"), (small.ExitCode, small.Stdout));
        Assert.NotEqual(0, large.ExitCode);
        Assert.DoesNotContain("allocated", large.Stdout, StringComparison.Ordinal);
        Assert.Contains("airlock: memory 64M: applied with", run.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, run.ExitCode);
        Assert.DoesNotContain("allocated", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_and_json_output_describe_a_local_sandbox_and_gateway_only_options_are_refused()
    {
        var id = await CreateAsync("current");

        var get = await CliAsync("current", ["sandbox", "get", id, "--output", "json"]);
        var text = await CliAsync("current", ["sandbox", "get", id]);
        var exec = await CliAsync("current", ["sandbox", "exec", "--output", "json", id, "--", "sh", "-c", "printf out; printf err >&2; exit 4"]);
        var all = await CliAsync("current", ["sandbox", "ls", "--all"]);
        var timeout = await CliAsync("current", ["sandbox", "exec", "--timeout", "5s", id, "--", "true"]);
        var removed = await CliAsync("current", ["sandbox", "rm", "--output", "json", id]);
        var gone = await CliAsync("current", ["sandbox", "get", id]);

        var view = JsonDocument.Parse(get.Stdout).RootElement;
        Assert.Equal((0, id, "running", "local", Workdir(id)), (get.ExitCode, view.GetProperty("id").GetString(), view.GetProperty("state").GetString(), view.GetProperty("driver").GetString(), view.GetProperty("workdir").GetString()));
        Assert.Contains("state:    running", text.Stdout, StringComparison.Ordinal);
        var result = JsonDocument.Parse(exec.Stdout).RootElement;
        Assert.Equal((4, "out", "err", 4), (exec.ExitCode, result.GetProperty("stdout").GetString(), result.GetProperty("stderr").GetString(), result.GetProperty("exit").GetInt32()));
        Assert.Equal((1, true), (all.ExitCode, all.Stderr.Contains("--all needs a gateway", StringComparison.Ordinal)));
        Assert.Equal((1, true), (timeout.ExitCode, timeout.Stderr.Contains("--timeout needs a gateway", StringComparison.Ordinal)));
        Assert.Equal((0, $"{{\"deleted\":[\"{id}\"]}}\n"), (removed.ExitCode, removed.Stdout));
        Assert.Equal((125, true), (gone.ExitCode, gone.Stderr.Contains($"no sandbox '{id}'", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Bad_requests_get_readable_errors_not_crashes()
    {
        var policy = Path.Combine(_directory.FullName, "bad.yaml");
        await File.WriteAllTextAsync(policy, "version: 1\negress:\n  - allow: example.com\n    prots: [443]\n");

        var create = await CliAsync("current", ["sandbox", "create", "--policy", policy, "--workdir", _directory.FullName]);
        var exec = await CliAsync("current", ["sandbox", "exec", "sb-0000000000", "--", "true"]);
        var traversal = await CliAsync("current", ["sandbox", "exec", "../../etc", "--", "true"]);
        var remove = await CliAsync("current", ["sandbox", "rm", "sb-0000000000"]);
        var driver = await CliAsync("current", ["sandbox", "ls", "--driver", "cloud"]);
        var kubeconfig = await CliAsync("current", ["sandbox", "ls", "--driver", "kubernetes", "--kubeconfig", Path.Combine(_directory.FullName, "no-such-kubeconfig")]);

        Assert.Equal(2, create.ExitCode);
        Assert.Contains("bad.yaml:4:5: error:", create.Stderr, StringComparison.Ordinal);
        Assert.Equal((125, true), (exec.ExitCode, exec.Stderr.Contains("no sandbox 'sb-0000000000'", StringComparison.Ordinal)));
        Assert.Equal(125, traversal.ExitCode);
        Assert.Equal(125, remove.ExitCode);
        Assert.Contains("unknown driver 'cloud'", driver.Stderr, StringComparison.Ordinal);
        Assert.Equal(125, kubeconfig.ExitCode);
        Assert.Contains("cannot read the Kubernetes configuration", kubeconfig.Stderr, StringComparison.Ordinal);
    }

    private async Task<string> CreateAsync(string user, params string[] options)
    {
        var workdir = Directory.CreateDirectory(Path.Combine(_directory.FullName, "work-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        OpenToAll(workdir);
        var policy = Path.Combine(_directory.FullName, Guid.NewGuid().ToString("N") + ".yaml");
        await File.WriteAllTextAsync(policy, "version: 1\negress:\n  - allow: example.com\n");
        OpenToAll(policy);

        var create = await CliAsync(user, ["sandbox", "create", "--policy", policy, "--workdir", workdir, .. options]);

        Assert.True(create.ExitCode == 0, create.Stderr);
        var id = create.Stdout.Trim();
        _created.Add((user, id));
        _workdirs[id] = workdir;
        return id;
    }

    private readonly Dictionary<string, string> _workdirs = [];

    private string Workdir(string id) => _workdirs[id];

    private async Task<(int ExitCode, string Stdout, string Stderr)> CliAsync(string user, string[] args, string? stdin = null)
    {
        var start = new ProcessStartInfo(user == "nobody" ? "setpriv" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        if (user == "nobody")
        {
            foreach (var arg in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "dotnet" })
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["HOME"] = _directory.FullName;
            start.Environment["DOTNET_CLI_HOME"] = _directory.FullName;
        }

        start.Environment["AIRLOCK_STATE_DIR"] = State(user);
        foreach (var arg in args.Prepend(Path.Combine(AppContext.BaseDirectory, "airlock.dll")))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static async Task<bool> AnyProcessAsync(string marker)
    {
        using var pgrep = Process.Start(new ProcessStartInfo("pgrep", ["-f", marker]) { RedirectStandardOutput = true })!;
        await pgrep.WaitForExitAsync();
        return pgrep.ExitCode == 0;
    }

    private static async Task<bool> WaitAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 150; i++)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    private static void OpenToAll(string path) =>
        File.SetUnixFileMode(path, Directory.Exists(path) ? (UnixFileMode)Convert.ToInt32("777", 8) : (UnixFileMode)Convert.ToInt32("644", 8));

    private static bool IsRoot() =>
        File.ReadAllLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0");
}
