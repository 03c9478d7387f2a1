using System.Collections.Concurrent;

namespace MarketplaceMetering.Emulator.Ledger;

/// <summary>
/// What <c>GET /api/usageEvents</c> reports for a resource, dimension and UTC day in place of "Accepted, all of it
/// processed": the states the marketplace reports while it processes usage, or after it refused or changed it, which
/// no request to the emulator can produce.
/// </summary>
internal sealed class ReconciliationOverrides
{
    private readonly ConcurrentDictionary<(Guid Resource, string Dimension, DateTime Day), (string Status, decimal? Processed)> _overrides = new();

    /// <summary>Sets what is reported for one resource, dimension and UTC day (see <see cref="MeteringEmulator.SetReconciliation"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="dimension"/> or <paramref name="reconStatus"/> is empty, or <paramref name="processedQuantity"/> is negative.</exception>
    public void Set(Guid resourceId, string dimension, DateTimeOffset day, string reconStatus, decimal? processedQuantity)
    {
        if (string.IsNullOrWhiteSpace(dimension))
        {
            throw new ArgumentException("The dimension must not be empty.", nameof(dimension));
        }

        if (string.IsNullOrWhiteSpace(reconStatus))
        {
            throw new ArgumentException("The reconciliation status must not be empty.", nameof(reconStatus));
        }

        if (processedQuantity < 0)
        {
            throw new ArgumentException("The processed quantity must not be negative.", nameof(processedQuantity));
        }

        _overrides[(resourceId, dimension.ToUpperInvariant(), day.UtcDateTime.Date)] = (reconStatus, processedQuantity);
    }

    /// <summary>The status and processed quantity to report for a row whose submitted total is <paramref name="submitted"/>.</summary>
    public (string Status, decimal Processed) For(Guid resourceId, string dimension, DateTimeOffset day, decimal submitted)
    {
        if (!_overrides.TryGetValue((resourceId, dimension.ToUpperInvariant(), day.UtcDateTime.Date), out var found))
        {
            return (UsageReport.AcceptedReconStatus, submitted);
        }

        // Unless told otherwise, an accepted row is processed in full and any other row not at all.
        var processed = found.Processed ?? (string.Equals(found.Status, UsageReport.AcceptedReconStatus, StringComparison.OrdinalIgnoreCase) ? submitted : 0m);
        return (found.Status, processed);
    }
}
