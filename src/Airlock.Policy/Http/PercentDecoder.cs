using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Airlock.Policy.Http;

/// <summary>Why percent-decoding failed.</summary>
internal enum PercentDecodeStatus
{
    /// <summary>Decoded.</summary>
    Done,

    /// <summary>A <c>%</c> not followed by two hex digits.</summary>
    InvalidEscape,

    /// <summary>The decoded bytes are not well-formed UTF-8 (this includes overlong forms such as <c>%C0%AE</c>).</summary>
    InvalidUtf8,
}

/// <summary>
/// One pass of RFC 3986 percent-decoding into strict UTF-8. Decoding is done exactly once: the result is
/// never decoded again, so <c>%252e</c> becomes the three characters <c>%2e</c>.
/// </summary>
internal static class PercentDecoder
{
    private const int StackLimit = 512;

    /// <summary>Decodes <paramref name="raw"/>.</summary>
    /// <param name="raw">Text as written or received. Non-ASCII characters are taken as their UTF-8 bytes.</param>
    /// <param name="plusIsSpace">Whether <c>+</c> means a space (query strings, form encoding).</param>
    /// <param name="decoded">The decoded text, when the status is <see cref="PercentDecodeStatus.Done"/>.</param>
    public static PercentDecodeStatus TryDecode(ReadOnlySpan<char> raw, bool plusIsSpace, out string decoded)
    {
        if (IsPlainAscii(raw, plusIsSpace))
        {
            decoded = raw.ToString();
            return PercentDecodeStatus.Done;
        }

        decoded = string.Empty;
        var capacity = raw.Length * 3;
        byte[]? rented = null;
        Span<byte> buffer = capacity <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(capacity));
        try
        {
            var length = 0;
            for (var i = 0; i < raw.Length; i++)
            {
                var c = raw[i];
                if (c == '%')
                {
                    if (i + 2 >= raw.Length || !TryHex(raw[i + 1], out var high) || !TryHex(raw[i + 2], out var low))
                    {
                        return PercentDecodeStatus.InvalidEscape;
                    }

                    buffer[length++] = (byte)((high << 4) | low);
                    i += 2;
                }
                else if (c == '+' && plusIsSpace)
                {
                    buffer[length++] = (byte)' ';
                }
                else if (char.IsAscii(c))
                {
                    buffer[length++] = (byte)c;
                }
                else
                {
                    if (Rune.DecodeFromUtf16(raw[i..], out var rune, out var used) != OperationStatus.Done)
                    {
                        return PercentDecodeStatus.InvalidUtf8;
                    }

                    length += rune.EncodeToUtf8(buffer[length..]);
                    i += used - 1;
                }
            }

            var bytes = buffer[..length];
            if (!Utf8.IsValid(bytes))
            {
                return PercentDecodeStatus.InvalidUtf8;
            }

            decoded = Encoding.UTF8.GetString(bytes);
            return PercentDecodeStatus.Done;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Whether every <c>%</c> in <paramref name="raw"/> starts a valid escape.</summary>
    public static bool HasValidEscapes(ReadOnlySpan<char> raw)
    {
        for (var i = raw.IndexOf('%'); i >= 0; i = raw.IndexOf('%'))
        {
            if (i + 2 >= raw.Length || !TryHex(raw[i + 1], out _) || !TryHex(raw[i + 2], out _))
            {
                return false;
            }

            raw = raw[(i + 3)..];
        }

        return true;
    }

    private static bool IsPlainAscii(ReadOnlySpan<char> raw, bool plusIsSpace)
    {
        foreach (var c in raw)
        {
            if (c == '%' || !char.IsAscii(c) || (c == '+' && plusIsSpace))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryHex(char c, out int value)
    {
        value = c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'a' and <= 'f' => c - 'a' + 10,
            >= 'A' and <= 'F' => c - 'A' + 10,
            _ => -1,
        };
        return value >= 0;
    }
}
