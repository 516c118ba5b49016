using System.Net;
using Airlock.Policy.Decisions;
using Airlock.Policy.Hosts;
using Airlock.Policy.Loading;
using Airlock.Proxy.Resolution;

namespace Airlock.Proxy.Tests.Resolution;

public class DestinationResolverTests
{
    private static readonly EgressDecisionEngine Engine = EgressDecisionEngine.Compile(
        PolicyLoader.Parse("version: 1\negress:\n  - allow: api.test\n", "p.yaml").Policy!);

    private static CanonicalHost Host(string name) =>
        HostCanonicalizer.TryCanonicalize(name, out var host, out _) ? host : throw new ArgumentException(name);

    [Fact]
    public async Task A_rebinding_resolver_is_asked_once_and_every_answer_is_classified()
    {
        var answers = new Queue<IPAddress[]>([[IPAddress.Parse("93.184.215.14")], [IPAddress.Loopback]]);
        var lookups = 0;
        var resolver = new DestinationResolver(new Dictionary<string, IPAddress[]>(), new HashSet<IPAddress>(), TimeSpan.FromSeconds(5), (_, _) =>
        {
            lookups++;
            return Task.FromResult(answers.Dequeue());
        });

        var first = await resolver.ResolveAsync(Host("api.test"), Engine, CancellationToken.None);
        var second = await resolver.ResolveAsync(Host("api.test"), Engine, CancellationToken.None);

        // Each connection resolves once and dials exactly what it classified: the public answer is dialled,
        // the rebound loopback answer is refused.
        Assert.Equal(IPAddress.Parse("93.184.215.14"), first.Address);
        Assert.Null(second.Address);
        Assert.Equal(DecisionReason.BlockedAddress, second.Refusal);
        Assert.Equal(2, lookups);
    }

    [Fact]
    public async Task A_name_with_any_blocked_address_is_refused()
    {
        var resolver = new DestinationResolver(new Dictionary<string, IPAddress[]>(), new HashSet<IPAddress>(), TimeSpan.FromSeconds(5), (_, _) =>
            Task.FromResult(new[] { IPAddress.Parse("93.184.215.14"), IPAddress.Parse("169.254.169.254") }));

        var result = await resolver.ResolveAsync(Host("api.test"), Engine, CancellationToken.None);

        Assert.False(result.CanDial);
        Assert.Equal(DecisionReason.BlockedAddress, result.Refusal);
        Assert.Contains("metadata", result.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.0.1")]
    [InlineData("192.168.1.1")]
    [InlineData("100.64.0.1")]
    [InlineData("169.254.169.254")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("::1")]
    [InlineData("fe80::1")]
    [InlineData("fd00:ec2::254")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("64:ff9b::a00:1")]
    [InlineData("2002:a00:1::")]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2")]
    public async Task Overrides_do_not_bypass_the_block_list(string address)
    {
        var resolver = new DestinationResolver(
            new Dictionary<string, IPAddress[]> { ["api.test"] = [IPAddress.Parse(address)] },
            new HashSet<IPAddress>(),
            TimeSpan.FromSeconds(5),
            (_, _) => throw new InvalidOperationException("overridden names are not looked up"));

        var result = await resolver.ResolveAsync(Host("api.test"), Engine, CancellationToken.None);

        Assert.False(result.CanDial);
        Assert.Equal(DecisionReason.BlockedAddress, result.Refusal);
    }

    [Fact]
    public async Task The_proxys_own_addresses_are_blocked()
    {
        var own = IPAddress.Parse("93.184.215.99");
        var resolver = new DestinationResolver(new Dictionary<string, IPAddress[]> { ["api.test"] = [own] }, new HashSet<IPAddress> { own }, TimeSpan.FromSeconds(5));

        var result = await resolver.ResolveAsync(Host("api.test"), Engine, CancellationToken.None);

        Assert.Equal(DecisionReason.BlockedAddress, result.Refusal);
    }

    [Fact]
    public async Task A_lookup_that_hangs_times_out_as_a_failure()
    {
        var resolver = new DestinationResolver(new Dictionary<string, IPAddress[]>(), new HashSet<IPAddress>(), TimeSpan.FromMilliseconds(100), async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return [];
        });

        var result = await resolver.ResolveAsync(Host("api.test"), Engine, CancellationToken.None);

        Assert.False(result.CanDial);
        Assert.Null(result.Refusal);
        Assert.Contains("timed out", result.Failure, StringComparison.Ordinal);
    }
}
