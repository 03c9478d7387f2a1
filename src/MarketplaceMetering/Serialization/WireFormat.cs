using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MarketplaceMetering.Serialization;

/// <summary>How values look on the wire, both ways, and how failures quote an answer.</summary>
internal static class WireFormat
{
    private const int ExcerptLength = 200;

    /// <summary>The wire's time format: UTC, ISO 8601 with a <c>Z</c>; fractional seconds only when there are some.</summary>
    public const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'";

    /// <summary>The double nearest to <see cref="decimal.MaxValue"/>: 2^96, one more than it.</summary>
    public const double LargestDecimalDouble = 79228162514264337593543950336d;

    /// <summary>UTC, ISO 8601 with a <c>Z</c>; fractional seconds only when there are some.</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    /// <summary>
    /// Reads a service time, in the wire's shape only (see <see cref="IsWireTime(ReadOnlySpan{byte})"/>); one without an
    /// offset is UTC (the batch answer writes them so). Anything else is unreadable (<see langword="null"/>), as the
    /// fast reader finds it too.
    /// </summary>
    public static DateTimeOffset? ParseTime(string? text)
    {
        // The longest wire time, yyyy-MM-ddTHH:mm:ss.fffffff+hh:mm, has 33 characters; a longer one is not the wire's.
        const int MaxLength = 64;
        if (text is null || text.Length > MaxLength)
        {
            return null;
        }

        Span<byte> ascii = stackalloc byte[MaxLength];
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] > 0x7F)
            {
                return null;
            }

            ascii[i] = (byte)text[i];
        }

        if (!IsWireTime(ascii.Slice(0, text.Length)))
        {
            return null;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
            ? value.ToUniversalTime()
            : null;
    }

    /// <summary>A UTC day written as a date alone (<c>yyyy-MM-dd</c>), as a usage report's <c>usageDate</c> may be: its midnight.</summary>
    public static DateTimeOffset? ParseDay(string? text) =>
        text is { Length: 10 } && DateTime.TryParseExact(text, "yyyy'-'MM'-'dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            ? new DateTimeOffset(day.Ticks, TimeSpan.Zero)
            : null;

    /// <summary>
    /// Whether <paramref name="text"/> has the shape of a time in the service's answers: a full date and time to the
    /// second, <c>yyyy-MM-ddTHH:mm:ss</c>, an optional fraction of a second, then <c>Z</c> or nothing (both UTC, the two
    /// forms the service is seen to write), or an explicit <c>+hh:mm</c>/<c>-hh:mm</c> offset (not seen, but it names
    /// one instant, so it is converted rather than refused).
    /// </summary>
    /// <remarks>
    /// Decided conservatively: .NET's parsing reads far more, and some of it names another instant than the service
    /// meant. A time with no date (<c>20:00:00</c>) is read as today, which can match an answer to the wrong hour; a
    /// date alone, as midnight; a culture's format (<c>12/03/2026</c>), a week or ordinal date, a time without seconds,
    /// a space or a lower-case <c>t</c>/<c>z</c>, surrounding white space, or an offset without its minutes are not what
    /// the service writes. All of those are unreadable, handled as any other malformed time: the fast reader gives up
    /// on them and the slow path finds no time. Calendar ranges (a 30 February, an offset beyond 14 hours) are left to
    /// the parsers, which both refuse them; hours, minutes and seconds out of range are refused here, so that the two
    /// readers cannot differ on 24:00 or a leap second.
    /// </remarks>
    public static bool IsWireTime(ReadOnlySpan<byte> text)
    {
        static bool Digits(ReadOnlySpan<byte> text, int at, int count, int max)
        {
            var value = 0;
            for (var i = at; i < at + count; i++)
            {
                if (text[i] is < (byte)'0' or > (byte)'9')
                {
                    return false;
                }

                value = (value * 10) + (text[i] - '0');
            }

            return value <= max;
        }

        if (text.Length < 19
            || !Digits(text, 0, 4, 9999) || text[4] != '-' || !Digits(text, 5, 2, 12) || text[7] != '-' || !Digits(text, 8, 2, 31)
            || text[10] != 'T'
            || !Digits(text, 11, 2, 23) || text[13] != ':' || !Digits(text, 14, 2, 59) || text[16] != ':' || !Digits(text, 17, 2, 59))
        {
            return false;
        }

        var i = 19;
        if (i < text.Length && text[i] == '.')
        {
            var start = ++i;
            while (i < text.Length && text[i] is >= (byte)'0' and <= (byte)'9')
            {
                i++;
            }

            if (i == start)
            {
                return false;
            }
        }

        if (i == text.Length)
        {
            return true;
        }

        if (text[i] == 'Z')
        {
            return i + 1 == text.Length;
        }

        return text[i] is (byte)'+' or (byte)'-'
            && text.Length - i == 6
            && Digits(text, i + 1, 2, 14) && text[i + 3] == ':' && Digits(text, i + 4, 2, 59);
    }

    public static Guid? ParseGuid(string? text) => Guid.TryParse(text, out var value) ? value : null;

    /// <summary>
    /// A service quantity as a decimal, through its shortest round-trip text so that 9.1234567890123461 reads as
    /// 9.123456789012346, not as a 15-digit rounding. The double the service holds for the largest decimal, 2^96
    /// (<c>7.922816251426434E+28</c>), is just past a decimal and reads as that largest decimal, whose double it is.
    /// Other out-of-range and non-finite values read as <see langword="null"/>.
    /// </summary>
    public static decimal? ToDecimal(double? value)
    {
        if (value is not { } d || double.IsNaN(d) || double.IsInfinity(d))
        {
            return null;
        }

        if (Math.Abs(d) == LargestDecimalDouble)
        {
            return d > 0 ? decimal.MaxValue : decimal.MinValue;
        }

#if NET
        // .NET's default formatting is the shortest round-trip text; formatted on the stack, no string per quantity.
        Span<char> text = stackalloc char[32];
        if (d.TryFormat(text, out var written, default, CultureInfo.InvariantCulture))
        {
            return decimal.TryParse(text.Slice(0, written), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
        }
#endif
        return decimal.TryParse(ShortestRoundTrip(d), NumberStyles.Float, CultureInfo.InvariantCulture, out var result)
            ? result
            : null;
    }

    /// <summary>
    /// The shortest text that reads back as <paramref name="value"/>. .NET Core's "R" gives it, but .NET Framework's
    /// "R" does not (9.1234567890123461 stays so), so take the first of 15, 16 and 17 significant digits that round-trips.
    /// </summary>
    public static string ShortestRoundTrip(double value)
    {
        foreach (var format in (string[])["G15", "G16"])
        {
            var text = value.ToString(format, CultureInfo.InvariantCulture);
            if (double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture).Equals(value))
            {
                return text;
            }
        }

        return value.ToString("G17", CultureInfo.InvariantCulture);
    }

    public static T? Read<T>(ReadOnlyMemory<byte> body, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, out string? problem)
        where T : class
    {
        problem = null;
        if (body.Length == 0)
        {
            problem = "the body is empty";
            return null;
        }

        try
        {
            var value = JsonSerializer.Deserialize(body.Span, typeInfo);
            if (value is null)
            {
                problem = "the body is JSON null";
            }

            return value;
        }
        catch (JsonException e)
        {
            problem = "the body is not the documented JSON (" + Describe(e) + ")";
            return null;
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            problem = "the body could not be read (" + e.GetType().Name + ")";
            return null;
        }
    }

    /// <summary>
    /// The quantity the service holds for <paramref name="quantity"/>: the client writes the decimal's exact text, and
    /// the service reads it as an IEEE double (the nearest one). Two quantities are the same on the wire exactly when
    /// these doubles are equal; quantities that differ only beyond a double's 15–17 significant digits cannot be told
    /// apart by anyone.
    /// </summary>
    public static double ServiceDouble(decimal quantity)
    {
#if NET
        Span<char> text = stackalloc char[32];
        if (quantity.TryFormat(text, out var written, default, CultureInfo.InvariantCulture))
        {
            return double.Parse(text.Slice(0, written), NumberStyles.Float, CultureInfo.InvariantCulture);
        }
#endif
        return double.Parse(quantity.ToString(CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>Whether the service's double <paramref name="held"/> is what it stored for the quantity <paramref name="sent"/>.</summary>
    public static bool SameOnTheWire(decimal sent, double held) => ServiceDouble(sent).Equals(held);

    /// <summary>Whether two quantities are stored by the service as the same double.</summary>
    public static bool SameOnTheWire(decimal sent, decimal held) => ServiceDouble(sent).Equals(ServiceDouble(held));

    /// <summary>A short, single-line, secret-free excerpt of a body, for exception messages.</summary>
    public static string Excerpt(ReadOnlyMemory<byte> body, SecretRedactor redactor, bool truncated = false) =>
        body.Length == 0 ? "(empty)" : SafeText(Utf8(body.Span), redactor, ExcerptLength, truncated);

    /// <summary>
    /// The service's text (a body, a message it wrote, an id it answered in a header) made safe to carry into a message,
    /// a log, a span or a console: a secret it echoes is masked, a control character (a line break that would forge a
    /// log line, an ESC sequence that would act on a terminal) or a bidirectional formatting character (which would
    /// reorder what follows it) is a space, and it is cut to <paramref name="maxLength"/> characters with "…" (also when
    /// <paramref name="truncated"/> says it was cut before). Masked first, then cut: a secret cut in half would no longer
    /// match its mask. Text that needs none of this is returned as it is, unallocated.
    /// </summary>
    public static string SafeText(string text, SecretRedactor redactor, int maxLength, bool truncated = false)
    {
        text = redactor.Redact(text);
        var cut = truncated || text.Length > maxLength;
        if (!cut && !HasUnsafeCharacter(text))
        {
            return text;
        }

        var safe = new StringBuilder(Math.Min(text.Length, maxLength) + 1);
        for (var i = 0; i < text.Length && i < maxLength; i++)
        {
            safe.Append(IsUnsafe(text[i]) ? ' ' : text[i]);
        }

        return cut ? safe.Append('…').ToString() : safe.ToString();
    }

    private static bool HasUnsafeCharacter(string text)
    {
        foreach (var c in text)
        {
            if (IsUnsafe(c))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A character a message must not carry as it is: a control character (a line break, ESC) or a bidirectional
    /// formatting one (ALM, LRM, RLM, LRE to RLO, LRI to PDI), which reorders the text after it when shown, so a message or
    /// a log line could read as something else. The CLI's <c>Messages.OneLine</c> treats the same characters alike.
    /// </summary>
    private static bool IsUnsafe(char c) =>
        char.IsControl(c) || c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');

    private static string Utf8(ReadOnlySpan<byte> bytes)
    {
#if NET
        return Encoding.UTF8.GetString(bytes);
#else
        return Encoding.UTF8.GetString(bytes.ToArray());
#endif
    }

    private static string Describe(JsonException e) =>
        e.Path is { Length: > 0 } path ? "at " + path : e.LineNumber is { } line ? "at line " + (line + 1).ToString(CultureInfo.InvariantCulture) : "malformed";
}
