using MarketplaceMetering.Emulator.Ledger;

namespace MarketplaceMetering.Emulator;

/// <summary>
/// The usage events the emulator accepted, in the order it accepted them. Tests assert on it; it is also what
/// the emulator deduplicates against (one event per resource, dimension and UTC hour). Thread-safe.
/// </summary>
public sealed class EmulatorLedger
{
    private readonly Lock _gate = new();
    private readonly List<LedgerEntry> _entries = [];
    private readonly Dictionary<UsageKey, LedgerEntry> _byKey = [];

    internal EmulatorLedger()
    {
    }

    /// <summary>Gets a snapshot of the accepted events, oldest first.</summary>
    public IReadOnlyList<LedgerEntry> Entries
    {
        get
        {
            lock (_gate)
            {
                return _entries.ToArray();
            }
        }
    }

    /// <summary>Gets the number of accepted events.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Forgets every accepted event, so the same resource, dimension and hour can be accepted again.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _entries.Clear();
            _byKey.Clear();
        }
    }

    /// <summary>
    /// Records <paramref name="candidate"/> unless an event with the same key was accepted before, in which case
    /// that one is returned in <paramref name="original"/>. Check and insert are one atomic step.
    /// </summary>
    internal bool TryRecord(LedgerEntry candidate, out LedgerEntry original)
    {
        var key = UsageKey.For(candidate);
        lock (_gate)
        {
            if (_byKey.TryGetValue(key, out var existing))
            {
                original = existing;
                return false;
            }

            _byKey.Add(key, candidate);
            _entries.Add(candidate);
            original = candidate;
            return true;
        }
    }
}
