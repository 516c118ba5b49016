using System.Security.Cryptography;
using System.Text;

namespace Airlock.Kubernetes.Objects;

/// <summary>
/// The names of one session's objects: <c>airlock-&lt;slug&gt;-&lt;role&gt;-&lt;hash&gt;</c>, where the slug is the
/// session id made DNS-safe and shortened, and the hash (50 bits of SHA-256 of the exact session id, base32) keeps
/// ids that share a slug apart. Every name is a DNS-1035 label of at most 63 characters, so it is valid for every
/// kind, Services included.
/// </summary>
public sealed record SandboxObjectNames
{
    private const int MaxSlugLength = 30;
    private const int HashLength = 10;
    private const string Base32 = "abcdefghijklmnopqrstuvwxyz234567";

    private SandboxObjectNames(string slug, string hash)
    {
        string Name(string role) => slug.Length == 0 ? $"airlock-{role}-{hash}" : $"airlock-{slug}-{role}-{hash}";
        Workload = Name("agent");
        Proxy = Name("proxy");
        ProxySecret = Name("proxy-config");
        CaSecret = Name("ca");
        WorkloadNetworkPolicy = Name("agent-net");
        ProxyNetworkPolicy = Name("proxy-net");
    }

    /// <summary>The workload: the Pod, Sandbox or SandboxClaim.</summary>
    public string Workload { get; }

    /// <summary>The paired proxy Pod and its Service (proxy-pod topology).</summary>
    public string Proxy { get; }

    /// <summary>The Secret only the proxy mounts: CA certificate and key, policy, injection secrets.</summary>
    public string ProxySecret { get; }

    /// <summary>The Secret the workload mounts: the CA certificate, nothing else.</summary>
    public string CaSecret { get; }

    /// <summary>The NetworkPolicy selecting the workload's pod.</summary>
    public string WorkloadNetworkPolicy { get; }

    /// <summary>The NetworkPolicy selecting the paired proxy pod (proxy-pod topology).</summary>
    public string ProxyNetworkPolicy { get; }

    /// <summary>The names for a session id.</summary>
    public static SandboxObjectNames For(string sessionId)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        return new SandboxObjectNames(Slug(sessionId), Hash(sessionId));
    }

    /// <summary>A name for an object of a warm pool (<paramref name="role"/> is a short lower-case word).</summary>
    public static string ForPool(string poolName, string role)
    {
        ArgumentNullException.ThrowIfNull(poolName);
        var slug = Slug(poolName);
        var hash = Hash("pool\0" + poolName);
        return slug.Length == 0 ? $"airlock-pool-{role}-{hash}" : $"airlock-pool-{slug}-{role}-{hash}";
    }

    private static string Slug(string id)
    {
        var builder = new StringBuilder(MaxSlugLength);
        foreach (var c in id.ToLowerInvariant())
        {
            if (builder.Length == MaxSlugLength)
            {
                break;
            }

            var safe = c is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? c : '-';
            if (safe == '-' && (builder.Length == 0 || builder[^1] == '-'))
            {
                continue;
            }

            builder.Append(safe);
        }

        return builder.ToString().TrimEnd('-');
    }

    private static string Hash(string id)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(id));
        var bits = BitConverter.ToUInt64(digest, 0);
        var chars = new char[HashLength];
        for (var i = 0; i < HashLength; i++)
        {
            chars[i] = Base32[(int)(bits & 31)];
            bits >>= 5;
        }

        return new string(chars);
    }
}
