using System.Collections.Concurrent;
using Airlock.Proxy.Events;
using Airlock.Server.Store;

namespace Airlock.Server.Tests.Store;

public abstract partial class ServerStoreTests
{
    private async Task<List<StoredEvent>> AllEventsAsync()
    {
        var all = new List<StoredEvent>();
        long? after = null;
        while (true)
        {
            var page = await Store.QueryEventsAsync(new EventQuery { AfterSeq = after, Limit = 1000 }, CancellationToken.None);
            if (page.Count == 0)
            {
                return all;
            }

            all.AddRange(page);
            after = page[^1].Seq;
        }
    }

    [Fact]
    public async Task A_batch_is_stored_in_order_and_reads_back_as_the_same_events()
    {
        var batch = Events("evt_", 5);
        batch[2] = batch[2] with { Type = EgressEventType.Close, Decision = null, Reason = null, Rule = null, BytesIn = 10, BytesOut = 20, DurationMs = 30 };

        var stored = await Store.AppendEventsAsync(batch, CancellationToken.None);

        Assert.Equal(batch.Select(e => e.Id), stored.Select(s => s.Event.Id));
        Assert.True(stored.Zip(stored.Skip(1)).All(p => p.First.Seq < p.Second.Seq));
        Assert.Equal(batch.Select(EventJson.ToJson), stored.Select(s => s.Json));
        var read = await AllEventsAsync();
        Assert.Equal(stored.Select(s => s.Seq), read.Select(r => r.Seq));
        Assert.Equal(batch, read.Select(r => r.Event));
        Assert.Equal(stored.Select(s => s.Json), read.Select(r => r.Json));
    }

    [Fact]
    public async Task Duplicates_by_id_are_ignored_across_and_within_batches()
    {
        var first = await Store.AppendEventsAsync(Events("evt_", 3), CancellationToken.None);
        var changed = Event("evt_00001", host: "changed.example");

        var second = await Store.AppendEventsAsync([Event("evt_new1"), changed, Event("evt_00002"), Event("evt_new2"), Event("evt_new1", host: "second.copy")], CancellationToken.None);

        Assert.Equal(["evt_new1", "evt_new2"], second.Select(s => s.Event.Id));
        Assert.Equal("github.com", second[0].Event.Host);
        Assert.True(second[0].Seq > first[^1].Seq);
        var all = await AllEventsAsync();
        Assert.Equal(["evt_00000", "evt_00001", "evt_00002", "evt_new1", "evt_new2"], all.Select(e => e.Event.Id));
        Assert.Equal("github.com", all[1].Event.Host);
        Assert.Empty(await Store.AppendEventsAsync(Events("evt_", 3), CancellationToken.None));
        Assert.Empty(await Store.AppendEventsAsync([], CancellationToken.None));
    }

    [Fact]
    public async Task Events_are_found_by_each_filter()
    {
        await Store.AppendEventsAsync(
            [
                Event("e1", session: "s1", decision: "allow", reason: "rule_allow", host: "github.com", ts: Start),
                Event("e2", session: "s2", decision: "deny", reason: "default_deny", host: "evil.example", ts: Start.AddMinutes(1)),
                Event("e3", session: "s1", decision: "deny", reason: "private_address", host: "10.0.0.1", ts: Start.AddMinutes(2)),
                Event("e4", session: "s2", decision: "pending", reason: "ask", host: "github.com", ts: Start.AddMinutes(3)),
            ],
            CancellationToken.None);

        async Task<string[]> Ids(EventQuery query) => [.. (await Store.QueryEventsAsync(query, CancellationToken.None)).Select(e => e.Event.Id)];

        Assert.Equal(["e1", "e3"], await Ids(new EventQuery { Session = "s1" }));
        Assert.Equal(["e2", "e3"], await Ids(new EventQuery { Decision = "deny" }));
        Assert.Equal(["e3"], await Ids(new EventQuery { Reason = "private_address" }));
        Assert.Equal(["e1", "e4"], await Ids(new EventQuery { Host = "github.com" }));
        Assert.Equal(["e2", "e3", "e4"], await Ids(new EventQuery { From = Start.AddMinutes(1) }));
        Assert.Equal(["e1", "e2"], await Ids(new EventQuery { To = Start.AddMinutes(2) }));
        Assert.Equal(["e2", "e3"], await Ids(new EventQuery { From = Start.AddSeconds(30), To = Start.AddMinutes(2).AddMilliseconds(1) }));
        Assert.Equal(["e3"], await Ids(new EventQuery { Session = "s1", Decision = "deny" }));
        Assert.Empty(await Ids(new EventQuery { Session = "s1", Host = "evil.example" }));
        Assert.Equal(["e1", "e2"], await Ids(new EventQuery { Limit = 2 }));
    }

    [Fact]
    public async Task AfterSeq_is_strictly_after_and_resuming_page_by_page_sees_everything_once()
    {
        var stored = await Store.AppendEventsAsync(Events("evt_", 57), CancellationToken.None);

        var after = await Store.QueryEventsAsync(new EventQuery { AfterSeq = stored[10].Seq, Limit = 1 }, CancellationToken.None);
        Assert.Equal(stored[11].Seq, Assert.Single(after).Seq);

        var seen = new List<StoredEvent>();
        long? last = 0;
        for (var page = 0; page < 20; page++)
        {
            var next = await Store.QueryEventsAsync(new EventQuery { AfterSeq = last, Limit = 10 }, CancellationToken.None);
            if (next.Count == 0)
            {
                break;
            }

            seen.AddRange(next);
            last = next[^1].Seq;

            // Events arriving between pages are picked up by the next one.
            if (page == 2)
            {
                stored = [.. stored, .. await Store.AppendEventsAsync(Events("late_", 3), CancellationToken.None)];
            }
        }

        Assert.Equal(stored.Select(s => s.Seq), seen.Select(s => s.Seq));
        Assert.Equal(60, seen.Select(s => s.Event.Id).Distinct().Count());
        Assert.Empty(await Store.QueryEventsAsync(new EventQuery { AfterSeq = stored[^1].Seq }, CancellationToken.None));
    }

    [Fact]
    public async Task The_latest_seq_is_zero_when_empty_then_the_last_stored()
    {
        Assert.Equal(0, await Store.GetLatestEventSeqAsync(CancellationToken.None));

        var stored = await Store.AppendEventsAsync(Events("evt_", 3), CancellationToken.None);

        Assert.Equal(stored[^1].Seq, await Store.GetLatestEventSeqAsync(CancellationToken.None));
        Assert.Empty(await Store.QueryEventsAsync(new EventQuery { AfterSeq = await Store.GetLatestEventSeqAsync(CancellationToken.None) }, CancellationToken.None));
    }

    [Fact]
    public async Task A_page_is_capped_at_1000()
    {
        await Store.AppendEventsAsync(Events("evt_", 1200), CancellationToken.None);

        var page = await Store.QueryEventsAsync(new EventQuery { Limit = 5000 }, CancellationToken.None);

        Assert.Equal(EventQuery.MaxLimit, page.Count);
    }

    [Fact]
    public async Task Concurrent_appends_lose_and_duplicate_nothing()
    {
        const int Writers = 6;
        const int Batches = 15;
        const int BatchSize = 40;
        var returned = new ConcurrentBag<StoredEvent>();

        // The second half of each writer's batch is the first half of its neighbour's, as two deliveries of the same
        // spool would be.
        static string Id(int writer, int batch, int i) =>
            i < BatchSize / 2 ? $"evt_{writer}_{batch:D3}_{i:D3}" : $"evt_{(writer + 1) % Writers}_{batch:D3}_{i - (BatchSize / 2):D3}";

        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var b = 0; b < Batches; b++)
            {
                var batch = Enumerable.Range(0, BatchSize)
                    .Select(i => Event(Id(w, b, i), session: $"s{w}"))
                    .ToList();
                foreach (var stored in await Store.AppendEventsAsync(batch, CancellationToken.None))
                {
                    returned.Add(stored);
                }
            }
        })));

        var expectedIds = Enumerable.Range(0, Writers)
            .SelectMany(w => Enumerable.Range(0, Batches).SelectMany(b => Enumerable.Range(0, BatchSize).Select(i => Id(w, b, i))))
            .ToHashSet();
        var all = await AllEventsAsync();
        Assert.Equal(Writers * Batches * BatchSize / 2, expectedIds.Count);
        Assert.Equal(expectedIds.Count, all.Count);
        Assert.Equal(expectedIds.Order(StringComparer.Ordinal), all.Select(e => e.Event.Id).Order(StringComparer.Ordinal));
        Assert.Equal(all.Count, returned.Count);
        Assert.Equal(all.Select(e => e.Seq).Order(), returned.Select(e => e.Seq).Order());
        Assert.Equal(all.Count, returned.Select(e => e.Event.Id).Distinct().Count());
    }
}
