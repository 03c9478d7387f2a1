using System.Runtime.ExceptionServices;

namespace MarketplaceMetering;

/// <summary>One event of a bulk submission, with its position in the input.</summary>
internal readonly record struct IndexedEvent(long Index, UsageEvent Event);

/// <summary>
/// A batch being filled by <see cref="BatchPlanner"/>: at most 25 events, no two with the same key. It may depend on
/// earlier batches that hold an earlier event with one of its keys; it is sent only after they complete, so the
/// service sees same-key events in input order. Once sent, it carries its results (or its failure) back to the
/// submission's loop.
/// </summary>
internal sealed class PlannedBatch
{
    private List<PlannedBatch>? _dependencies;
    private TaskCompletionSource<bool>? _completion;
    private int _completed;

    // Positions in the input: the events of a batch usually sit side by side, so the first position stands for all of
    // them until one does not follow the previous (then they are listed).
    private long _firstIndex;
    private List<long>? _indices;

    public PlannedBatch(long number) => Number = number;

    public long Number { get; }

    /// <summary>The events, in the order they were added: what is sent when all are still inside their window.</summary>
    public List<UsageEvent> Events { get; } = new(UsageEventValidator.MaxBatchSize);

    /// <summary>Each event's position in the submission's input (built on demand, for tests).</summary>
    public IEnumerable<long> Indices => Enumerable.Range(0, Count).Select(IndexAt);

    public int Count => Events.Count;

    public bool IsFull => Events.Count >= UsageEventValidator.MaxBatchSize;

    /// <summary>The results, one per event in order, once the batch was handled.</summary>
    public UsageEventResult[]? Results { get; set; }

    /// <summary>What ended the batch's handling instead of results (cancellation, an unexpected exception).</summary>
    public ExceptionDispatchInfo? Failure { get; set; }

    /// <summary>
    /// Completes when the batch has its results (whatever they are). Created only when a later batch waits for this
    /// one; after <see cref="Complete"/>, a completed task.
    /// </summary>
    public Task Completion
    {
        get
        {
            if (Volatile.Read(ref _completed) != 0)
            {
                return Task.CompletedTask;
            }

            var completion = Volatile.Read(ref _completion);
            if (completion is null)
            {
                var created = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                completion = Interlocked.CompareExchange(ref _completion, created, null) ?? created;
            }

            if (Volatile.Read(ref _completed) != 0)
            {
                completion.TrySetResult(true); // Complete() ran meanwhile and may have missed the new source
            }

            return completion.Task;
        }
    }

    /// <summary>The position in the input of the event at <paramref name="position"/>.</summary>
    public long IndexAt(int position) => _indices is { } indices ? indices[position] : _firstIndex + position;

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
        if (Events.Count == 0)
        {
            _firstIndex = indexed.Index;
        }
        else if (_indices is not null)
        {
            _indices.Add(indexed.Index);
        }
        else if (indexed.Index != _firstIndex + Events.Count)
        {
            _indices = new List<long>(UsageEventValidator.MaxBatchSize);
            for (var i = 0; i < Events.Count; i++)
            {
                _indices.Add(_firstIndex + i);
            }

            _indices.Add(indexed.Index);
        }

        Events.Add(indexed.Event);
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
        Interlocked.Exchange(ref _completed, 1); // a full fence: the getter's check after its exchange sees this, or this sees its source
        Volatile.Read(ref _completion)?.TrySetResult(true);
    }
}
