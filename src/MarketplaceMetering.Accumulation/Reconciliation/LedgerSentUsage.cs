using System.Globalization;
using System.Runtime.CompilerServices;

namespace MarketplaceMetering;

/// <summary>Reads a <see cref="UsageLedger"/> as the <see cref="SentUsage"/> a <see cref="UsageReconciler"/> compares (see docs/reconciliation.md).</summary>
internal static class LedgerSentUsage
{
    /// <summary>The rows of each day in turn (one day in memory at a time), as sent usage.</summary>
    public static async IAsyncEnumerable<SentUsage> ReadAsync(UsageLedger ledger, DateTimeOffset start, DateTimeOffset end, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var day = start; day < end; day = day.AddDays(1))
        {
            var entries = await ledger.GetEntriesAsync(day, day.AddDays(1), state: null, cancellationToken).ConfigureAwait(false);
            foreach (var entry in entries)
            {
                yield return ToSentUsage(entry);
            }
        }
    }

    /// <summary>One ledger row as the reconciler reads it; the mapping of each state is documented in docs/reconciliation.md.</summary>
    public static SentUsage ToSentUsage(UsageLedgerEntry entry) => new(
        entry.Resource.Id,
        entry.Resource.Uri,
        entry.PlanId,
        entry.Dimension,
        entry.Hour,
        entry.Quantity,
        StatusOf(entry),
        entry.ResourceUsageId)
    {
        UsageEventId = entry.UsageEventId,
    };

    private static UsageEventStatus StatusOf(UsageLedgerEntry entry) => entry.State switch
    {
        UsageLedgerState.Accepted => UsageEventStatus.Accepted,

        // Replayed: the service held this very event. Conflict: the service holds the hour, with another quantity
        // (the first write of the hour won). Both are a Duplicate to the reconciler: the hour is billed, at the
        // quantity the marketplace reports, so a conflict shows as a QuantityMismatch of the day, not as a rejection.
        UsageLedgerState.Replayed or UsageLedgerState.Conflict => UsageEventStatus.Duplicate,
        UsageLedgerState.Expired => UsageEventStatus.Expired,
        UsageLedgerState.Failed => RefusalOf(entry.Detail),

        // Open and Submitting: not delivered yet (waiting for its hour to close, being sent, or back to open after a
        // failure that may pass): Undelivered in the report, which is what it is until the flusher sends it.
        _ => UsageEventStatus.Unknown,
    };

    /// <summary>The refusal a Failed row's detail starts with ("ResourceNotFound: …"), or BadArgument: either way the reconciler counts it rejected.</summary>
    private static UsageEventStatus RefusalOf(string? detail)
    {
        var code = detail?.Split(':', 2)[0].Trim();
        return Enum.TryParse<UsageEventStatus>(code, ignoreCase: true, out var status)
            && Enum.IsDefined(status)
            && status is not (UsageEventStatus.Accepted or UsageEventStatus.Duplicate or UsageEventStatus.Error or UsageEventStatus.Unknown)
            ? status
            : UsageEventStatus.BadArgument;
    }

    private static DateTimeOffset Midnight(DateTimeOffset time) => new(time.UtcDateTime.Date, TimeSpan.Zero);
}
