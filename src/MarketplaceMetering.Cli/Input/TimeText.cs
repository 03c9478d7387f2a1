using System.Globalization;
using MarketplaceMetering.Cli.CommandLine;
using System.Text.RegularExpressions;

namespace MarketplaceMetering.Cli.Input;

/// <summary>Times as operators type them: ISO 8601 with a zone (<c>Z</c> or an offset), or, where a day is meant, a bare date (a UTC day).</summary>
internal static partial class TimeText
{
    /// <summary>
    /// Parses a time that must start with its date (<c>yyyy-MM-dd</c>) and name its zone; <see langword="null"/> with
    /// <paramref name="problem"/> otherwise. .NET alone would read a time with no date (<c>10:00:00Z</c>) as today on
    /// the machine's clock, and a culture's order (<c>03/04/2026</c>) as March or April: both bill a guessed hour.
    /// </summary>
    public static DateTimeOffset? ParseInstant(string text, out string? problem)
    {
        problem = null;
        text = text.Trim();
        if (!StartsWithDate().IsMatch(text))
        {
            problem = $"'{Messages.Shown(text)}' is not a time with a date (yyyy-MM-dd); write ISO 8601 in UTC, such as 2026-11-20T10:00:00Z";
            return null;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var value))
        {
            problem = $"'{Messages.Shown(text)}' is not a time; write ISO 8601 in UTC, such as 2026-11-20T10:00:00Z";
            return null;
        }

        if (!HasZone().IsMatch(text))
        {
            problem = $"'{Messages.Shown(text)}' has no time zone; write it in UTC with a Z (such as {value.DateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture)}Z) or with an offset (+02:00)";
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

    [GeneratedRegex(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:$|[Tt zZ+-])")]
    private static partial Regex StartsWithDate();

    [GeneratedRegex(@"(?:[zZ]|[+-]\d{2}:?\d{2})$")]
    private static partial Regex HasZone();
}
