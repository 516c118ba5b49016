using System.Collections.Immutable;
using System.Net;
using Airlock.Policy.Addresses;
using Airlock.Policy.Decisions;

namespace Airlock.Policy.Tests.Addresses;

public class AddressPolicyTests
{
    [Theory]
    // No policy: the built-in list decides.
    [InlineData("", "", "8.8.8.8", null)]
    [InlineData("", "", "2606:4700:4700::1111", null)]
    [InlineData("", "", "10.0.0.1", DecisionReason.BlockedAddress)]
    [InlineData("", "", "::ffff:10.0.0.1", DecisionReason.BlockedAddress)]
    [InlineData("", "", "169.254.169.254", DecisionReason.BlockedAddress)]
    [InlineData("", "", "64:ff9b::8.8.8.8", null)]
    [InlineData("", "", "64:ff9b::a00:1", DecisionReason.BlockedAddress)]
    // Allow lifts the built-in block for the ranges it covers, and only those.
    [InlineData("10.20.0.0/16", "", "10.20.1.1", null)]
    [InlineData("10.20.0.0/16", "", "10.20.255.255", null)]
    [InlineData("10.20.0.0/16", "", "10.21.0.1", DecisionReason.BlockedAddress)]
    [InlineData("10.20.0.0/16", "", "::ffff:10.20.1.1", null)]
    [InlineData("10.20.0.0/16", "", "::ffff:10.21.0.1", DecisionReason.BlockedAddress)]
    [InlineData("10.20.0.0/16", "", "127.0.0.1", DecisionReason.BlockedAddress)]
    [InlineData("169.254.169.254/32", "", "169.254.169.254", null)]
    [InlineData("fd00::/8", "", "fd12::1", null)]
    [InlineData("fd00::/8", "", "fc00::1", DecisionReason.BlockedAddress)]
    // An IPv6 allow does not reach IPv4, nor an IPv4 allow the NAT64 spelling.
    [InlineData("::/0", "", "10.0.0.1", DecisionReason.BlockedAddress)]
    [InlineData("10.0.0.0/8", "", "64:ff9b::a00:1", DecisionReason.BlockedAddress)]
    // Deny always blocks: public addresses, built-in blocked addresses, and over an allow.
    [InlineData("", "8.8.8.0/24", "8.8.8.8", DecisionReason.DeniedAddress)]
    [InlineData("", "8.8.8.0/24", "8.8.4.4", null)]
    [InlineData("", "8.8.8.0/24", "::ffff:8.8.8.8", DecisionReason.DeniedAddress)]
    [InlineData("", "203.0.113.0/24", "203.0.113.5", DecisionReason.DeniedAddress)]
    [InlineData("", "203.0.113.0/24", "::ffff:203.0.113.5", DecisionReason.DeniedAddress)]
    [InlineData("", "2606:4700::/32", "2606:4700::1", DecisionReason.DeniedAddress)]
    [InlineData("", "2606:4700::/32", "2606:4701::1", null)]
    [InlineData("10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", DecisionReason.DeniedAddress)]
    [InlineData("10.0.0.0/8", "10.1.0.0/16", "10.2.0.1", null)]
    [InlineData("8.8.8.0/24", "8.8.8.8/32", "8.8.8.8", DecisionReason.DeniedAddress)]
    [InlineData("0.0.0.0/0,::/0", "10.0.0.0/8", "::ffff:10.9.9.9", DecisionReason.DeniedAddress)]
    public void Allow_and_deny_apply_over_the_built_in_list(string allow, string deny, string address, DecisionReason? expected)
    {
        var verdict = Policy(allow, deny).Evaluate(IPAddress.Parse(address));
        Assert.Equal(expected is null, verdict.Allowed);
        Assert.Equal(expected, verdict.Reason);
        Assert.Equal(AddressClassifier.Classify(IPAddress.Parse(address)), verdict.Class);
        Assert.False(string.IsNullOrEmpty(verdict.Detail));
    }

    [Theory]
    [InlineData("", "203.0.113.7", "203.0.113.7", DecisionReason.BlockedAddress)]
    [InlineData("", "8.8.8.8", "8.8.8.8", DecisionReason.BlockedAddress)]
    [InlineData("", "8.8.8.8", "::ffff:8.8.8.8", DecisionReason.BlockedAddress)]
    [InlineData("", "::ffff:8.8.8.8", "8.8.8.8", DecisionReason.BlockedAddress)]
    [InlineData("", "2606:4700::1", "2606:4700::1", DecisionReason.BlockedAddress)]
    [InlineData("", "8.8.8.8", "8.8.4.4", null)]
    [InlineData("8.8.8.0/24", "8.8.8.8", "8.8.8.8", null)]
    [InlineData("", "", "8.8.8.8", null)]
    public void The_proxys_own_addresses_are_blocked_unless_allowed(string allow, string proxy, string address, DecisionReason? expected)
    {
        var proxies = proxy.Length == 0 ? new HashSet<IPAddress>() : [IPAddress.Parse(proxy)];
        var verdict = Policy(allow, "").Evaluate(IPAddress.Parse(address), proxies);
        Assert.Equal(expected is null, verdict.Allowed);
        Assert.Equal(expected, verdict.Reason);
        if (expected is not null && proxy.Length > 0 && verdict.Class.Category == AddressCategory.Public)
        {
            Assert.Contains("proxy's own address", verdict.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Details_say_why()
    {
        var policy = Policy("10.20.0.0/16", "203.0.113.0/24");
        Assert.Equal("10.0.0.1 is blocked: private 10.0.0.0/8", policy.Evaluate(IPAddress.Parse("10.0.0.1")).Detail);
        Assert.Equal("private 10.0.0.0/8, allowed by addresses.allow 10.20.0.0/16", policy.Evaluate(IPAddress.Parse("10.20.0.1")).Detail);
        Assert.Equal("203.0.113.5 is in addresses.deny 203.0.113.0/24", policy.Evaluate(IPAddress.Parse("203.0.113.5")).Detail);
        Assert.Equal("public address", policy.Evaluate(IPAddress.Parse("8.8.8.8")).Detail);
        Assert.Equal("8.8.8.8 is blocked: the proxy's own address", policy.Evaluate(IPAddress.Parse("8.8.8.8"), new HashSet<IPAddress> { IPAddress.Parse("8.8.8.8") }).Detail);
    }

    [Fact]
    public void Empty_policy_is_the_built_in_list()
    {
        Assert.True(AddressPolicy.Empty.Evaluate(IPAddress.Parse("1.1.1.1")).Allowed);
        Assert.False(AddressPolicy.Empty.Evaluate(IPAddress.Parse("127.0.0.1")).Allowed);
        Assert.False(AddressPolicy.Empty.Evaluate(IPAddress.Parse("::1"), null).Allowed);
    }

    [Fact]
    public void Default_arrays_act_as_empty()
    {
        var policy = new AddressPolicy { Allow = default, Deny = default };
        Assert.True(policy.Evaluate(IPAddress.Parse("8.8.8.8")).Allowed);
        Assert.Equal(DecisionReason.BlockedAddress, policy.Evaluate(IPAddress.Parse("10.0.0.1")).Reason);
    }

    private static AddressPolicy Policy(string allow, string deny) => new()
    {
        Allow = Networks(allow),
        Deny = Networks(deny),
    };

    private static ImmutableArray<IPNetwork> Networks(string list) =>
        [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(n => IPNetwork.Parse(n))];
}
