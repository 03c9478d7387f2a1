namespace MarketplaceMetering;

/// <summary>The outcome of <see cref="MeteringClient.SubmitUsageEventsAsync(IEnumerable{UsageEvent}, CancellationToken)"/>.</summary>
public sealed class BulkUsageEventResult
{
    internal BulkUsageEventResult(IReadOnlyList<UsageEventResult> results, UsageEventSummary summary)
    {
        Results = results;
        Summary = summary;
    }

    /// <summary>One result per submitted event, in input order.</summary>
    public IReadOnlyList<UsageEventResult> Results { get; }

    /// <summary>Counts, delivered quantities, and what needs attention.</summary>
    public UsageEventSummary Summary { get; }

    /// <inheritdoc />
    public override string ToString() => Summary.ToString();
}
