namespace MarketplaceMetering;

/// <summary>What one <see cref="UsageFlusher.FlushAsync"/> did, counted in ledger rows (one resource, plan, dimension and hour each).</summary>
public sealed record UsageFlushResult
{
    /// <summary>Gets the rows claimed and sent.</summary>
    public int Claimed { get; init; }

    /// <summary>Gets the rows the service accepted or already held with the same quantity (a replay).</summary>
    public int Delivered { get; init; }

    /// <summary>
    /// Gets the rows whose sending failed for a reason that may pass, or that the service had not answered when the
    /// flush stopped sending them shortly before their claim's lease would have ended (log event 114); they are open
    /// again and go with the next flush.
    /// </summary>
    public int Retrying { get; init; }

    /// <summary>Gets the rows the service already held with another quantity.</summary>
    public int Conflicts { get; init; }

    /// <summary>Gets the rows the service refused for good (unknown resource, invalid dimension, …).</summary>
    public int Failed { get; init; }

    /// <summary>Gets the rows marked expired by this flush: usage that can no longer be billed.</summary>
    public int Expired { get; init; }

    /// <summary>Gets the unsent rows within the warning margin of their deadline when the flush began.</summary>
    public int NearDeadline { get; init; }

    /// <summary>
    /// Gets the rows claimed and sent whose outcome this flush did not record: its claim's lease ended before the send
    /// finished, and another instance claimed them. That instance records and counts them; they are in no other count here.
    /// </summary>
    public int Superseded { get; init; }
}
