namespace MarketplaceMetering.Emulator;

/// <summary>
/// How the emulator writes the times in its answers (<c>messageTime</c>, <c>effectiveStartTime</c>,
/// <c>usageDate</c>). Both styles are UTC; clients must read both, because the real service has answered with each.
/// </summary>
public enum WireTimeStyle
{
    /// <summary>
    /// With the UTC designator: <c>2021-03-15T23:06:04.2795727Z</c>, as in every answer recorded from the real
    /// service in the official client's test recordings. This is the default.
    /// </summary>
    UtcDesignator,

    /// <summary>
    /// Without any offset: <c>2021-03-15T23:06:04.2795727</c>, as in the service's documentation samples. The time is
    /// still UTC; a client that reads it as local time is wrong by its machine's offset.
    /// </summary>
    NoOffset,
}
