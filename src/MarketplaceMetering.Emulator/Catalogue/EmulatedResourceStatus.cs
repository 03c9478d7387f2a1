namespace MarketplaceMetering.Emulator;

/// <summary>
/// The subscription status of an emulated resource. Only <see cref="Subscribed"/> resources accept usage;
/// the others are answered with <c>ResourceNotActive</c>, as the real service does, except
/// <see cref="OtherPublisher"/>, whose usage this publisher may not report at all.
/// </summary>
public enum EmulatedResourceStatus
{
    /// <summary>The subscription is active and accepts usage. This is the default.</summary>
    Subscribed,

    /// <summary>The subscription was bought but the publisher has not activated it yet.</summary>
    PendingFulfillmentStart,

    /// <summary>The subscription is suspended, for example because the customer has not paid.</summary>
    Suspended,

    /// <summary>The subscription was cancelled.</summary>
    Unsubscribed,

    /// <summary>
    /// The resource was bought under another publisher's app, so this publisher's token may not report its usage: a
    /// single event is answered <c>403</c> with the service's <c>Forbidden</c> body (the same as for a bad token), and a
    /// batch item <c>ResourceNotAuthorized</c>.
    /// </summary>
    OtherPublisher,
}
