namespace MarketplaceMetering;

/// <summary>One row of the ledger: the usage of one resource, plan and dimension in one UTC hour, and what became of it.</summary>
public sealed record UsageLedgerEntry
{
    /// <summary>Gets the row's id in its ledger.</summary>
    public required long Id { get; init; }

    /// <summary>Gets the resource.</summary>
    public required UsageResource Resource { get; init; }

    /// <summary>Gets the plan id.</summary>
    public required string PlanId { get; init; }

    /// <summary>Gets the dimension.</summary>
    public required string Dimension { get; init; }

    /// <summary>Gets the start of the UTC hour; the event is sent with this effective start time.</summary>
    public required DateTimeOffset Hour { get; init; }

    /// <summary>Gets the exact sum recorded for the hour (including usage carried into it from hours already sent).</summary>
    public required decimal Quantity { get; init; }

    /// <summary>Gets where the row stands.</summary>
    public required UsageLedgerState State { get; init; }

    /// <summary>Gets the service's id for the event (the original's, for a replay or a conflict), once known.</summary>
    public Guid? UsageEventId { get; init; }

    /// <summary>
    /// Gets the id the service recorded the resource under, once known: for a managed application recorded by its URI,
    /// the resource usage id the service answered with (the marketplace reports usage by it, so reconciliation needs it);
    /// for a SaaS subscription, its own id. <see langword="null"/> in rows completed before schema version 2.
    /// </summary>
    public Guid? ResourceUsageId { get; init; }

    /// <summary>Gets the last error code and message, or what the service held for a conflict.</summary>
    public string? Detail { get; init; }

    /// <summary>Gets how many times the row was claimed for sending.</summary>
    public int Attempts { get; init; }

    /// <summary>Gets when the row was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Gets when the row last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Gets when the row was last claimed for sending.</summary>
    public DateTimeOffset? SubmittedAt { get; init; }

    /// <summary>Gets when the row reached a final state.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>Gets the claim under which the row is being sent (while <see cref="UsageLedgerState.Submitting"/>).</summary>
    public Guid? ClaimId { get; init; }

    /// <summary>Gets the instant after which the usage can no longer be sent: 24 hours after <see cref="Hour"/>, less the client's safety margin.</summary>
    public DateTimeOffset Deadline => AccumulationRules.DeadlineOf(Hour);

    /// <summary>Gets a value indicating whether the usage was billed as recorded (<see cref="UsageLedgerState.Accepted"/> or <see cref="UsageLedgerState.Replayed"/>).</summary>
    public bool IsDelivered => State is UsageLedgerState.Accepted or UsageLedgerState.Replayed;
}
