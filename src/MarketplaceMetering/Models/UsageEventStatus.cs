namespace MarketplaceMetering;

/// <summary>What the metering service made of one usage event.</summary>
public enum UsageEventStatus
{
    /// <summary>The event was recorded and will be billed.</summary>
    Accepted,

    /// <summary>
    /// An event for the same resource, dimension and hour was already recorded. See
    /// <see cref="UsageEventResult.Duplicate.IsReplay"/> for whether that original is this very event.
    /// </summary>
    Duplicate,

    /// <summary>The effective start time is more than 24 hours old: this usage can no longer be billed.</summary>
    Expired,

    /// <summary>The resource is unknown to the marketplace.</summary>
    ResourceNotFound,

    /// <summary>The caller's app may not report usage for this resource (bought under another publisher app, say).</summary>
    ResourceNotAuthorized,

    /// <summary>The resource's subscription is not in Subscribed status (suspended, unsubscribed, pending).</summary>
    ResourceNotActive,

    /// <summary>The dimension is not defined on the resource's plan.</summary>
    InvalidDimension,

    /// <summary>The quantity is not acceptable to the service.</summary>
    InvalidQuantity,

    /// <summary>The service rejected a field of the event.</summary>
    BadArgument,

    /// <summary>The service failed to process the event, or the client could not deliver it (see the result's message).</summary>
    Error,

    /// <summary>A status this version of the library does not know; its text is in <see cref="UsageEventResult.Unknown.RawStatus"/>.</summary>
    Unknown,
}
