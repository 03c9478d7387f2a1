namespace MarketplaceMetering.Accumulation.TestHost;

/// <summary>The system clock moved by a fixed offset: the last run of the crash test lives "later", so the hour that received carried-forward usage has closed.</summary>
internal sealed class OffsetClock(TimeSpan offset) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + offset;
}
