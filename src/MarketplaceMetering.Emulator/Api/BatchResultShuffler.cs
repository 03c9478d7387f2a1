using System.Diagnostics.CodeAnalysis;

namespace MarketplaceMetering.Emulator.Api;

/// <summary>
/// Puts batch results out of order, as the real service does, so clients match items by content rather than
/// position. Seeded for reproducible runs; separate from the fault draws, so changing faults does not change orders.
/// </summary>
internal sealed class BatchResultShuffler
{
    private readonly Lock _gate = new();
    private readonly Random? _random;

    [SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "The order must be reproducible from a seed; nothing here is security-sensitive.")]
    public BatchResultShuffler(bool enabled, int? seed)
    {
        if (enabled)
        {
            // A different stream from the fault draws, derived from the same seed.
            _random = seed is { } value ? new Random(unchecked((value * 31) + 17)) : new Random();
        }
    }

    [SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "See the constructor.")]
    public IReadOnlyList<T> Order<T>(IReadOnlyList<T> items)
    {
        if (_random is null || items.Count < 2)
        {
            return items;
        }

        var copy = items.ToArray();
        lock (_gate)
        {
            _random.Shuffle(copy);
        }

        return copy;
    }
}
