namespace MarketplaceMetering.Emulator.Ledger;

/// <summary>The filters of <c>GET /api/usageEvents</c>; <see langword="null"/> means "not given".</summary>
internal sealed record UsageReportQuery(
    DateTimeOffset Start,
    DateTimeOffset? End,
    string? OfferId = null,
    string? PlanId = null,
    string? Dimension = null,
    Guid? AzureSubscriptionId = null,
    string? ReconStatus = null);
