using System.Globalization;

namespace MarketplaceMetering.Emulator.Wire;

/// <summary>Times as the service writes and reads them.</summary>
internal static class WireTime
{
    private const string UtcDesignatorFormat = "yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFF'Z'";
    private const string NoOffsetFormat = "yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFF";

    /// <summary>
    /// Formats a time in UTC as ISO 8601, with a <c>Z</c> (<c>2026-11-20T10:00:00Z</c>) or without any offset
    /// (<c>2026-11-20T10:00:00</c>). Fractions of a second only when there are any.
    /// </summary>
    public static string Format(DateTimeOffset value, WireTimeStyle style) =>
        value.UtcDateTime.ToString(style == WireTimeStyle.NoOffset ? NoOffsetFormat : UtcDesignatorFormat, CultureInfo.InvariantCulture);

    /// <summary>Reads an ISO 8601 time; a time without an offset is UTC.</summary>
    public static bool TryParse(string? text, out DateTimeOffset value)
    {
        if (!string.IsNullOrWhiteSpace(text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var parsed))
        {
            value = parsed.ToUniversalTime();
            return true;
        }

        value = default;
        return false;
    }
}
