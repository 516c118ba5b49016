using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Airlock.Proxy.Tests.Infrastructure;

/// <summary>How a <see cref="FakeOrigin"/> listens. Immutable; <see cref="Default"/> suits most tests.</summary>
public sealed record FakeOriginOptions
{
    /// <summary>127.0.0.1, names <c>api.test</c>, <c>*.origin.test</c>, <c>localhost</c>; HTTP/1.1 and HTTP/2 over TLS, HTTP/1.1 in clear.</summary>
    public static FakeOriginOptions Default { get; } = new();

    /// <summary>The loopback address both ports bind (127.0.0.1, 127.0.0.2, ..., or ::1). Anything else is refused.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>DNS names in the HTTPS certificate; <see cref="Address"/> is always added as an IP SAN.</summary>
    public IReadOnlyList<string> Names { get; init; } = ["api.test", "*.origin.test", "localhost"];

    /// <summary>The HTTPS certificate with its key; null issues one from <see cref="TestCertificates.Root"/> for <see cref="Names"/>.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>Protocols offered on the HTTPS port (ALPN).</summary>
    public HttpProtocols HttpsProtocols { get; init; } = HttpProtocols.Http1AndHttp2;

    /// <summary>Protocols on the plain HTTP port (<see cref="HttpProtocols.Http2"/> alone means h2c with prior knowledge).</summary>
    public HttpProtocols HttpProtocols { get; init; } = HttpProtocols.Http1;

    /// <summary>Extra routes a test needs, mapped alongside the built-in ones (more specific patterns win over the catch-all).</summary>
    public Action<IEndpointRouteBuilder>? Routes { get; init; }
}
