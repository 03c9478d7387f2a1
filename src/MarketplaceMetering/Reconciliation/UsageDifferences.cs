namespace MarketplaceMetering;

/// <summary>What differs between what was sent and what the marketplace recorded, for one resource, dimension and day.</summary>
[Flags]
#pragma warning disable CA1711 // "Flags" would be the usual suffix; "Differences" reads better in a report and is not a collection
public enum UsageDifferences
#pragma warning restore CA1711
{
    /// <summary>Both sides agree.</summary>
    None = 0,

    /// <summary>Usage delivered by the sender (Accepted or Duplicate) that the marketplace does not report.</summary>
    MissingThere = 1,

    /// <summary>Usage the marketplace reports that the sender has no delivered event for.</summary>
    MissingHere = 2,

    /// <summary>
    /// The quantity delivered differs from the quantity the marketplace reports as submitted, or the marketplace
    /// processed another quantity than it was submitted (reconciliation status Mismatch).
    /// </summary>
    QuantityMismatch = 4,

    /// <summary>Events refused for good (Expired, ResourceNotFound, …), or a row the marketplace reports as Rejected.</summary>
    Rejected = 8,

    /// <summary>The marketplace has not processed the day yet (reconciliation status Submitted).</summary>
    StillProcessing = 16,

    /// <summary>Events whose delivery failed in a way that may pass (Error, an unknown status): send them again while they are within 24 hours.</summary>
    Undelivered = 32,
}
