namespace MarketplaceMetering.Emulator.Ledger;

/// <summary>What the service deduplicates on: resource, dimension (case-insensitive) and UTC calendar hour.</summary>
internal readonly record struct UsageKey(Guid ResourceId, string Dimension, DateTimeOffset Hour)
{
    public static UsageKey For(Guid resourceId, string dimension, DateTimeOffset effectiveStartTime)
    {
        var utc = effectiveStartTime.ToUniversalTime();
        var hour = new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
        return new UsageKey(resourceId, dimension.ToUpperInvariant(), hour);
    }

    public static UsageKey For(LedgerEntry entry) => For(entry.ResourceId, entry.Dimension, entry.EffectiveStartTime);
}
