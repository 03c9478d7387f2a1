namespace MarketplaceMetering;

/// <summary>
/// Usage recorded for an hour that had already been claimed or sent, and therefore added to a later open hour of the
/// same resource, plan and dimension (the service accepts one event per hour, so a second one would be a conflict).
/// </summary>
/// <param name="Resource">The resource.</param>
/// <param name="PlanId">The plan id.</param>
/// <param name="Dimension">The dimension.</param>
/// <param name="FromHour">The hour the usage happened in.</param>
/// <param name="IntoHour">The hour it was added to.</param>
/// <param name="Quantity">The quantity moved.</param>
/// <param name="RecordedAt">When the ledger moved it.</param>
public sealed record UsageCarryForward(
    UsageResource Resource,
    string PlanId,
    string Dimension,
    DateTimeOffset FromHour,
    DateTimeOffset IntoHour,
    decimal Quantity,
    DateTimeOffset RecordedAt);
