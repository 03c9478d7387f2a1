using System.Diagnostics.Metrics;

namespace MarketplaceMetering;

/// <summary>The accumulation layer's metrics, on the <c>MarketplaceMetering.Accumulation</c> meter. No tag carries a resource id.</summary>
internal static class AccumulationTelemetry
{
    public const string MeterName = "MarketplaceMetering.Accumulation";
    public const string DimensionTag = "marketplace_metering.dimension";
    public const string StateTag = "marketplace_metering.ledger.state";

    public static readonly Meter Meter = new(MeterName, typeof(AccumulationTelemetry).Assembly.GetName().Version?.ToString());

    public static readonly Counter<long> Outcomes = Meter.CreateCounter<long>(
        "marketplace_metering.accumulation.outcomes", "{hour}", "Ledger rows (one resource, plan, dimension and hour) that reached a state after sending, by state.");

    public static readonly Counter<long> Expired = Meter.CreateCounter<long>(
        "marketplace_metering.accumulation.expired", "{hour}", "Ledger rows that left the service's 24-hour window unsent: usage that can no longer be billed.");

    public static readonly Counter<double> ExpiredQuantity = Meter.CreateCounter<double>(
        "marketplace_metering.accumulation.expired.quantity", "{unit}", "Quantity that can no longer be billed, by dimension.");

    public static readonly Counter<long> DeadlineWarnings = Meter.CreateCounter<long>(
        "marketplace_metering.accumulation.deadline_warnings", "{hour}", "Unsent ledger rows found within the warning margin of their deadline (each counted once per flusher).");

    public static readonly Counter<long> Conflicts = Meter.CreateCounter<long>(
        "marketplace_metering.accumulation.conflicts", "{hour}", "Hours the service already held with another quantity: not billed as recorded.");

    public static readonly Counter<long> CarriedForward = Meter.CreateCounter<long>(
        "marketplace_metering.accumulation.carried_forward", "{record}", "Usage recorded for an hour already sent, moved into a later open hour.");
}
