using System.Runtime.Versioning;
using System.Text;
using Airlock.Proxy.Control;

namespace Airlock.Proxy.Tests.Control;

[UnsupportedOSPlatform("windows")]
public sealed class EventSpoolTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Line(string text) => Encoding.UTF8.GetBytes(text + "\n");

    private static List<string> Drain(EventSpool spool)
    {
        var lines = new List<string>();
        while (spool.PendingBytes > 0)
        {
            ReadOnlyMemory<byte> chunk = spool.PeekLines();
            Assert.Equal((byte)'\n', chunk.Span[^1]);
            lines.AddRange(Encoding.UTF8.GetString(chunk.Span).TrimEnd('\n').Split('\n'));
            spool.Consume(chunk.Length);
        }

        return lines;
    }

    [Fact]
    public void Lines_come_out_in_the_order_they_went_in_and_the_file_is_truncated_when_all_are_consumed()
    {
        string path = _dir.File("spool.ndjson");
        using EventSpool spool = EventSpool.Open(path, 1 << 20);
        for (int i = 0; i < 10_000; i++)
        {
            Assert.True(spool.TryAppend(Line($"{{\"seq\":{i}}}")));
        }

        Assert.True(new FileInfo(path).Length > 64 * 1024);
        Assert.Equal(Enumerable.Range(0, 10_000).Select(i => $"{{\"seq\":{i}}}"), Drain(spool));
        Assert.Equal(0, new FileInfo(path).Length);
        Assert.Equal(0, spool.Start);
        Assert.Equal(0, spool.End);
    }

    [Fact]
    public void Appends_past_the_bound_are_refused()
    {
        using EventSpool spool = EventSpool.Open(_dir.File("spool.ndjson"), 10);
        Assert.True(spool.TryAppend(Line("1234")));
        Assert.True(spool.TryAppend(Line("5678")));
        Assert.False(spool.TryAppend(Line("x")));
        Assert.Equal(10, spool.PendingBytes);
        spool.Consume(5);
        Assert.False(spool.TryAppend(Line("x")));
        spool.Consume(5);
        Assert.True(spool.TryAppend(Line("x")));
    }

    [Fact]
    public void A_line_longer_than_the_read_buffer_is_read_whole()
    {
        using EventSpool spool = EventSpool.Open(_dir.File("spool.ndjson"), 4 << 20);
        string big = new('b', 300_000);
        spool.TryAppend(Line("small"));
        spool.TryAppend(Line(big));
        spool.TryAppend(Line("after"));
        Assert.Equal(["small", big, "after"], Drain(spool));
    }

    [Fact]
    public void The_file_is_private_to_its_owner_and_a_missing_directory_is_created_private()
    {
        string path = Path.Combine(_dir.Path, "sub", "spool.ndjson");
        using (EventSpool.Open(path, 100))
        {
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));

        string loose = _dir.File("loose.ndjson");
        File.WriteAllText(loose, "");
        File.SetUnixFileMode(loose, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        using (EventSpool.Open(loose, 100))
        {
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(loose));
    }

    [Fact]
    public void Two_spools_cannot_share_a_file()
    {
        string path = _dir.File("spool.ndjson");
        using EventSpool first = EventSpool.Open(path, 100);
        Assert.ThrowsAny<IOException>(() => EventSpool.Open(path, 100));
    }

    [Fact]
    public void A_symbolic_link_is_refused()
    {
        string target = _dir.File("elsewhere");
        File.WriteAllText(target, "");
        string link = _dir.File("spool.ndjson");
        File.CreateSymbolicLink(link, target);
        IOException error = Assert.ThrowsAny<IOException>(() => EventSpool.Open(link, 100));
        Assert.Contains("symbolic link", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lines_left_by_an_earlier_run_are_kept_and_a_torn_last_line_is_dropped()
    {
        string path = _dir.File("spool.ndjson");
        File.WriteAllText(path, "{\"a\":1}\n{\"b\":2}\n{\"c\":");
        using EventSpool spool = EventSpool.Open(path, 100);
        Assert.Equal(5, spool.DiscardedTailBytes);
        Assert.Equal(16, new FileInfo(path).Length);
        Assert.True(spool.TryAppend(Line("{\"d\":4}")));
        Assert.Equal(["{\"a\":1}", "{\"b\":2}", "{\"d\":4}"], Drain(spool));
    }

    [Fact]
    public void A_line_longer_than_the_protocol_allows_ends_what_is_kept()
    {
        string path = _dir.File("spool.ndjson");
        File.WriteAllText(path, "ok\n" + new string('x', ControlProtocol.MaxLineBytes + 1) + "\nlost\n");
        using EventSpool spool = EventSpool.Open(path, 4 << 20);
        Assert.Equal(3, spool.End);
        Assert.Equal(["ok"], Drain(spool));
    }

    [Fact]
    public void Prepending_puts_lines_before_the_pending_ones_and_drops_what_was_consumed()
    {
        string path = _dir.File("spool.ndjson");
        using (EventSpool spool = EventSpool.Open(path, 100))
        {
            spool.TryAppend(Line("old1"));
            spool.TryAppend(Line("old2"));
            spool.TryAppend(Line("old3"));
            spool.Consume(5);
            spool.Prepend([Line("mem1"), Line("mem2")]);
            Assert.Equal(0, spool.Start);
            Assert.True(spool.TryAppend(Line("new")));
            Assert.ThrowsAny<IOException>(() => EventSpool.Open(path, 100));
        }

        Assert.Equal("mem1\nmem2\nold2\nold3\nnew\n", File.ReadAllText(path));
        Assert.False(File.Exists(path + ".tmp"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using EventSpool reopened = EventSpool.Open(path, 100);
        Assert.Equal(["mem1", "mem2", "old2", "old3", "new"], Drain(reopened));
    }

    [Fact]
    public void Prepending_to_an_empty_spool_appends_and_nothing_to_prepend_changes_nothing()
    {
        string path = _dir.File("spool.ndjson");
        using (EventSpool spool = EventSpool.Open(path, 100))
        {
            spool.Prepend([]);
            Assert.Equal(0, new FileInfo(path).Length);
            spool.Prepend([Line("a"), Line("b")]);
            spool.Prepend([]);
        }

        Assert.Equal("a\nb\n", File.ReadAllText(path));
    }
}
