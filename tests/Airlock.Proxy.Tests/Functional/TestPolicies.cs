namespace Airlock.Proxy.Tests.Functional;

/// <summary>Policies several functional test classes share (<c>{https}</c> is the origin's HTTPS port).</summary>
internal static class TestPolicies
{
    /// <summary>api.test on the origin's HTTPS port, relayed untouched; loopback allowed.</summary>
    public const string Passthrough = """
        version: 1
        egress:
          - allow: api.test
            ports: [{https}]
            tls: passthrough
        addresses:
          allow: ["127.0.0.0/8"]
        """;
}
