using System.Globalization;
using System.Text.RegularExpressions;

namespace MarketplaceMetering.Cli.Input;

/// <summary>Times as operators type them: ISO 8601 with a zone (<c>Z</c> or an offset), or, where a day is meant, a bare date (a UTC day).</summary>
internal static partial class TimeText
{
    /// <summary>Parses a time that must name its zone; <see langword="null"/> with <paramref name="problem"/> otherwise.</summary>
    public static DateTimeOffset? ParseInstant(string text, out string? problem)
    {
        problem = null;
        text = text.Trim();
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var value))
        {
            problem = $"'{text}' is not a time; write ISO 8601 in UTC, such as 2026-11-20T10:00:00Z";
            return null;
        }

        if (!HasZone().IsMatch(text))
        {
            problem = $"'{text}' has no time zone; write it in UTC with a Z (such as {value.DateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture)}Z) or with an offset (+02:00)";
            return null;
        }

        return value.ToUniversalTime();
    }

    /// <summary>Parses a day (<c>2026-11-19</c>, a UTC day) or a time with its zone.</summary>
    public static DateTimeOffset? ParseDayOrInstant(string text, out string? problem)
    {
        problem = null;
        if (DateTime.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return new DateTimeOffset(day, TimeSpan.Zero);
        }

        return ParseInstant(text, out problem);
    }

    [GeneratedRegex(@"(?:[zZ]|[+-]\d{2}:?\d{2})$")]
    private static partial Regex HasZone();
}
