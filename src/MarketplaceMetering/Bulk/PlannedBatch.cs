namespace MarketplaceMetering;

/// <summary>One event of a bulk submission, with its position in the input.</summary>
internal readonly record struct IndexedEvent(long Index, UsageEvent Event);

/// <summary>
/// A batch being filled by <see cref="BatchPlanner"/>: at most 25 events, no two with the same key. It may depend on
/// earlier batches that hold an earlier event with one of its keys; it is sent only after they complete, so the
/// service sees same-key events in input order.
/// </summary>
internal sealed class PlannedBatch
{
    private List<PlannedBatch>? _dependencies;
    private readonly TaskCompletionSource<bool> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PlannedBatch(long number) => Number = number;

    public long Number { get; }

    /// <summary>The events, in the order they were added: what is sent when all are still inside their window.</summary>
    public List<UsageEvent> Events { get; } = new(UsageEventValidator.MaxBatchSize);

    /// <summary>Each event's position in the submission's input.</summary>
    public List<long> Indices { get; } = new(UsageEventValidator.MaxBatchSize);

    public int Count => Events.Count;

    public bool IsFull => Events.Count >= UsageEventValidator.MaxBatchSize;

    /// <summary>Completes when the batch has its results (whatever they are).</summary>
    public Task Completion => _completion.Task;

    /// <summary>Whether an event of the batch has <paramref name="key"/> (at most 25: a scan, keys made from the events as needed).</summary>
    public bool Contains(UsageEventKey key)
    {
        foreach (var usageEvent in Events)
        {
            if (UsageEventKey.Of(usageEvent).Equals(key))
            {
                return true;
            }
        }

        return false;
    }

    public void Add(IndexedEvent indexed)
    {
        Events.Add(indexed.Event);
        Indices.Add(indexed.Index);
    }

    public void DependOn(PlannedBatch earlier)
    {
        _dependencies ??= [];
        if (!_dependencies.Contains(earlier))
        {
            _dependencies.Add(earlier);
        }
    }

    public Task DependenciesCompleted() =>
        _dependencies is not { Count: > 0 } dependencies ? Task.CompletedTask : Task.WhenAll(dependencies.Select(d => d.Completion));

    public void Complete()
    {
        _dependencies?.Clear();
        _completion.TrySetResult(true);
    }
}
