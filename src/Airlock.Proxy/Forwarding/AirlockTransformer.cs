using System.Net;
using Airlock.Policy.Model;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Airlock.Proxy.Forwarding;

/// <summary>
/// Shapes each forwarded request: pins the classified address, drops proxy credentials and hop-by-hop proxy
/// headers, sends the normalised target when the rule's HTTP rules were matched on it, and sets injected
/// headers (replacing whatever the client sent).
/// </summary>
internal sealed class AirlockTransformer(
    IPAddress dialAddress,
    int? dialPort,
    string? normalizedPathAndQuery,
    IReadOnlyList<(string Header, string Value)> injections,
    Action<HttpResponseMessage?>? onResponse = null)
    : HttpTransformer
{
    public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        onResponse?.Invoke(proxyResponse);
        return base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
    }

    private static readonly string[] ProxyHeaders = ["Proxy-Authorization", "Proxy-Connection", "Proxy-Authenticate"];

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
        proxyRequest.Options.Set(UpstreamClient.DialAddress, dialAddress);
        if (dialPort is { } port)
        {
            proxyRequest.Options.Set(UpstreamClient.DialPort, port);
        }
        if (normalizedPathAndQuery is not null)
        {
            proxyRequest.RequestUri = new Uri(destinationPrefix + normalizedPathAndQuery, UriKind.Absolute);
        }

        foreach (var header in ProxyHeaders)
        {
            proxyRequest.Headers.Remove(header);
        }

        foreach (var (header, value) in injections)
        {
            proxyRequest.Headers.Remove(header);
            proxyRequest.Content?.Headers.Remove(header);
            if (!proxyRequest.Headers.TryAddWithoutValidation(header, value))
            {
                proxyRequest.Content?.Headers.TryAddWithoutValidation(header, value);
            }
        }
    }

    /// <summary>Renders a rule's injections with the proxy's secrets; null when a secret is missing.</summary>
    public static IReadOnlyList<(string Header, string Value)>? Render(EgressRule? rule, Func<string, string?> secrets)
    {
        if (rule is not { Inject.IsDefaultOrEmpty: false })
        {
            return [];
        }

        var rendered = new List<(string, string)>(rule.Inject.Length);
        foreach (var injection in rule.Inject)
        {
            if (injection.Value.Render(secrets) is not { } value)
            {
                return null;
            }

            rendered.Add((injection.Header, value));
        }

        return rendered;
    }
}
