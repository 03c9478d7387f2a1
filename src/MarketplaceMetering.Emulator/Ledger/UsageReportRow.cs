namespace MarketplaceMetering.Emulator.Ledger;

/// <summary>One row of <c>GET /api/usageEvents</c>: the usage of one resource, dimension and plan on one UTC day.</summary>
internal sealed record UsageReportRow(
    DateTimeOffset UsageDate,
    Guid UsageResourceId,
    string Dimension,
    string PlanId,
    string PlanName,
    string OfferId,
    string OfferName,
    string OfferType,
    Guid AzureSubscriptionId,
    string ReconStatus,
    decimal SubmittedQuantity,
    decimal ProcessedQuantity,
    int SubmittedCount);
