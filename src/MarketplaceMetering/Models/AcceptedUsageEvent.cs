namespace MarketplaceMetering;

/// <summary>
/// A usage event as the service recorded it: the <c>acceptedMessage</c> that a Duplicate answer carries, which
/// holds the event that was accepted first for the same resource, dimension and hour.
/// </summary>
public sealed record AcceptedUsageEvent
{
    internal AcceptedUsageEvent(
        Guid usageEventId,
        DateTimeOffset? messageTime,
        Guid? resourceId,
        string? resourceUri,
        string? planId,
        string? dimension,
        decimal quantity,
        DateTimeOffset effectiveStartTime)
    {
        UsageEventId = usageEventId;
        MessageTime = messageTime;
        ResourceId = resourceId;
        ResourceUri = resourceUri;
        PlanId = planId;
        Dimension = dimension;
        Quantity = quantity;
        EffectiveStartTime = effectiveStartTime;
    }

    /// <summary>The id the service gave the original event.</summary>
    public Guid UsageEventId { get; }

    /// <summary>When the service received the original event (UTC), if it said.</summary>
    public DateTimeOffset? MessageTime { get; }

    /// <summary>
    /// The resource id the original was recorded under: the SaaS subscription id, or for a managed application its
    /// resource usage id (which differs from anything the client sent).
    /// </summary>
    public Guid? ResourceId { get; }

    /// <summary>The resource URI the service reports for the original, if any.</summary>
    public string? ResourceUri { get; }

    /// <summary>The plan of the original.</summary>
    public string? PlanId { get; }

    /// <summary>The dimension of the original.</summary>
    public string? Dimension { get; }

    /// <summary>The quantity that was recorded, and will be billed, for the hour.</summary>
    public decimal Quantity { get; }

    /// <summary>The effective start time of the original (UTC).</summary>
    public DateTimeOffset EffectiveStartTime { get; }
}
