using MarketplaceMetering.Emulator.Wire;

namespace MarketplaceMetering.Emulator.Admin;

/// <summary>The ledger on the admin API: a JSON array of accepted events, oldest first.</summary>
internal static class LedgerJson
{
    public static byte[] Write(IReadOnlyList<LedgerEntry> entries) => JsonBody.Write(w =>
    {
        w.WriteStartArray();
        foreach (var entry in entries)
        {
            w.WriteStartObject();
            w.WriteString("usageEventId", entry.UsageEventId);
            w.WriteString("resourceId", entry.ResourceId);
            if (entry.ResourceUri is null)
            {
                w.WriteNull("resourceUri");
            }
            else
            {
                w.WriteString("resourceUri", entry.ResourceUri);
            }

            w.WriteString("planId", entry.PlanId);
            w.WriteString("dimension", entry.Dimension);
            JsonBody.WriteQuantity(w, "quantity", entry.Quantity);
            w.WriteString("effectiveStartTime", WireTime.Format(entry.EffectiveStartTime, WireTimeStyle.UtcDesignator));
            w.WriteString("messageTime", WireTime.Format(entry.MessageTime, WireTimeStyle.UtcDesignator));
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });
}
