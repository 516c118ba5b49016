using System.Net;
using System.Text.Json;
using Airlock.Proxy.Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Airlock.Cli.Demo;

/// <summary>
/// Stand-ins for the demo's real destinations (api.github.com, api.anthropic.com, …): one HTTPS server on
/// loopback with certificates from its own CA, answering with what it received, so the demo works offline and
/// shows what really reached "upstream" (for example the injected API key the sandbox never had).
/// </summary>
internal sealed class DemoOrigin : IAsyncDisposable
{
    private readonly WebApplication _app;

    private DemoOrigin(WebApplication app, SessionCertificateAuthority ca, int port)
    {
        _app = app;
        CertificateAuthority = ca;
        Port = port;
    }

    public SessionCertificateAuthority CertificateAuthority { get; }

    public int Port { get; }

    public static async Task<DemoOrigin> StartAsync()
    {
        var ca = SessionCertificateAuthority.Create("demo-origins", TimeSpan.FromHours(1));
        var leaves = new LeafCertificateCache(ca);
        var builder = WebApplication.CreateSlimBuilder(Airlock.Proxy.Hosting.HostingDefaults.Options());
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(https => https.ServerCertificateSelector = (_, name) => leaves.Get(name ?? "localhost"));
            });
        });
        var app = builder.Build();
        app.Run(async context =>
        {
            var key = context.Request.Headers["x-api-key"].ToString();
            context.Response.ContentType = "application/json";
            var body = new Dictionary<string, string>
            {
                ["origin"] = context.Request.Host.Host,
                ["saw"] = $"{context.Request.Method} {context.Request.Path}{context.Request.QueryString}",
                ["x-api-key"] = key.Length == 0 ? "(none)" : key[..Math.Min(8, key.Length)] + "...",
            };
            await context.Response.WriteAsync(JsonSerializer.Serialize(body, DemoJson.Default.DictionaryStringString)).ConfigureAwait(false);
        });
        await app.StartAsync().ConfigureAwait(false);
        var port = new Uri(app.Urls.First()).Port;
        return new DemoOrigin(app, ca, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        CertificateAuthority.Dispose();
    }
}

/// <summary>Source-generated JSON for the demo origin (NativeAOT).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class DemoJson : System.Text.Json.Serialization.JsonSerializerContext;
