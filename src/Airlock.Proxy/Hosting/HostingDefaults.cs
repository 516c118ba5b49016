using Microsoft.AspNetCore.Builder;

namespace Airlock.Proxy.Hosting;

/// <summary>How Airlock's own HTTP servers (the proxy, the gateway, the demo origin) are built.</summary>
public static class HostingDefaults
{
    /// <summary>
    /// The content root is the program's own directory, never the working directory (a sandbox supervisor runs in
    /// <c>/</c>, and nothing there should configure a proxy), and configuration files are not watched: a watcher
    /// on <c>/</c> walks the whole file system, which once made every sandbox take seconds to start.
    /// </summary>
    /// <returns>Fresh options for <see cref="WebApplication.CreateSlimBuilder(WebApplicationOptions)"/>.</returns>
    public static WebApplicationOptions Options() => new()
    {
        Args = ["--hostBuilder:reloadConfigOnChange=false"],
        ContentRootPath = AppContext.BaseDirectory,
    };
}
