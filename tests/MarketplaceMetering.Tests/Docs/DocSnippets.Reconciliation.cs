namespace MarketplaceMetering.Tests.Docs;

/// <summary>The C# of docs/reconciliation.md (see <see cref="DocSnippets"/>).</summary>
internal static class ReconciliationSnippets
{
    public static async Task<IReadOnlyList<RecordedUsage>> RecordedAsync(MeteringClient client)
    {
        #region usage-events
        var rows = await client.GetUsageEventsAsync(new UsageEventQuery(
            usageStartDate: new DateTimeOffset(2026, 11, 19, 0, 0, 0, TimeSpan.Zero),
            usageEndDate: new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero))
        {
            Dimension = "emails",                            // optional: OfferId, PlanId, AzureSubscriptionId, ReconStatus
        });

        foreach (var row in rows)
        {
            // ReconStatus is extensible: a status this version does not know is kept as text, never an exception.
            Console.WriteLine($"{row.UsageDate:yyyy-MM-dd} {row.UsageResourceId} {row.Dimension}: {row.SubmittedQuantity} submitted, {row.ProcessedQuantity} processed ({row.ReconStatus})");
        }
        #endregion
        return rows;
    }

    public static async Task<UsageReconciliationReport> ReconcileAsync(MeteringClient client, IReadOnlyList<UsageEvent> events, DateTimeOffset from, DateTimeOffset to)
    {
        #region reconcile
        // Keep what each submission returned (or read it back from your own store)...
        BulkUsageEventResult sent = await client.SubmitUsageEventsAsync(events);
        var history = sent.Results.Select(SentUsage.FromResult);

        // ...and compare it, day by day, with what the marketplace recorded.
        var reconciler = new UsageReconciler(client);
        UsageReconciliationReport report = await reconciler.ReconcileAsync(history, from, to);

        foreach (var row in report.Differences)
        {
            Console.WriteLine($"{row.Day:yyyy-MM-dd} {row.ResourceId} {row.Dimension}: {row.Differences} "
                + $"(delivered {row.DeliveredQuantity}, marketplace {row.Recorded?.SubmittedQuantity.ToString() ?? "nothing"})");
        }
        #endregion
        return report;
    }
}
