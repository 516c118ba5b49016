using Airlock.Proxy.Events;

namespace Airlock.Proxy.Tests.Events;

public class FanOutEventSinkTests
{
    [Fact]
    public void Every_sink_gets_every_event_in_order()
    {
        var first = new RecordingSink();
        var second = new RecordingSink();
        var sink = new FanOutEventSink(first, second);

        sink.Publish(SampleEvents.Full());
        sink.Publish(SampleEvents.Close());

        Assert.Equal([SampleEvents.Full(), SampleEvents.Close()], first.Events);
        Assert.Equal(first.Events, second.Events);
    }

    [Fact]
    public void A_throwing_sink_does_not_starve_the_others()
    {
        var after = new RecordingSink();
        var sink = new FanOutEventSink(new ThrowingSink(), after);

        var thrown = Assert.Throws<InvalidOperationException>(() => sink.Publish(SampleEvents.Full()));

        Assert.Equal("broken sink", thrown.Message);
        Assert.Single(after.Events);
    }

    [Fact]
    public void Several_throwing_sinks_are_reported_together()
    {
        var sink = new FanOutEventSink(new ThrowingSink(), new ThrowingSink());

        var thrown = Assert.Throws<AggregateException>(() => sink.Publish(SampleEvents.Full()));

        Assert.Equal(2, thrown.InnerExceptions.Count);
    }

    [Fact]
    public void The_sink_list_is_copied()
    {
        var recording = new RecordingSink();
        IEventSink[] sinks = [recording];
        var sink = new FanOutEventSink(sinks);

        sinks[0] = new ThrowingSink();
        sink.Publish(SampleEvents.Full());

        Assert.Single(recording.Events);
    }

    private sealed class RecordingSink : IEventSink
    {
        public List<EgressEvent> Events { get; } = [];

        public void Publish(EgressEvent egressEvent) => Events.Add(egressEvent);
    }

    private sealed class ThrowingSink : IEventSink
    {
        public void Publish(EgressEvent egressEvent) => throw new InvalidOperationException("broken sink");
    }
}
