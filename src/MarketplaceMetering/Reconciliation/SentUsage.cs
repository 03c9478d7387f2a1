namespace MarketplaceMetering;

/// <summary>
/// One usage event as the sender knows it: what was sent and what became of it. The input of
/// <see cref="UsageReconciler"/>; build it from a <see cref="UsageEventResult"/> with <see cref="FromResult"/>, from a
/// file of sent events, or from a durable ledger.
/// </summary>
/// <param name="ResourceId">The resource id sent (SaaS subscription id), if the event named its resource by id.</param>
/// <param name="ResourceUri">The resource URI sent (managed application), if the event named its resource by URI.</param>
/// <param name="PlanId">The plan.</param>
/// <param name="Dimension">The dimension.</param>
/// <param name="EffectiveStartTime">The event's effective start time; only its UTC hour and day matter here.</param>
/// <param name="Quantity">The quantity sent.</param>
/// <param name="Status">What became of it: Accepted and Duplicate count as delivered; Error and Unknown as not delivered yet; the rest as rejected.</param>
/// <param name="ResourceUsageId">
/// The id the marketplace recorded the resource under, when it differs from <paramref name="ResourceId"/> (a managed
/// application sent by URI: the Accepted result's <see cref="UsageEventResult.Accepted.ResourceUsageId"/>). The
/// marketplace reports usage by this id, so an event sent by URI can only be matched with it.
/// </param>
public sealed record SentUsage(
    Guid? ResourceId,
    string? ResourceUri,
    string PlanId,
    string Dimension,
    DateTimeOffset EffectiveStartTime,
    decimal Quantity,
    UsageEventStatus Status,
    Guid? ResourceUsageId = null)
{
    /// <summary>The service's id for the event held for this hour (the original's, for a Duplicate), when known; for operators and support requests, not used to match.</summary>
    public Guid? UsageEventId { get; init; }

    /// <summary>The resource the marketplace reports this usage under: <see cref="ResourceUsageId"/>, else <see cref="ResourceId"/>.</summary>
    public Guid? ReportedResourceId => ResourceUsageId ?? ResourceId;

    /// <summary>Whether the marketplace holds the hour: Accepted, or a Duplicate (the hour was recorded before).</summary>
    public bool IsDelivered => Status is UsageEventStatus.Accepted or UsageEventStatus.Duplicate;

    /// <summary>Whether the marketplace refused the event for good (Expired, ResourceNotFound, InvalidDimension, …).</summary>
    public bool IsRejected => !IsDelivered && Status is not (UsageEventStatus.Error or UsageEventStatus.Unknown);

    /// <summary>What a submission made of an event, as a <see cref="SentUsage"/>.</summary>
    /// <param name="result">The result of <see cref="MeteringClient.SubmitUsageEventAsync"/> or a batch or bulk submission.</param>
    /// <exception cref="ArgumentNullException"><paramref name="result"/> is null.</exception>
    public static SentUsage FromResult(UsageEventResult result)
    {
        Argument.NotNull(result);
        var sent = result.Event;
        var (usageId, eventId) = result switch
        {
            UsageEventResult.Accepted accepted => (accepted.ResourceUsageId, (Guid?)accepted.UsageEventId),
            UsageEventResult.Duplicate duplicate => (duplicate.Original?.ResourceId, duplicate.Original?.UsageEventId),
            _ => (null, null),
        };

        return new SentUsage(
            sent.ResourceId,
            sent.ResourceUri,
            sent.PlanId,
            sent.Dimension,
            sent.EffectiveStartTime,
            sent.Quantity,
            result.Status,
            usageId == sent.ResourceId ? null : usageId)
        {
            UsageEventId = eventId,
        };
    }
}
