using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Airlock.Server.Tests.Api;

/// <summary>
/// An HTTP origin on 127.0.0.2 (loopback, but outside the sandbox's <c>NO_PROXY</c>, so curl inside a sandbox goes
/// through its proxy): every path answers <c>hello {path}</c>. Policies that reach it must allow the address
/// (<see cref="AddressesAllow"/>), because loopback is blocked by default.
/// </summary>
public sealed class LoopbackOrigin : IAsyncDisposable
{
    /// <summary>The policy section that lets a sandbox's proxy dial loopback.</summary>
    public const string AddressesAllow = "addresses:\n  allow: [\"127.0.0.0/8\"]\n";

    private readonly WebApplication _app;

    private LoopbackOrigin(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    /// <summary>The origin's port.</summary>
    public int Port { get; }

    /// <summary>Its address as a URL prefix, without a trailing slash.</summary>
    public string Url => $"http://127.0.0.2:{Port}";

    public static async Task<LoopbackOrigin> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Parse("127.0.0.2"), 0));
        var app = builder.Build();
        app.Run(context => context.Response.WriteAsync($"hello {context.Request.Path}"));
        await app.StartAsync();
        var port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        return new LoopbackOrigin(app, port);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
