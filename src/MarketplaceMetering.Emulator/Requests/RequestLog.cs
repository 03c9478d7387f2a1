namespace MarketplaceMetering.Emulator.Requests;

/// <summary>
/// Every <c>/api</c> request, in arrival order. A request is listed as soon as its body has been read, with no
/// status; its status is filled in once the answer is decided, before the answer is written. So a client that has
/// its response finds its request, and every earlier one (a retried attempt it gave up on included), here. Only the
/// latest <c>capacity</c> are kept: an emulator left running must not grow without limit. Thread-safe.
/// </summary>
internal sealed class RequestLog(int capacity)
{
    private readonly Lock _gate = new();
    private readonly List<Entry> _entries = [];
    private long _nextSequence;

    // The oldest entries are dropped in chunks of this many beyond the capacity, so that a full log does not shift
    // every entry on every request; the snapshot still shows no more than the capacity.
    private readonly int _slack = Math.Max(1, capacity / 8);

    /// <summary>Takes the next arrival number.</summary>
    public long Arrive() => Interlocked.Increment(ref _nextSequence);

    /// <summary>Lists a request that has no answer yet.</summary>
    public Entry Add(long sequence, RecordedRequest request)
    {
        var entry = new Entry(sequence, request);
        lock (_gate)
        {
            var index = _entries.Count;
            while (index > 0 && _entries[index - 1].Sequence > sequence)
            {
                index--;
            }

            _entries.Insert(index, entry);
            if (_entries.Count > capacity + _slack)
            {
                _entries.RemoveRange(0, _entries.Count - capacity);
            }
        }

        return entry;
    }

    /// <summary>Records the answer's status (<see langword="null"/>: none was sent).</summary>
    public void Complete(Entry entry, int? status)
    {
        lock (_gate)
        {
            entry.Request = entry.Request with { ResponseStatus = status };
        }
    }

    public IReadOnlyList<RecordedRequest> Snapshot()
    {
        lock (_gate)
        {
            return _entries.Skip(Math.Max(0, _entries.Count - capacity)).Select(e => e.Request).ToArray();
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _entries.Clear();
        }
    }

    /// <summary>One listed request.</summary>
    internal sealed class Entry(long sequence, RecordedRequest request)
    {
        public long Sequence { get; } = sequence;

        public RecordedRequest Request { get; set; } = request;
    }
}
