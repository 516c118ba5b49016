namespace Airlock.Proxy.Hosting;

/// <summary>
/// Lets the runtime's socket engine run completions on its own epoll threads instead of handing each one to
/// the thread pool. Together with Kestrel's inline scheduling (always on in <see cref="ProxyServer"/>) this
/// removes two thread hand-offs per relayed read, which is most of a passthrough tunnel's CPU cost
/// (docs/benchmarks.md). It is safe for the proxy because nothing on its connection paths blocks: events go
/// to bounded channels, asks and upstream calls are awaited, and the only synchronous work is short CPU work
/// (a policy decision, a leaf certificate from the cache).
/// </summary>
public static class InlineSocketCompletions
{
    /// <summary>The runtime's switch; it is read once, when the process first uses an asynchronous socket.</summary>
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Turns inline completions on for this process unless the environment already decides (set it to 0 to
    /// opt out). Call before the first socket is used; later calls have no effect on the running engine.
    /// Child processes inherit the variable, so a process that starts untrusted commands should not call it.
    /// </summary>
    /// <returns>Whether inline completions are on.</returns>
    public static bool Enable()
    {
        var current = Environment.GetEnvironmentVariable(Variable);
        if (current is null)
        {
            Environment.SetEnvironmentVariable(Variable, "1");
            return true;
        }

        return current == "1";
    }
}
