namespace MarketplaceMetering;

/// <summary>
/// What <see cref="MeteringClient.GetUsageEventsAsync"/> asks the marketplace for: the days from
/// <see cref="UsageStartDate"/> to <see cref="UsageEndDate"/>, optionally narrowed to an offer, a plan, a dimension, an
/// Azure subscription or a reconciliation status.
/// </summary>
public sealed class UsageEventQuery
{
    /// <summary>Creates a query for usage from <paramref name="usageStartDate"/> on.</summary>
    /// <param name="usageStartDate">The first day (UTC) to report; required by the service.</param>
    /// <param name="usageEndDate">Where the report ends; <see langword="null"/> leaves it to the service (today).</param>
    public UsageEventQuery(DateTimeOffset usageStartDate, DateTimeOffset? usageEndDate = null)
    {
        UsageStartDate = usageStartDate;
        UsageEndDate = usageEndDate;
    }

    /// <summary>The first day (UTC) to report, sent as <c>usageStartDate</c>.</summary>
    public DateTimeOffset UsageStartDate { get; }

    /// <summary>Where the report ends, sent as <c>UsageEndDate</c> (with the capital U the service expects); not before <see cref="UsageStartDate"/>.</summary>
    public DateTimeOffset? UsageEndDate { get; }

    /// <summary>Only usage of this offer (<c>offerId</c>).</summary>
    public string? OfferId { get; set; }

    /// <summary>Only usage of this plan (<c>planId</c>).</summary>
    public string? PlanId { get; set; }

    /// <summary>Only usage of this dimension (<c>dimension</c>).</summary>
    public string? Dimension { get; set; }

    /// <summary>Only usage of resources in this Azure subscription (<c>azureSubscriptionId</c>).</summary>
    public Guid? AzureSubscriptionId { get; set; }

    /// <summary>Only rows with this reconciliation status (<c>reconStatus</c>).</summary>
    public ReconStatus? ReconStatus { get; set; }
}
