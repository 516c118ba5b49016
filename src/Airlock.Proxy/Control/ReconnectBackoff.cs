namespace Airlock.Proxy.Control;

/// <summary>
/// Reconnect delays: exponential from the initial delay up to the maximum, with "equal jitter" (half the
/// delay fixed, half random) so that proxies that lost the same plane do not all come back at once.
/// </summary>
internal static class ReconnectBackoff
{
    /// <summary>The delay before attempt <paramref name="failures"/> + 1.</summary>
    /// <param name="failures">Consecutive failed attempts so far (1 after the first failure).</param>
    /// <param name="initial">The first delay.</param>
    /// <param name="max">The cap.</param>
    /// <param name="unitRandom">A random number in [0, 1).</param>
    public static TimeSpan Delay(int failures, TimeSpan initial, TimeSpan max, double unitRandom)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(failures);
        double exponent = Math.Min(failures - 1, 30);
        double ceiling = Math.Min(initial.Ticks * Math.Pow(2, exponent), max.Ticks);
        return TimeSpan.FromTicks((long)(ceiling / 2 + ceiling / 2 * Math.Clamp(unitRandom, 0, 1)));
    }
}
