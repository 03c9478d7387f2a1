using MarketplaceMetering.Emulator.Ledger;

namespace MarketplaceMetering.Emulator.Wire;

/// <summary>Writes the answer to <c>GET /api/usageEvents</c>: a bare JSON array of daily rows.</summary>
internal static class UsageReportWriter
{
    public static byte[] Write(IReadOnlyList<UsageReportRow> rows, WireTimeStyle style) => JsonBody.Write(w =>
    {
        w.WriteStartArray();
        foreach (var row in rows)
        {
            w.WriteStartObject();
            w.WriteString("usageDate", WireTime.Format(row.UsageDate, style));
            w.WriteString("usageResourceId", row.UsageResourceId);
            w.WriteString("dimension", row.Dimension);
            w.WriteString("planId", row.PlanId);
            w.WriteString("planName", row.PlanName);
            w.WriteString("offerId", row.OfferId);
            w.WriteString("offerName", row.OfferName);
            w.WriteString("offerType", row.OfferType);
            w.WriteString("azureSubscriptionId", row.AzureSubscriptionId);
            w.WriteString("reconStatus", row.ReconStatus);
            JsonBody.WriteQuantity(w, "submittedQuantity", row.SubmittedQuantity);
            JsonBody.WriteQuantity(w, "processedQuantity", row.ProcessedQuantity);
            w.WriteNumber("submittedCount", row.SubmittedCount);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });
}
