namespace MarketplaceMetering;

/// <summary>A quantity to add to one hour of one meter in the ledger.</summary>
/// <param name="Resource">The resource.</param>
/// <param name="PlanId">The plan id.</param>
/// <param name="Dimension">The dimension.</param>
/// <param name="Hour">The start of the UTC hour the usage happened in.</param>
/// <param name="Quantity">The quantity; greater than zero.</param>
public readonly record struct UsageDelta(UsageResource Resource, string PlanId, string Dimension, DateTimeOffset Hour, decimal Quantity);
