#if NET
using System.Runtime.InteropServices;
#endif

namespace MarketplaceMetering;

/// <summary>
/// Splits a stream of events into batches of at most 25, never two events with the same resource, dimension and hour
/// in one batch. An event goes into the first open batch that lacks its key; that batch depends on the batch that holds
/// the key's previous event. Batches are handed out for sending in the order they were opened, and a batch is never
/// handed out before an earlier open one, so a dependency is always sent first. Memory is bounded by
/// <see cref="MaxOpenBatches"/> open batches and the keys of batches not yet completed.
/// </summary>
internal sealed class BatchPlanner
{
    /// <summary>
    /// How many partial batches may be open at once. More than one is needed only when events share keys; the oldest
    /// is sent partial when the limit is passed.
    /// </summary>
    public const int MaxOpenBatches = 4;

    private readonly List<PlannedBatch> _open = [];
    private readonly Dictionary<UsageEventKey, PlannedBatch> _latestByKey = [];
    private Dictionary<UsageEventKey, Guid>? _deliveredByKey;
    private long _batches;

    /// <summary>Open batches plus keys tracked for batches still in flight: what the planner holds in memory.</summary>
    public int TrackedKeys => _latestByKey.Count;

    /// <summary>Adds an event; appends to <paramref name="ready"/> the batches to send now, oldest first.</summary>
    public void Add(IndexedEvent indexed, List<PlannedBatch> ready)
    {
        var key = UsageEventKey.Of(indexed.Event);
#if NET
        // One lookup for the read and the write below; nothing else touches the map in between.
        ref var latest = ref CollectionsMarshal.GetValueRefOrAddDefault(_latestByKey, key, out var seen);
        var previous = latest;
#else
        var seen = _latestByKey.TryGetValue(key, out var previous);
#endif
        PlannedBatch? target = null;
        if (!seen || !_open.Contains(previous!))
        {
            // The common case: no open batch holds the key (a batch holding it was opened last), so the first open batch takes it.
            target = _open.Count > 0 ? _open[0] : null;
        }
        else
        {
            foreach (var open in _open)
            {
                if (!open.Contains(key))
                {
                    target = open;
                    break;
                }
            }
        }

        if (target is null)
        {
            target = new PlannedBatch(_batches++);
            _open.Add(target);
        }

#if NET
        latest = target;
#else
        _latestByKey[key] = target;
#endif
        if (seen && previous != target)
        {
            target.DependOn(previous!);
        }

        target.Add(indexed);

        if (target.IsFull)
        {
            // Hand out the full batch and every batch opened before it, in order.
            var through = _open.IndexOf(target);
            for (var i = 0; i <= through; i++)
            {
                ready.Add(_open[i]);
            }

            _open.RemoveRange(0, through + 1);
        }
        else if (_open.Count > MaxOpenBatches)
        {
            ready.Add(_open[0]);
            _open.RemoveAt(0);
        }
    }

    /// <summary>Hands out every open batch, oldest first (end of input).</summary>
    public void Flush(List<PlannedBatch> ready)
    {
        ready.AddRange(_open);
        _open.Clear();
    }

    /// <summary>
    /// Forgets the keys of a completed batch, unless a later batch holds them. For a key a later batch holds (the same
    /// resource, dimension and hour given again), remembers the usage event id the batch's event was delivered as, so
    /// that the later batch's Duplicate of that very id is taken as a repeat (a conflict), not a replay: see
    /// <see cref="UsageEventResult.Duplicate.AsRepeat"/>. The ids live only as long as their keys, and the map exists
    /// only once a key came again.
    /// </summary>
    public void Completed(PlannedBatch batch)
    {
        var events = batch.Events;
        var results = batch.Results;
        for (var i = 0; i < events.Count; i++)
        {
            var key = UsageEventKey.Of(events[i]);
            if (_deliveredByKey is { } delivered && results is not null
                && results[i] is UsageEventResult.Duplicate { IsReplay: true, Original: { } original } replay
                && delivered.TryGetValue(key, out var id) && id == original.UsageEventId)
            {
                results[i] = replay.AsRepeat();
            }

#if NET
            // One lookup in the common case; a key a later batch holds (rare) goes back in.
            if (_latestByKey.Remove(key, out var latest))
            {
                if (latest != batch)
                {
                    _latestByKey[key] = latest;
                    RememberDelivered(key, results?[i]);
                }
                else
                {
                    _deliveredByKey?.Remove(key);
                }
            }
#else
            if (_latestByKey.TryGetValue(key, out var latest))
            {
                if (latest == batch)
                {
                    _latestByKey.Remove(key);
                    _deliveredByKey?.Remove(key);
                }
                else
                {
                    RememberDelivered(key, results?[i]);
                }
            }
#endif
        }
    }

    private void RememberDelivered(UsageEventKey key, UsageEventResult? result)
    {
        Guid? id = result switch
        {
            UsageEventResult.Accepted accepted => accepted.UsageEventId,
            UsageEventResult.Duplicate { IsReplay: true, Original: { } original } => original.UsageEventId,
            _ => null,
        };

        if (id is { } delivered)
        {
            (_deliveredByKey ??= [])[key] = delivered;
        }
    }
}
