using System.Buffers.Text;
using System.Security.Cryptography;

namespace Airlock.Server.Auth;

/// <summary>
/// The token string <c>alk_&lt;id&gt;_&lt;secret&gt;</c>: a 12-character public id (lower-case letters and digits) and
/// a 32-byte random secret in base64url without padding (43 characters, which may themselves contain <c>_</c>).
/// The store keeps the SHA-256 of the secret's bytes, never the secret.
/// </summary>
internal static class ApiTokenFormat
{
    internal const string Prefix = "alk_";
    internal const int IdLength = 12;
    internal const int SecretBytes = 32;
    internal const int SecretChars = 43;
    internal const int HashBytes = 32;

    private const string IdAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A new random public id.</summary>
    internal static string NewId() => RandomNumberGenerator.GetString(IdAlphabet, IdLength);

    /// <summary>A new random secret.</summary>
    internal static byte[] NewSecret() => RandomNumberGenerator.GetBytes(SecretBytes);

    /// <summary>The token string for an id and a secret.</summary>
    internal static string Format(string id, ReadOnlySpan<byte> secret) => Prefix + id + "_" + Base64Url.EncodeToString(secret);

    /// <summary>The stored hash of a secret.</summary>
    internal static byte[] Hash(ReadOnlySpan<byte> secret) => SHA256.HashData(secret);

    /// <summary>Splits a presented token into its id and secret; false for anything not shaped like a token.</summary>
    internal static bool TryParse(string? presented, out string id, out byte[] secret)
    {
        id = string.Empty;
        secret = [];
        if (presented is null
            || presented.Length != Prefix.Length + IdLength + 1 + SecretChars
            || !presented.StartsWith(Prefix, StringComparison.Ordinal)
            || presented[Prefix.Length + IdLength] != '_')
        {
            return false;
        }

        var idSpan = presented.AsSpan(Prefix.Length, IdLength);
        foreach (var c in idSpan)
        {
            if (!IdAlphabet.Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        var secretText = presented.AsSpan(Prefix.Length + IdLength + 1);
        var bytes = new byte[SecretBytes];
        if (Base64Url.DecodeFromChars(secretText, bytes, out var consumed, out var written) != System.Buffers.OperationStatus.Done
            || consumed != SecretChars
            || written != SecretBytes
            || !Base64Url.EncodeToString(bytes).AsSpan().SequenceEqual(secretText))
        {
            // The last check refuses non-canonical encodings (stray low bits in the last character), so one secret
            // has exactly one spelling.
            return false;
        }

        id = idSpan.ToString();
        secret = bytes;
        return true;
    }

    /// <summary>Whether a secret matches a stored hash, in time independent of where they differ.</summary>
    internal static bool Matches(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> storedHash)
    {
        Span<byte> hash = stackalloc byte[HashBytes];
        SHA256.HashData(secret, hash);
        return storedHash.Length == HashBytes && CryptographicOperations.FixedTimeEquals(hash, storedHash);
    }
}
