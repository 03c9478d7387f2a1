namespace MarketplaceMetering.Emulator.CommandLine;

/// <summary>
/// The <c>--time-style</c> option's spellings and its error, for the emulator's own command line and for
/// <c>metering emulator</c>: this file is compiled into both (the CLI links it), so the two cannot drift apart.
/// </summary>
internal static class TimeStyleOption
{
    /// <summary>The style a spelling names (<c>z</c> or <c>no-offset</c>, any case), or <see langword="null"/>.</summary>
    public static WireTimeStyle? Parse(string value) => value.ToUpperInvariant() switch
    {
        "Z" => WireTimeStyle.UtcDesignator,
        "NO-OFFSET" => WireTimeStyle.NoOffset,
        _ => null,
    };

    /// <summary>The one-line error for a spelling <see cref="Parse"/> does not know.</summary>
    public static string Invalid(string value) => $"--time-style must be z or no-offset (was '{value}').";
}
