namespace MarketplaceMetering;

/// <summary>One line of a <see cref="UsageReconciliationReport"/>: one resource, dimension and UTC day, seen from both sides.</summary>
public sealed record UsageReconciliationRow
{
    internal UsageReconciliationRow(
        Guid? resourceId,
        string? resourceUri,
        string dimension,
        DateTimeOffset day,
        string? planId,
        decimal sentQuantity,
        decimal deliveredQuantity,
        int rejectedEvents,
        int undeliveredEvents,
        RecordedUsage? recorded,
        UsageDifferences differences)
    {
        ResourceId = resourceId;
        ResourceUri = resourceUri;
        Dimension = dimension;
        Day = day;
        PlanId = planId;
        SentQuantity = sentQuantity;
        DeliveredQuantity = deliveredQuantity;
        RejectedEvents = rejectedEvents;
        UndeliveredEvents = undeliveredEvents;
        Recorded = recorded;
        Differences = differences;
    }

    /// <summary>The resource, as the marketplace reports it (the resource usage id for a managed application, when known).</summary>
    public Guid? ResourceId { get; }

    /// <summary>The resource URI sent, for a managed application whose resource usage id is not known.</summary>
    public string? ResourceUri { get; }

    /// <summary>The dimension.</summary>
    public string Dimension { get; }

    /// <summary>The UTC day.</summary>
    public DateTimeOffset Day { get; }

    /// <summary>The plan, from either side.</summary>
    public string? PlanId { get; }

    /// <summary>The quantity sent for the day, one event per hour (a later event for an hour already sent is not counted again).</summary>
    public decimal SentQuantity { get; }

    /// <summary>The part of <see cref="SentQuantity"/> whose hours the marketplace holds (Accepted or Duplicate).</summary>
    public decimal DeliveredQuantity { get; }

    /// <summary>How many hours of the day were refused for good.</summary>
    public int RejectedEvents { get; }

    /// <summary>How many hours of the day failed in a way that may pass (not delivered yet).</summary>
    public int UndeliveredEvents { get; }

    /// <summary>What the marketplace reports for the day; <see langword="null"/> when it reports nothing.</summary>
    public RecordedUsage? Recorded { get; }

    /// <summary>Every difference found; <see cref="UsageDifferences.None"/> when both sides agree.</summary>
    public UsageDifferences Differences { get; }
}
