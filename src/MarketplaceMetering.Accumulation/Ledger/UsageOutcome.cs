namespace MarketplaceMetering;

/// <summary>What became of one claimed row: a final state, or <see cref="UsageLedgerState.Open"/> to send it again later.</summary>
/// <param name="EntryId">The row's id.</param>
/// <param name="ClaimId">The claim it was sent under; a ledger ignores an outcome whose claim is no longer the row's.</param>
/// <param name="State">The new state.</param>
/// <param name="UsageEventId">The service's event id, when known.</param>
/// <param name="Detail">The error code and message, or what the service held.</param>
/// <param name="ResourceUsageId">The id the service recorded the resource under, when its answer said.</param>
public readonly record struct UsageOutcome(long EntryId, Guid ClaimId, UsageLedgerState State, Guid? UsageEventId, string? Detail, Guid? ResourceUsageId = null);
