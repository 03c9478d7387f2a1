namespace MarketplaceMetering;

/// <summary>The service's time rules as the accumulation layer applies them (the same values the core client uses).</summary>
internal static class AccumulationRules
{
    /// <summary>How far back the service accepts usage.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromHours(24);

    /// <summary>How long before the window ends the client stops sending (the core's safety margin).</summary>
    public static readonly TimeSpan SafetyMargin = TimeSpan.FromMinutes(2);

    /// <summary>How far ahead of this clock a recorded time may be, for clocks that disagree slightly (the core's allowance).</summary>
    public static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(5);

    public static DateTimeOffset HourOf(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerHour), TimeSpan.Zero);
    }

    public static DateTimeOffset DeadlineOf(DateTimeOffset hour) => hour + Window - SafetyMargin;
}
