namespace MarketplaceMetering;

/// <summary>
/// One row of what the marketplace recorded (<c>GET /api/usageEvents</c>): the usage of one resource and dimension on
/// one UTC day, as submitted and as processed.
/// </summary>
public sealed record RecordedUsage
{
    internal RecordedUsage(
        DateTimeOffset usageDate,
        Guid usageResourceId,
        string dimension,
        string? planId,
        string? planName,
        string? offerId,
        string? offerName,
        string? offerType,
        Guid? azureSubscriptionId,
        ReconStatus reconStatus,
        decimal submittedQuantity,
        decimal? processedQuantity,
        int? submittedCount)
    {
        UsageDate = usageDate;
        UsageResourceId = usageResourceId;
        Dimension = dimension;
        PlanId = planId;
        PlanName = planName;
        OfferId = offerId;
        OfferName = offerName;
        OfferType = offerType;
        AzureSubscriptionId = azureSubscriptionId;
        ReconStatus = reconStatus;
        SubmittedQuantity = submittedQuantity;
        ProcessedQuantity = processedQuantity;
        SubmittedCount = submittedCount;
    }

    /// <summary>The UTC day of the usage.</summary>
    public DateTimeOffset UsageDate { get; }

    /// <summary>
    /// The resource the usage was recorded under: the SaaS subscription id, or for a managed application its resource
    /// usage id (which differs from anything a client sends).
    /// </summary>
    public Guid UsageResourceId { get; }

    /// <summary>The dimension.</summary>
    public string Dimension { get; }

    /// <summary>The plan, if the service said.</summary>
    public string? PlanId { get; }

    /// <summary>The plan's display name, if the service said (often empty).</summary>
    public string? PlanName { get; }

    /// <summary>The offer, if the service said.</summary>
    public string? OfferId { get; }

    /// <summary>The offer's display name, if the service said (often empty).</summary>
    public string? OfferName { get; }

    /// <summary>The kind of offer (<c>SaaS</c>, <c>ManagedApplication</c>, …), if the service said.</summary>
    public string? OfferType { get; }

    /// <summary>The Azure subscription of the resource, if the service said.</summary>
    public Guid? AzureSubscriptionId { get; }

    /// <summary>How the marketplace reconciled the row; <see langword="default"/> (empty) when the service did not say.</summary>
    public ReconStatus ReconStatus { get; }

    /// <summary>The quantity submitted for the day.</summary>
    public decimal SubmittedQuantity { get; }

    /// <summary>The quantity processed (to be billed) for the day; <see langword="null"/> when the service did not say.</summary>
    public decimal? ProcessedQuantity { get; }

    /// <summary>How many events were submitted for the day, if the service said.</summary>
    public int? SubmittedCount { get; }
}
