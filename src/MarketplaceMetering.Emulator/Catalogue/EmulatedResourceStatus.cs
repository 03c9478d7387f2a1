namespace MarketplaceMetering.Emulator;

/// <summary>
/// The subscription status of an emulated resource. Only <see cref="Subscribed"/> resources accept usage;
/// the others are answered with <c>ResourceNotActive</c>, as the real service does.
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
}
