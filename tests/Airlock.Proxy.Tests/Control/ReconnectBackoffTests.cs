using Airlock.Proxy.Control;

namespace Airlock.Proxy.Tests.Control;

public class ReconnectBackoffTests
{
    private static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(1, 50, 100)]
    [InlineData(2, 100, 200)]
    [InlineData(3, 200, 400)]
    [InlineData(7, 3200, 6400)]
    [InlineData(8, 5000, 10000)]
    [InlineData(9, 5000, 10000)]
    [InlineData(1000, 5000, 10000)]
    public void Delays_double_up_to_the_cap_with_half_of_each_random(int failures, int lowMs, int highMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(lowMs), ReconnectBackoff.Delay(failures, Initial, Max, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(highMs), ReconnectBackoff.Delay(failures, Initial, Max, 1));
        TimeSpan middle = ReconnectBackoff.Delay(failures, Initial, Max, 0.5);
        Assert.InRange(middle, TimeSpan.FromMilliseconds(lowMs), TimeSpan.FromMilliseconds(highMs));
    }
}
