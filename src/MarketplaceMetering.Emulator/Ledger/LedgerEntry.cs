namespace MarketplaceMetering.Emulator;

/// <summary>A usage event the emulator accepted.</summary>
/// <param name="UsageEventId">The id the emulator gave the event.</param>
/// <param name="ResourceId">The resource usage id: the SaaS subscription id, or the id a managed application is answered with.</param>
/// <param name="ResourceUri">The managed application's resource URI; <see langword="null"/> for a SaaS subscription.</param>
/// <param name="PlanId">The plan id sent with the event.</param>
/// <param name="Dimension">The dimension as sent.</param>
/// <param name="Quantity">The quantity as the service holds it: the nearest double to what was sent (9.123456789012346 is held as 9.1234567890123461).</param>
/// <param name="EffectiveStartTime">The usage time as sent, in UTC.</param>
/// <param name="MessageTime">When the emulator accepted the event, by its clock.</param>
public sealed record LedgerEntry(
    Guid UsageEventId,
    Guid ResourceId,
    string? ResourceUri,
    string PlanId,
    string Dimension,
    decimal Quantity,
    DateTimeOffset EffectiveStartTime,
    DateTimeOffset MessageTime);
