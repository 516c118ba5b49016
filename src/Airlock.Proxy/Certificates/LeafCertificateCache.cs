using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Airlock.Proxy.Certificates;

/// <summary>
/// The leaf certificates of one session CA, minted on first use per host and reused: concurrent callers for
/// one host mint once, a leaf is replaced when it comes within <see cref="RenewBefore"/> of expiry, and the
/// cache holds at most about <c>capacity</c> hosts (the least recently used are evicted in batches).
/// </summary>
/// <remarks>
/// Evicted and replaced certificates are not disposed, because a handshake in flight may still hold them; the
/// garbage collector releases them.
/// </remarks>
/// <param name="ca">The CA that signs the leaves.</param>
/// <param name="time">The clock; the CA's clock when null.</param>
/// <param name="capacity">How many hosts to keep, at least 1.</param>
public sealed class LeafCertificateCache(SessionCertificateAuthority ca, TimeProvider? time = null, int capacity = 10_000)
{
    /// <summary>A cached leaf this close to expiry is replaced by a new one, if the CA can issue one that lives longer.</summary>
    public static readonly TimeSpan RenewBefore = TimeSpan.FromHours(1);

    private readonly SessionCertificateAuthority ca = ca ?? throw new ArgumentNullException(nameof(ca));
    private readonly TimeProvider time = time ?? ca?.TimeProvider ?? TimeProvider.System;
    private readonly int capacity = capacity >= 1 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "The capacity must be at least 1.");
    private readonly ConcurrentDictionary<string, Lazy<Leaf>> leaves = new(StringComparer.Ordinal);
    private readonly Lock evicting = new();
    private long uses;

    /// <summary>The number of hosts currently cached.</summary>
    internal int Count => leaves.Count;

    /// <summary>
    /// The certificate context for <paramref name="canonicalHost"/>: its leaf plus the CA certificate as the chain
    /// to send, built offline. Mints the leaf if there is none or it is about to expire.
    /// </summary>
    /// <param name="canonicalHost">A canonical host, as for <see cref="SessionCertificateAuthority.IssueLeaf"/>.</param>
    /// <returns>The context to put in <see cref="SslServerAuthenticationOptions.ServerCertificateContext"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="canonicalHost"/> is not canonical.</exception>
    /// <exception cref="CertificateAuthorityException">The CA has expired.</exception>
    public SslStreamCertificateContext GetContext(string canonicalHost) => GetLeaf(canonicalHost).Context;

    /// <summary>The leaf certificate (with its private key) for <paramref name="canonicalHost"/>; see <see cref="GetContext"/>.</summary>
    /// <param name="canonicalHost">A canonical host.</param>
    /// <returns>The cached or newly minted leaf. The cache owns it; do not dispose it.</returns>
    public X509Certificate2 Get(string canonicalHost) => GetLeaf(canonicalHost).Certificate;

    private Leaf GetLeaf(string canonicalHost)
    {
        ArgumentNullException.ThrowIfNull(canonicalHost);
        var now = time.GetUtcNow();
        var renewed = false;
        while (true)
        {
            var created = false;
            var entry = leaves.GetOrAdd(canonicalHost, host =>
            {
                created = true;
                return NewEntry(host);
            });

            Leaf leaf;
            try
            {
                leaf = entry.Value;
            }
            catch
            {
                // A failed mint is not cached: the next caller tries again.
                leaves.TryRemove(KeyValuePair.Create(canonicalHost, entry));
                throw;
            }

            // One caller swaps in a fresh entry; the others loop and find it. Once per call, so a CA whose clock
            // disagrees with ours cannot make us mint forever.
            if (!renewed && NeedsRenewal(leaf, now))
            {
                renewed = true;
                leaves.TryUpdate(canonicalHost, NewEntry(canonicalHost), entry);
                continue;
            }

            leaf.Touch(Interlocked.Increment(ref uses));
            if (created && leaves.Count > capacity)
            {
                Evict();
            }

            return leaf;
        }
    }

    private Lazy<Leaf> NewEntry(string host) =>
        new(() => Leaf.Mint(ca, host), LazyThreadSafetyMode.ExecutionAndPublication);

    private bool NeedsRenewal(Leaf leaf, DateTimeOffset now) =>
        now >= leaf.NotAfter || (now >= leaf.NotAfter - RenewBefore && leaf.NotAfter < ca.NotAfter);

    // Drops the least recently used tenth of the capacity (at least one entry) once the cache is over capacity,
    // so the O(n log n) scan is paid once per capacity/10 insertions rather than on each. Entries still being
    // minted are never chosen.
    private void Evict()
    {
        if (!evicting.TryEnter())
        {
            return;
        }

        try
        {
            var excess = leaves.Count - capacity;
            if (excess <= 0)
            {
                return;
            }

            var toRemove = Math.Min(leaves.Count, excess + Math.Max(1, capacity / 10));
            var candidates = leaves
                .Select(pair => (pair.Key, pair.Value, LastUsed: pair.Value.IsValueCreated ? pair.Value.Value.LastUsed : long.MaxValue))
                .OrderBy(candidate => candidate.LastUsed)
                .Take(toRemove)
                .ToList();
            foreach (var (host, entry, _) in candidates)
            {
                leaves.TryRemove(KeyValuePair.Create(host, entry));
            }
        }
        finally
        {
            evicting.Exit();
        }
    }

    private sealed class Leaf(X509Certificate2 certificate, SslStreamCertificateContext context)
    {
        private long lastUsed;

        public X509Certificate2 Certificate { get; } = certificate;

        public SslStreamCertificateContext Context { get; } = context;

        public DateTimeOffset NotAfter { get; } = new(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);

        public long LastUsed => Volatile.Read(ref lastUsed);

        public static Leaf Mint(SessionCertificateAuthority ca, string host)
        {
            var certificate = ca.IssueLeaf(host);
            try
            {
                var context = SslStreamCertificateContext.Create(
                    certificate, additionalCertificates: [ca.Certificate], offline: true);
                return new Leaf(certificate, context);
            }
            catch
            {
                certificate.Dispose();
                throw;
            }
        }

        public void Touch(long use) => Volatile.Write(ref lastUsed, use);
    }
}
