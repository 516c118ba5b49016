using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Airlock.Proxy.Forwarding;

/// <summary>
/// The one HTTP client the proxy forwards with. It never resolves names: each request carries the address
/// that was classified (<see cref="DialAddress"/>) and the connect callback dials exactly that. Upstream TLS
/// is always verified, against the system roots plus an optional extra bundle (corporate roots, tests).
/// </summary>
internal static class UpstreamClient
{
    /// <summary>The classified address a request must be sent to.</summary>
    public static readonly HttpRequestOptionsKey<IPAddress> DialAddress = new("airlock.dial-address");

    /// <summary>A port to dial instead of the request's (offline demos and tests).</summary>
    public static readonly HttpRequestOptionsKey<int> DialPort = new("airlock.dial-port");

    public static HttpMessageInvoker Create(X509Certificate2Collection extraRoots, TimeSpan connectTimeout)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = connectTimeout,

            // Pooled connections stay pinned to the address classified when they were dialled; keep them short-lived
            // so address policy changes take effect.
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            ConnectCallback = ConnectAsync,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                    UpstreamCertificateValidation.IsTrusted(certificate, chain, errors, extraRoots),
            },
        };
        return new HttpMessageInvoker(handler, disposeHandler: true);
    }

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        if (!context.InitialRequestMessage.Options.TryGetValue(DialAddress, out var address))
        {
            throw new InvalidOperationException("an upstream request without a classified address reached the connect callback");
        }

        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            var port = context.InitialRequestMessage.Options.TryGetValue(DialPort, out var mapped) ? mapped : context.DnsEndPoint.Port;
            await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>Verifies upstream certificates: the system's verdict, or a chain to one of the extra roots.</summary>
internal static class UpstreamCertificateValidation
{
    public static bool IsTrusted(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, X509Certificate2Collection extraRoots)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        // A name mismatch or a missing certificate is never excused by an extra root.
        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || extraRoots.Count == 0 || certificate is null)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(extraRoots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = new X509Certificate2(certificate);
        return custom.Build(leaf);
    }
}
