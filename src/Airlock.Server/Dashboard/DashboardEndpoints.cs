using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Airlock.Server.Dashboard;

/// <summary>
/// The web dashboard: three static files embedded in this assembly, served at <c>/</c> without a token. The page
/// asks for a token itself and calls the <c>/v1</c> API with it; the files hold no data, so serving them openly
/// gives nothing away.
/// </summary>
public static class DashboardEndpoints
{
    /// <summary>
    /// Every script, style, connection and image from this origin only, no inline script or style, no framing, no
    /// forms posting elsewhere: event hosts and paths are attacker-controlled and must never run as code.
    /// </summary>
    internal const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, DashboardAsset> Assets = new Dictionary<string, DashboardAsset>(StringComparer.Ordinal)
    {
        ["/"] = DashboardAsset.Load("index.html", "text/html; charset=utf-8"),
        ["/dashboard.js"] = DashboardAsset.Load("dashboard.js", "text/javascript; charset=utf-8"),
        ["/dashboard.css"] = DashboardAsset.Load("dashboard.css", "text/css; charset=utf-8"),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>
    /// Maps <c>GET /</c>, <c>/dashboard.js</c> and <c>/dashboard.css</c>. They short-circuit the pipeline: they
    /// run before the API's token check, which guards everything else.
    /// </summary>
    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        foreach (var (path, asset) in Assets)
        {
            endpoints.MapMethods(path, [HttpMethods.Get, HttpMethods.Head], asset.ServeAsync)
                .ShortCircuit()
                .ExcludeFromDescription();
        }

        return endpoints;
    }

    /// <summary>One embedded file, its type and its validator.</summary>
    private sealed class DashboardAsset
    {
        private readonly byte[] _content;
        private readonly string _contentType;
        private readonly string _etag;

        private DashboardAsset(byte[] content, string contentType)
        {
            _content = content;
            _contentType = contentType;
            _etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(content))[..16] + "\"";
        }

        public static DashboardAsset Load(string name, string contentType)
        {
            using var stream = typeof(DashboardEndpoints).Assembly.GetManifestResourceStream("Airlock.Server.Dashboard." + name)
                ?? throw new InvalidOperationException($"the dashboard's {name} is not embedded in the assembly");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return new DashboardAsset(copy.ToArray(), contentType);
        }

        public async Task ServeAsync(HttpContext context)
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            headers["Cross-Origin-Resource-Policy"] = "same-origin";
            headers.CacheControl = "no-cache";
            headers.ETag = _etag;
            if (context.Request.Headers[HeaderNames.IfNoneMatch].ToString() == _etag)
            {
                context.Response.StatusCode = StatusCodes.Status304NotModified;
                return;
            }

            context.Response.ContentType = _contentType;
            context.Response.ContentLength = _content.Length;
            if (!HttpMethods.IsHead(context.Request.Method))
            {
                await context.Response.Body.WriteAsync(_content, context.RequestAborted).ConfigureAwait(false);
            }
        }
    }
}
