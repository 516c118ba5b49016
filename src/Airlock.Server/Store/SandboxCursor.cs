using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Airlock.Server.Store;

/// <summary>
/// The keyset cursor of sandbox pages: the (creation time in Unix milliseconds, id) of the last row of a page,
/// as base64url of <c>ms.id</c>. Opaque to clients.
/// </summary>
internal static class SandboxCursor
{
    internal static string Format(DateTimeOffset createdAt, string id) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(createdAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + "." + id));

    internal static bool TryParse(string cursor, out DateTimeOffset createdAt, out string id)
    {
        createdAt = default;
        id = string.Empty;
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(cursor);
        }
        catch (FormatException)
        {
            return false;
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == text.Length - 1
            || !long.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            || ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            return false;
        }

        createdAt = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        id = text[(dot + 1)..];
        return true;
    }
}
