namespace MarketplaceMetering.Cli.Input;

/// <summary>One event read from a file, with the line it came from; for a file of sent events, also what became of it.</summary>
internal sealed record UsageLine(int Line, UsageEvent Event, UsageEventStatus? Status = null, Guid? ResourceUsageId = null)
{
    public SentUsage ToSentUsage() => new(
        Event.ResourceId,
        Event.ResourceUri,
        Event.PlanId,
        Event.Dimension,
        Event.EffectiveStartTime,
        Event.Quantity,
        Status ?? UsageEventStatus.Accepted,
        ResourceUsageId);
}
