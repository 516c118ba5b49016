using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Airlock.Server.Tests.Api;

/// <summary>Exec and files through a real gateway (in process, loopback) and real local sandboxes.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ExecApiTests : GatewayTestBase
{

    private static StringContent Script(string script, string extra = "") =>
        Body($"{{\"command\":[\"sh\",\"-c\",{JsonSerializer.Serialize(script)}]{extra}}}");

    private static Uri Relative(string path) => new(path, UriKind.Relative);

    private static async Task<string> SandboxAsync(HttpClient client)
    {
        var created = await client.PostAsync(Relative("/v1/sandboxes"), Body($"{{\"policy\":{JsonSerializer.Serialize(DenyAll)}}}"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (await JsonAsync(created)).GetProperty("id").GetString()!;
    }

    private async Task<JsonElement> BufferedAsync(string id, string script, string extra = "")
    {
        var response = await Session.PostAsync(Relative($"/v1/sandboxes/{id}/exec?buffered=true"), Script(script, extra));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await JsonAsync(response);
    }

    private static string Text(JsonElement chunk) => Encoding.UTF8.GetString(chunk.GetProperty("data").GetBytesFromBase64());

    [Fact]
    public async Task The_openapi_document_lists_exec_and_files()
    {
        var document = await JsonAsync(await Admin.GetAsync(Relative("/openapi.json")));

        var paths = document.GetProperty("paths");
        Assert.True(paths.GetProperty("/v1/sandboxes/{id}/exec").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/v1/sandboxes/{id}/files").TryGetProperty("put", out _));
        Assert.True(paths.GetProperty("/v1/sandboxes/{id}/files").TryGetProperty("get", out _));
    }

    [Fact]
    public async Task A_streamed_exec_sends_each_chunk_as_it_comes_in_order_then_the_exit_code()
    {
        var id = await SandboxAsync(Session);
        var clock = Stopwatch.StartNew();
        using var response = await Session.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, $"/v1/sandboxes/{id}/exec") { Content = Script("echo a; sleep 2; echo b >&2; sleep 0.3; echo c; exit 3") },
            HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        var first = JsonDocument.Parse((await reader.ReadLineAsync())!).RootElement.Clone();
        var firstAt = clock.Elapsed;
        var rest = new List<JsonElement>();
        while (await reader.ReadLineAsync() is { } line)
        {
            rest.Add(JsonDocument.Parse(line).RootElement.Clone());
        }

        var lastAt = clock.Elapsed;
        Assert.Equal(("stdout", "a\n"), (first.GetProperty("stream").GetString(), Text(first)));
        Assert.True(lastAt - firstAt > TimeSpan.FromSeconds(1.5), $"the first line came at {firstAt}, the last at {lastAt}: not live");
        Assert.Equal(3, rest.Count);
        Assert.Equal(("stderr", "b\n"), (rest[0].GetProperty("stream").GetString(), Text(rest[0])));
        Assert.Equal(("stdout", "c\n"), (rest[1].GetProperty("stream").GetString(), Text(rest[1])));
        Assert.Equal(3, rest[2].GetProperty("exit").GetInt32());
        Assert.False(rest[2].TryGetProperty("error", out _));
    }

    [Fact]
    public async Task An_exec_with_accept_event_stream_sends_server_sent_events()
    {
        var id = await SandboxAsync(Session);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/sandboxes/{id}/exec") { Content = Script("printf out; sleep 0.2; printf err >&2; exit 7") };
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await Session.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.Split('\n'))
            .Select(lines => (Name: lines[0], Data: JsonDocument.Parse(lines[1]["data: ".Length..]).RootElement.Clone()))
            .ToList();
        Assert.Equal(["event: stdout", "event: stderr", "event: exit"], events.Select(e => e.Name));
        Assert.Equal(("out", "err"), (Text(events[0].Data), Text(events[1].Data)));
        Assert.Equal(7, events[2].Data.GetProperty("exit").GetInt32());
    }

    [Fact]
    public async Task A_buffered_exec_caps_each_stream_and_says_it_truncated()
    {
        var id = await SandboxAsync(Session);

        var big = await BufferedAsync(id, "head -c 1500000 /dev/zero | tr '\\0' a; echo oops >&2; exit 2");
        var small = await BufferedAsync(id, "echo hi");

        Assert.Equal(1024 * 1024, big.GetProperty("stdout").GetString()!.Length);
        Assert.All(big.GetProperty("stdout").GetString()!, c => Assert.Equal('a', c));
        Assert.Equal(("oops\n", 2, true), (big.GetProperty("stderr").GetString(), big.GetProperty("exit").GetInt32(), big.GetProperty("truncated").GetBoolean()));
        Assert.Equal(("hi\n", 0, false), (small.GetProperty("stdout").GetString(), small.GetProperty("exit").GetInt32(), small.GetProperty("truncated").GetBoolean()));
    }

    [Fact]
    public async Task A_timeout_kills_the_command_and_is_reported()
    {
        var id = await SandboxAsync(Session);
        var clock = Stopwatch.StartNew();

        var streamed = await Session.PostAsync(Relative($"/v1/sandboxes/{id}/exec"), Script("echo started; sleep 3; touch late", ",\"timeout\":\"1s\""));
        var lines = (await streamed.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var elapsed = clock.Elapsed;
        var buffered = await BufferedAsync(id, "sleep 3", ",\"timeout\":\"500ms\"");

        Assert.Equal("started\n", Text(lines[0]));
        Assert.Equal(JsonValueKind.Null, lines[^1].GetProperty("exit").ValueKind);
        Assert.Contains("timed out after 1s", lines[^1].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.True(elapsed < TimeSpan.FromSeconds(2.5), $"the timed-out exec took {elapsed}");
        Assert.Equal(JsonValueKind.Null, buffered.GetProperty("exit").ValueKind);
        Assert.Contains("timed out after 500ms", buffered.GetProperty("error").GetString(), StringComparison.Ordinal);

        await Task.Delay(TimeSpan.FromSeconds(3.5));
        var late = await BufferedAsync(id, "test -e late && echo ran-on || echo killed");
        Assert.Equal("killed\n", late.GetProperty("stdout").GetString());
    }

    [Fact]
    public async Task A_client_that_leaves_a_streamed_exec_kills_the_command()
    {
        var id = await SandboxAsync(Session);

        // Not drained on dispose (HttpClient would read the rest to reuse the connection): the connection closes.
        using var leaving = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = Host.ApiAddress };
        leaving.DefaultRequestHeaders.Authorization = Session.DefaultRequestHeaders.Authorization;
        using (var response = await leaving.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, $"/v1/sandboxes/{id}/exec") { Content = Script("echo started; sleep 2; touch late") },
            HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.Equal("started\n", Text(JsonDocument.Parse((await reader.ReadLineAsync())!).RootElement));
        }

        await Task.Delay(TimeSpan.FromSeconds(3));
        var late = await BufferedAsync(id, "test -e late && echo ran-on || echo killed");
        Assert.Equal("killed\n", late.GetProperty("stdout").GetString());
    }

    [Fact]
    public async Task Stdin_env_and_workdir_reach_the_command()
    {
        var id = await SandboxAsync(Session);
        await BufferedAsync(id, "mkdir sub");

        var result = await BufferedAsync(id, "cat; echo \"$GREETING\"; pwd", ",\"env\":{\"GREETING\":\"hello there\"},\"workdir\":\"sub\",\"stdin\":\"from stdin\\n\"");

        var lines = result.GetProperty("stdout").GetString()!.Split('\n');
        Assert.Equal(["from stdin", "hello there"], lines[..2]);
        Assert.EndsWith("/sub", lines[2], StringComparison.Ordinal);
        Assert.Equal(0, result.GetProperty("exit").GetInt32());
    }

    [Theory]
    [InlineData("{\"command\":[]}", "command")]
    [InlineData("{}", "command")]
    [InlineData("{\"command\":[\"\"]}", "command")]
    [InlineData("{\"command\":[\"true\"],\"timeout\":\"11m\"}", "timeout")]
    [InlineData("{\"command\":[\"true\"],\"timeout\":\"soon\"}", "timeout")]
    [InlineData("{\"command\":[\"true\"],\"env\":{\"A=B\":\"c\"}}", "env")]
    public async Task A_bad_exec_request_is_a_validation_problem_naming_the_field(string json, string field)
    {
        var id = await SandboxAsync(Session);

        var response = await Session.PostAsync(Relative($"/v1/sandboxes/{id}/exec"), Body(json));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True((await JsonAsync(response)).GetProperty("errors").TryGetProperty(field, out _), $"no error for '{field}'");
    }

    [Fact]
    public async Task Another_tokens_sandbox_is_not_found_andAdmin_sees_every_one()
    {
        var admins = await SandboxAsync(Admin);
        var sessions = await SandboxAsync(Session);

        var exec = await Session.PostAsync(Relative($"/v1/sandboxes/{admins}/exec"), Script("touch pwned"));
        var download = await Session.GetAsync(Relative($"/v1/sandboxes/{admins}/files?path=x"));
        var upload = await Session.PutAsync(Relative($"/v1/sandboxes/{admins}/files?path=uploaded"), new ByteArrayContent([1]));
        var unknown = await Session.PostAsync(Relative("/v1/sandboxes/sb-0000000000/exec"), Script("echo no"));
        var adminExec = await Admin.PostAsync(Relative($"/v1/sandboxes/{sessions}/exec?buffered=true"), Script("echo yes"));

        Assert.Equal(
            [HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound],
            new[] { exec, download, upload, unknown }.Select(r => r.StatusCode));
        Assert.Equal("application/problem+json", exec.Content.Headers.ContentType?.MediaType);
        Assert.Equal("yes\n", (await JsonAsync(adminExec)).GetProperty("stdout").GetString());
        var left = await Admin.PostAsync(Relative($"/v1/sandboxes/{admins}/exec?buffered=true"), Script("ls -A"));
        Assert.Equal(string.Empty, (await JsonAsync(left)).GetProperty("stdout").GetString());
    }

    [Fact]
    public async Task A_deleted_sandbox_is_a_conflict()
    {
        var id = await SandboxAsync(Session);
        Assert.Equal(HttpStatusCode.NoContent, (await Session.DeleteAsync(Relative($"/v1/sandboxes/{id}"))).StatusCode);

        var exec = await Session.PostAsync(Relative($"/v1/sandboxes/{id}/exec"), Script("echo no"));
        var download = await Session.GetAsync(Relative($"/v1/sandboxes/{id}/files?path=x"));
        var upload = await Session.PutAsync(Relative($"/v1/sandboxes/{id}/files?path=x"), new ByteArrayContent([1]));

        Assert.Equal([HttpStatusCode.Conflict, HttpStatusCode.Conflict, HttpStatusCode.Conflict], new[] { exec, download, upload }.Select(r => r.StatusCode));
        Assert.Contains("deleted", (await JsonAsync(exec)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_uploaded_file_downloads_byte_for_byte_and_is_listed()
    {
        var id = await SandboxAsync(Session);
        var content = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        await BufferedAsync(id, "mkdir dir && ln -s dir link && printf x > \"$(printf 'odd\\tname\\nhere')\"");

        var put = await Session.PutAsync(Relative($"/v1/sandboxes/{id}/files?path=blob.bin&mode=0600"), new ByteArrayContent(content));
        var get = await Session.GetAsync(Relative($"/v1/sandboxes/{id}/files?path=blob.bin"));
        var list = await Session.GetAsync(Relative($"/v1/sandboxes/{id}/files?path=.&list=true"));

        Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("application/octet-stream", get.Content.Headers.ContentType?.MediaType);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(await get.Content.ReadAsByteArrayAsync()));
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var entries = (await JsonAsync(list)).GetProperty("entries").EnumerateArray()
            .ToDictionary(e => e.GetProperty("name").GetString()!, e => (Type: e.GetProperty("type").GetString(), Size: e.GetProperty("size").GetInt64(), Mode: e.GetProperty("mode").GetString()));
        Assert.Equal(("file", content.LongLength, "0600"), entries["blob.bin"]);
        Assert.Equal("dir", entries["dir"].Type);
        Assert.Equal("link", entries["link"].Type);
        Assert.Equal(("file", 1L), (entries["odd\tname\nhere"].Type, entries["odd\tname\nhere"].Size));
        Assert.Equal(4, entries.Count);
    }

    [Fact]
    public async Task An_upload_may_be_larger_than_the_servers_default_body_limit()
    {
        var id = await SandboxAsync(Session);
        var content = RandomNumberGenerator.GetBytes(17 * 1024 * 1024);

        var put = await Session.PutAsync(Relative($"/v1/sandboxes/{id}/files?path=big.bin"), new ByteArrayContent(content));
        var size = await BufferedAsync(id, "wc -c < big.bin");

        Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        Assert.Equal(content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), size.GetProperty("stdout").GetString()!.Trim());

        // Refused from its Content-Length, before any of the body is read (so a raw request that sends none).
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(Host.ApiAddress.Host, Host.ApiAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"PUT /v1/sandboxes/{id}/files?path=huge.bin HTTP/1.1\r\nHost: x\r\nAuthorization: {Session.DefaultRequestHeaders.Authorization}\r\nContent-Length: {257L * 1024 * 1024}\r\n\r\n"));
        using var reader = new StreamReader(stream);
        Assert.StartsWith("HTTP/1.1 413", await reader.ReadLineAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PUT", "/etc/evil", HttpStatusCode.BadRequest, "outside the sandbox's files")]
    [InlineData("GET", "/etc/passwd", HttpStatusCode.BadRequest, "outside the sandbox's files")]
    [InlineData("GET", "../../../../etc/passwd", HttpStatusCode.BadRequest, "outside the sandbox's files")]
    [InlineData("GET", "missing.txt", HttpStatusCode.NotFound, "no such file or directory")]
    [InlineData("GET", ".", HttpStatusCode.BadRequest, "is a directory")]
    [InlineData("LIST", "missing", HttpStatusCode.NotFound, "no such file or directory")]
    [InlineData("LIST", "file.txt", HttpStatusCode.BadRequest, "not a directory")]
    public async Task A_refused_or_missing_path_is_a_problem_with_the_drivers_reason(string method, string path, HttpStatusCode status, string reason)
    {
        var id = await SandboxAsync(Session);
        await BufferedAsync(id, "echo x > file.txt");
        var url = $"/v1/sandboxes/{id}/files?path={Uri.EscapeDataString(path)}";

        var response = method switch
        {
            "PUT" => await Session.PutAsync(Relative(url), new ByteArrayContent([1, 2, 3])),
            "LIST" => await Session.GetAsync(Relative(url + "&list=true")),
            _ => await Session.GetAsync(Relative(url)),
        };

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(reason, (await JsonAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("path=", "path")]
    [InlineData("path=x&mode=999", "mode")]
    [InlineData("path=x&mode=rw", "mode")]
    public async Task A_bad_upload_request_is_a_validation_problem(string query, string field)
    {
        var id = await SandboxAsync(Session);

        var response = await Session.PutAsync(Relative($"/v1/sandboxes/{id}/files?{query}"), new ByteArrayContent([1]));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await JsonAsync(response)).GetProperty("errors").TryGetProperty(field, out _), $"no error for '{field}'");
    }
}
