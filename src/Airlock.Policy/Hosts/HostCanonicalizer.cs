using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Text;

namespace Airlock.Policy.Hosts;

/// <summary>Turns any spelling of a host into its canonical form, or says why it is malformed.</summary>
/// <remarks>
/// Follows the WHATWG URL Standard host parser where it matters for security: IDN labels go through UTS #46
/// (<see cref="IdnMapping"/>), a host whose last label is a number must be an IPv4 address in one of the
/// inet_aton spellings, and IPv6 literals are parsed strictly. Never throws.
/// </remarks>
public static class HostCanonicalizer
{
    /// <summary>The longest canonical host (RFC 1035, without the trailing dot).</summary>
    public const int MaxHostLength = 253;

    /// <summary>The longest label (RFC 1035).</summary>
    public const int MaxLabelLength = 63;

    // Inputs longer than this cannot canonicalise to 253 characters except through UTS #46 "ignored"
    // code points; refusing them early bounds the work done on hostile input.
    private const int MaxInputLength = 1024;

    private const string InvalidIdnLabel =
        "host has a label that is not a valid internationalised domain name (or is over 63 characters as punycode)";

    private static readonly SearchValues<char> AsciiDigits = SearchValues.Create("0123456789");

    // UTS #46 maps these to '.'; splitting on them before IDN mapping keeps one label per IdnMapping call.
    private static readonly SearchValues<char> LabelSeparators = SearchValues.Create(".\u3002\uFF0E\uFF61");

    /// <summary>Canonicalises <paramref name="input"/> (a bare host; IPv6 may be bracketed).</summary>
    /// <param name="input">The host as received.</param>
    /// <param name="host">The canonical host on success.</param>
    /// <param name="error">A user-readable reason on failure.</param>
    public static bool TryCanonicalize(ReadOnlySpan<char> input, [NotNullWhen(true)] out CanonicalHost? host, [NotNullWhen(false)] out string? error)
    {
        host = null;
        error = CheckCharacters(input);
        if (error is not null)
        {
            return false;
        }

        if (input[0] == '[')
        {
            if (input[^1] != ']' || !TryParseIPv6(input[1..^1], out var bracketed))
            {
                error = "host in brackets is not a valid IPv6 address";
                return false;
            }

            host = FromIPv6(bracketed);
            return true;
        }

        if (input.IndexOfAny('[', ']') >= 0)
        {
            error = "host contains '[' or ']'; brackets are only allowed around a whole IPv6 address";
            return false;
        }

        if (input.Contains(':'))
        {
            if (!TryParseIPv6(input, out var bare))
            {
                error = "host contains ':' but is not an IPv6 address (ports are not part of a host)";
                return false;
            }

            host = FromIPv6(bare);
            return true;
        }

        return TryCanonicalizeName(input, out host, out error);
    }

    private static string? CheckCharacters(ReadOnlySpan<char> input)
    {
        if (input.IsEmpty)
        {
            return "host is empty";
        }

        if (input.Length > MaxInputLength)
        {
            return $"host is longer than {MaxHostLength} characters";
        }

        foreach (var c in input)
        {
            var problem = c switch
            {
                '\0' => "host contains a NUL character",
                '\r' or '\n' => "host contains a line break (CR or LF)",
                _ when char.IsControl(c) => "host contains a control character",
                _ when char.IsWhiteSpace(c) => "host contains whitespace",
                '%' => "host contains '%'; percent-encoding and IPv6 zone ids are not allowed",
                '@' => "host contains '@'; userinfo is not allowed",
                '/' or '\\' => $"host contains '{c}'; a host has no path",
                '?' => "host contains '?'; a host has no query",
                '#' => "host contains '#'; a host has no fragment",
                _ => null,
            };
            if (problem is not null)
            {
                return problem;
            }
        }

        return null;
    }

    private static bool TryCanonicalizeName(ReadOnlySpan<char> input, [NotNullWhen(true)] out CanonicalHost? host, [NotNullWhen(false)] out string? error)
    {
        host = null;

        // One trailing dot names the root; strip it. Any other empty label is caught below.
        var lastIndex = input.Length - 1;
        if (input.Length > 1 && IsLabelSeparator(input[lastIndex]))
        {
            input = input[..lastIndex];
        }

        var builder = new StringBuilder(input.Length);
        IdnMapping? idn = null;
        var lastLabelStart = 0;
        while (true)
        {
            var length = IndexOfLabelSeparator(input);
            var label = length < 0 ? input : input[..length];
            if (label.IsEmpty)
            {
                error = "host has an empty label (leading dot, '..' or more than one trailing dot)";
                return false;
            }

            if (builder.Length > 0)
            {
                builder.Append('.');
            }

            lastLabelStart = builder.Length;
            error = AppendLabel(label, builder, ref idn);
            if (error is not null)
            {
                return false;
            }

            if (length < 0)
            {
                break;
            }

            input = input[(length + 1)..];
        }

        var ascii = builder.ToString();
        var lastLabel = ascii.AsSpan(lastLabelStart);
        if (EndsInNumber(lastLabel))
        {
            if (!TryParseIPv4(ascii, out var value))
            {
                error = "host ends in a number but is not a valid IPv4 address";
                return false;
            }

            var address = new IPAddress(ToNetworkOrderBytes(value));
            host = new CanonicalHost(address.ToString(), HostKind.IPv4, address);
            return true;
        }

        if (ascii.Length > MaxHostLength)
        {
            error = $"host is longer than {MaxHostLength} characters";
            return false;
        }

        host = new CanonicalHost(ascii, HostKind.DomainName, null);
        return true;
    }

    private static bool IsLabelSeparator(char c) => LabelSeparators.Contains(c);

    private static int IndexOfLabelSeparator(ReadOnlySpan<char> s) => s.IndexOfAny(LabelSeparators);

    private static string? AppendLabel(ReadOnlySpan<char> label, StringBuilder builder, ref IdnMapping? idn)
    {
        string ascii;
        if (Ascii.IsValid(label))
        {
            Span<char> lower = label.Length <= 256 ? stackalloc char[label.Length] : new char[label.Length];
            Ascii.ToLower(label, lower, out _);
            ascii = new string(lower);
            if (ascii.StartsWith("xn--", StringComparison.Ordinal) && !IsValidPunycodeLabel(ascii, ref idn))
            {
                return $"label '{ascii}' is not valid punycode";
            }
        }
        else
        {
            idn ??= CreateIdnMapping();
            try
            {
                ascii = idn.GetAscii(label.ToString());
            }
            catch (ArgumentException)
            {
                // IdnMapping does not say which check failed; a punycode label over 63 characters is one of them.
                return InvalidIdnLabel;
            }

            if (ascii.Length == 0 || ascii.Contains('.', StringComparison.Ordinal))
            {
                return InvalidIdnLabel;
            }
        }

        var error = CheckAsciiLabel(ascii);
        if (error is not null)
        {
            return error;
        }

        builder.Append(ascii);
        return null;
    }

    private static string? CheckAsciiLabel(string label)
    {
        if (label.Length > MaxLabelLength)
        {
            return $"host has a label longer than {MaxLabelLength} characters";
        }

        foreach (var c in label)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_'))
            {
                return $"host contains '{c}'; labels may contain only letters, digits, '-' and '_'";
            }
        }

        if (label[0] == '-' || label[^1] == '-')
        {
            return $"label '{label}' starts or ends with '-'";
        }

        return null;
    }

    private static bool IsValidPunycodeLabel(string label, ref IdnMapping? idn)
    {
        idn ??= CreateIdnMapping();
        try
        {
            var unicode = idn.GetUnicode(label);
            return string.Equals(idn.GetAscii(unicode), label, StringComparison.Ordinal);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static IdnMapping CreateIdnMapping() => new() { UseStd3AsciiRules = true, AllowUnassigned = false };

    // WHATWG URL "ends in a number checker" (the trailing dot is already stripped).
    private static bool EndsInNumber(ReadOnlySpan<char> last)
    {
        if (!last.ContainsAnyExcept(AsciiDigits))
        {
            return true;
        }

        return TryParseIPv4Number(last, out _);
    }

    // WHATWG URL IPv4 parser: one to four parts, each decimal, 0x-hex or leading-zero octal;
    // all but the last at most 255, the last filling the remaining bytes.
    private static bool TryParseIPv4(ReadOnlySpan<char> s, out uint value)
    {
        value = 0;
        Span<ulong> parts = stackalloc ulong[4];
        var count = 0;
        while (true)
        {
            var dot = s.IndexOf('.');
            var part = dot < 0 ? s : s[..dot];
            if (count == 4 || !TryParseIPv4Number(part, out parts[count]))
            {
                return false;
            }

            count++;
            if (dot < 0)
            {
                break;
            }

            s = s[(dot + 1)..];
        }

        ulong result = 0;
        for (var i = 0; i < count - 1; i++)
        {
            if (parts[i] > 255)
            {
                return false;
            }

            result |= parts[i] << (8 * (3 - i));
        }

        var last = parts[count - 1];
        if (last >= 1UL << (8 * (5 - count)))
        {
            return false;
        }

        value = (uint)(result | last);
        return true;
    }

    private static bool TryParseIPv4Number(ReadOnlySpan<char> s, out ulong value)
    {
        value = 0;
        if (s.IsEmpty)
        {
            return false;
        }

        var radix = 10;
        if (s.Length >= 2 && s[0] == '0' && s[1] is 'x' or 'X')
        {
            radix = 16;
            s = s[2..];
        }
        else if (s.Length >= 2 && s[0] == '0')
        {
            radix = 8;
            s = s[1..];
        }

        // Saturate above 2^32 so that long runs of leading zeros still parse and huge numbers still fail.
        const ulong Saturated = 1UL << 33;
        foreach (var c in s)
        {
            int digit;
            if (char.IsAsciiDigit(c))
            {
                digit = c - '0';
            }
            else if (radix == 16 && char.IsAsciiHexDigit(c))
            {
                digit = (c | 0x20) - 'a' + 10;
            }
            else
            {
                return false;
            }

            if (digit >= radix)
            {
                return false;
            }

            value = Math.Min(value * (ulong)radix + (ulong)digit, Saturated);
        }

        return true;
    }

    private static byte[] ToNetworkOrderBytes(uint value) =>
        [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    private static CanonicalHost FromIPv6(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            var v4 = address.MapToIPv4();
            return new CanonicalHost(v4.ToString(), HostKind.IPv4, v4);
        }

        return new CanonicalHost(address.ToString(), HostKind.IPv6, address);
    }

    // WHATWG URL IPv6 parser: at most four hex digits a piece, one '::', an optional trailing dotted-decimal
    // IPv4 part with no leading zeros. Stricter than IPAddress.TryParse, which accepts ports and scope ids.
    private static bool TryParseIPv6(ReadOnlySpan<char> s, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        Span<ushort> pieces = stackalloc ushort[8];
        pieces.Clear();
        var pieceIndex = 0;
        int? compress = null;
        var i = 0;

        if (s.IsEmpty)
        {
            return false;
        }

        if (s[0] == ':')
        {
            if (s.Length < 2 || s[1] != ':')
            {
                return false;
            }

            i = 2;
            pieceIndex = 1;
            compress = 1;
        }

        while (i < s.Length)
        {
            if (pieceIndex == 8)
            {
                return false;
            }

            if (s[i] == ':')
            {
                if (compress is not null)
                {
                    return false;
                }

                i++;
                pieceIndex++;
                compress = pieceIndex;
                continue;
            }

            var value = 0;
            var length = 0;
            while (length < 4 && i < s.Length && char.IsAsciiHexDigit(s[i]))
            {
                value = (value * 16) + HexValue(s[i]);
                i++;
                length++;
            }

            if (i < s.Length && s[i] == '.')
            {
                if (length == 0 || pieceIndex > 6)
                {
                    return false;
                }

                i -= length;
                if (!TryParseEmbeddedIPv4(s[i..], pieces.Slice(pieceIndex, 2)))
                {
                    return false;
                }

                pieceIndex += 2;
                i = s.Length;
                break;
            }

            if (length == 0)
            {
                return false;
            }

            if (i < s.Length)
            {
                if (s[i] != ':')
                {
                    return false;
                }

                i++;
                if (i == s.Length)
                {
                    return false;
                }
            }

            pieces[pieceIndex] = (ushort)value;
            pieceIndex++;
        }

        if (compress is int c)
        {
            var swaps = pieceIndex - c;
            pieceIndex = 7;
            while (pieceIndex != 0 && swaps > 0)
            {
                (pieces[pieceIndex], pieces[c + swaps - 1]) = (pieces[c + swaps - 1], pieces[pieceIndex]);
                pieceIndex--;
                swaps--;
            }
        }
        else if (pieceIndex != 8)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        for (var p = 0; p < 8; p++)
        {
            bytes[2 * p] = (byte)(pieces[p] >> 8);
            bytes[(2 * p) + 1] = (byte)pieces[p];
        }

        address = new IPAddress(bytes);
        return true;
    }

    private static bool TryParseEmbeddedIPv4(ReadOnlySpan<char> s, Span<ushort> target)
    {
        Span<byte> octets = stackalloc byte[4];
        var count = 0;
        var i = 0;
        while (i < s.Length)
        {
            if (count > 0)
            {
                if (s[i] != '.' || count == 4)
                {
                    return false;
                }

                i++;
            }

            if (i == s.Length || !char.IsAsciiDigit(s[i]))
            {
                return false;
            }

            var value = 0;
            var start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                if (i > start && s[start] == '0')
                {
                    return false;
                }

                value = (value * 10) + (s[i] - '0');
                if (value > 255)
                {
                    return false;
                }

                i++;
            }

            octets[count++] = (byte)value;
        }

        if (count != 4)
        {
            return false;
        }

        target[0] = (ushort)((octets[0] << 8) | octets[1]);
        target[1] = (ushort)((octets[2] << 8) | octets[3]);
        return true;
    }

    private static int HexValue(char c) => char.IsAsciiDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
}
