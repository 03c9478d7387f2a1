namespace MarketplaceMetering;

/// <summary>Where one hour of one meter stands. A row moves <c>Open → Submitting →</c> one of the final states; a failed attempt that may pass goes back to <see cref="Open"/>.</summary>
public enum UsageLedgerState
{
    /// <summary>Usage is still being summed, or waits to be sent.</summary>
    Open = 0,

    /// <summary>An instance has claimed the row and is sending it; its claim ends at the lease time.</summary>
    Submitting = 1,

    /// <summary>The service accepted the event; <see cref="UsageLedgerEntry.UsageEventId"/> is its id.</summary>
    Accepted = 2,

    /// <summary>The service already held this event with the same quantity (a resend after a lost answer or a crash): delivered.</summary>
    Replayed = 3,

    /// <summary>The service already held an event for this resource, dimension and hour with another quantity: not billed as recorded.</summary>
    Conflict = 4,

    /// <summary>The hour left the service's 24-hour window before it was delivered: the usage can no longer be billed.</summary>
    Expired = 5,

    /// <summary>The service refused the event for a reason that resending does not fix (unknown resource, invalid dimension, …).</summary>
    Failed = 6,
}
