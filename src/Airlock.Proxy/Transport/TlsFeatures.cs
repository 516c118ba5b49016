using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Airlock.Proxy.Transport;

/// <summary>
/// The TLS features Kestrel reads after a handshake. The proxy terminates TLS with its own <see cref="SslStream"/>
/// (after CONNECT and the ClientHello peek), so it must set these itself, or Kestrel would not select HTTP/2.
/// </summary>
internal sealed class TlsFeatures(SslStream stream) : ITlsConnectionFeature, ITlsApplicationProtocolFeature, ITlsHandshakeFeature
{
    public X509Certificate2? ClientCertificate { get; set; }

    public ReadOnlyMemory<byte> ApplicationProtocol { get; } = stream.NegotiatedApplicationProtocol.Protocol;

    public SslProtocols Protocol => stream.SslProtocol;

    public TlsCipherSuite? NegotiatedCipherSuite => stream.NegotiatedCipherSuite;

    public string HostName { get; init; } = string.Empty;

#pragma warning disable SYSLIB0058 // Kestrel's handshake feature still exposes the legacy algorithm properties.
    public CipherAlgorithmType CipherAlgorithm => stream.CipherAlgorithm;

    public int CipherStrength => stream.CipherStrength;

    public HashAlgorithmType HashAlgorithm => stream.HashAlgorithm;

    public int HashStrength => stream.HashStrength;

    public ExchangeAlgorithmType KeyExchangeAlgorithm => stream.KeyExchangeAlgorithm;

    public int KeyExchangeStrength => stream.KeyExchangeStrength;
#pragma warning restore SYSLIB0058

    public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult(ClientCertificate);
}
