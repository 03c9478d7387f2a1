namespace MarketplaceMetering;

/// <summary>The outcome of a batch: one result per submitted event, in submission order.</summary>
public sealed class BatchUsageEventResult
{
    internal BatchUsageEventResult(IReadOnlyList<UsageEventResult> results) => Results = results;

    /// <summary>
    /// One result per submitted event, in the order the events were submitted: the service's items are matched to
    /// the events by resource, plan, dimension and hour, never by their position in the answer.
    /// </summary>
    public IReadOnlyList<UsageEventResult> Results { get; }

    /// <summary><see langword="true"/> when every event's usage is recorded (accepted, or a replayed duplicate).</summary>
    public bool IsAllDelivered => Results.All(r => r.IsDelivered);

    /// <inheritdoc />
    public override string ToString() =>
        $"BatchUsageEventResult {{ Count = {Results.Count}, {string.Join(", ", Results.GroupBy(r => r.Status).Select(g => $"{g.Key} = {g.Count()}"))} }}";
}
