using MarketplaceMetering.Emulator.Catalogue;

namespace MarketplaceMetering.Emulator.Ledger;

/// <summary>
/// Sums accepted usage per resource, dimension and UTC day, as <c>GET /api/usageEvents</c> reports it; dimensions
/// compare ignoring case, as the rules compare them.
/// </summary>
internal static class UsageReport
{
    public const string AcceptedReconStatus = "Accepted";
    public const string SaaSOfferType = "SaaS";
    public const string ManagedApplicationOfferType = "ManagedApplication";
    public const string DefaultOfferId = "emulated-offer";

    public static IReadOnlyList<UsageReportRow> Build(IEnumerable<LedgerEntry> entries, ResourceCatalogue catalogue, UsageReportQuery query, ReconciliationOverrides? overrides = null)
    {
        var groups = entries
            .Where(e => e.EffectiveStartTime >= query.Start && (query.End is not { } end || e.EffectiveStartTime < end))
            .GroupBy(e => (
                e.ResourceId,
                Dimension: e.Dimension.ToUpperInvariant(),
                Day: new DateTimeOffset(e.EffectiveStartTime.UtcDateTime.Date, TimeSpan.Zero)));

        var rows = new List<UsageReportRow>();
        foreach (var group in groups)
        {
            var first = group.First();
            var resource = catalogue.Find(first.ResourceId);
            var resourceUri = resource?.ResourceUri ?? first.ResourceUri;
            var total = SumSaturating(group);

            // What the emulator records is accepted and processed in full, unless a test said otherwise (SetReconciliation).
            var (reconStatus, processed) = overrides?.For(first.ResourceId, first.Dimension, group.Key.Day, total) ?? (AcceptedReconStatus, total);
            var row = new UsageReportRow(
                UsageDate: group.Key.Day,
                UsageResourceId: first.ResourceId,
                Dimension: first.Dimension,
                // One row per resource, dimension and day, as the service reports it, even when an open catalogue
                // took usage of one day under two plans: the row names the plan of the latest usage.
                PlanId: resource?.PlanId ?? group.MaxBy(e => e.EffectiveStartTime)!.PlanId,
                // The service reports empty plan and offer names (as recorded); a catalogue may name them.
                PlanName: resource?.PlanName ?? string.Empty,
                OfferId: resource?.OfferId ?? DefaultOfferId,
                OfferName: resource?.OfferName ?? string.Empty,
                OfferType: resourceUri is null ? SaaSOfferType : ManagedApplicationOfferType,
                AzureSubscriptionId: resource?.AzureSubscriptionId
                    ?? ResourceIdentity.AzureSubscriptionOf(resourceUri)
                    ?? ResourceIdentity.SyntheticAzureSubscriptionId,
                ReconStatus: reconStatus,
                SubmittedQuantity: total,
                ProcessedQuantity: processed,
                SubmittedCount: group.Count());

            if (Matches(row, query))
            {
                rows.Add(row);
            }
        }

        return rows
            .OrderBy(r => r.UsageDate)
            .ThenBy(r => r.UsageResourceId)
            .ThenBy(r => r.Dimension, StringComparer.OrdinalIgnoreCase)
            .ThenBy(r => r.PlanId, StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>
    /// The day's total, or <see cref="decimal.MaxValue"/> when it is larger than a decimal can hold. Each accepted event
    /// fits (quantities up to decimal.MaxValue are taken), but a day of several such events would overflow; the service
    /// keeps quantities as doubles and still answers, so the report does too, with the nearest total it can write.
    /// </summary>
    private static decimal SumSaturating(IEnumerable<LedgerEntry> entries)
    {
        var total = 0m;
        foreach (var entry in entries)
        {
            if (entry.Quantity > decimal.MaxValue - total)
            {
                return decimal.MaxValue;
            }

            total += entry.Quantity;
        }

        return total;
    }

    private static bool Matches(UsageReportRow row, UsageReportQuery query) =>
        (query.ReconStatus is null || string.Equals(row.ReconStatus, query.ReconStatus, StringComparison.OrdinalIgnoreCase))
        && (query.OfferId is null || string.Equals(row.OfferId, query.OfferId, StringComparison.OrdinalIgnoreCase))
        && (query.PlanId is null || string.Equals(row.PlanId, query.PlanId, StringComparison.OrdinalIgnoreCase))
        && (query.Dimension is null || string.Equals(row.Dimension, query.Dimension, StringComparison.OrdinalIgnoreCase))
        && (query.AzureSubscriptionId is null || row.AzureSubscriptionId == query.AzureSubscriptionId);
}
