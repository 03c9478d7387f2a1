using System.Globalization;
#if NET
using System.Runtime.InteropServices;
#endif
using System.Text;

namespace MarketplaceMetering;

/// <summary>
/// What a bulk submission achieved, ready to log (<see cref="ToString"/>) or to feed back (<see cref="Retryable"/>):
/// counts per status, the quantity delivered per dimension, and the results that still need attention.
/// </summary>
/// <remarks>
/// Delivered means recorded for billing: Accepted, or a Duplicate that is a replay of the very same event. A
/// conflicting Duplicate is not delivered: the hour holds another quantity.
/// </remarks>
public sealed class UsageEventSummary
{
    private readonly Dictionary<UsageEventStatus, int> _byStatus = [];
    private readonly Dictionary<string, decimal> _deliveredByDimension = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<UsageEventResult> _needsAttention = [];
    private readonly List<UsageEvent> _retryable = [];

    private UsageEventSummary()
    {
    }

    /// <summary>How many results were summarised.</summary>
    public int Total { get; private set; }

    /// <summary>How many events are recorded for billing: <see cref="Accepted"/> plus <see cref="Replays"/>.</summary>
    public int Delivered => Accepted + Replays;

    /// <summary>How many events the service accepted in this submission.</summary>
    public int Accepted { get; private set; }

    /// <summary>How many came back as a Duplicate of themselves (recorded by an earlier attempt): delivered.</summary>
    public int Replays { get; private set; }

    /// <summary>How many came back as a Duplicate of a different first write: not delivered.</summary>
    public int Conflicts { get; private set; }

    /// <summary><see langword="true"/> when every event is delivered.</summary>
    public bool AllDelivered => Delivered == Total;

    /// <summary>The number of results per status (statuses with none are absent).</summary>
    public IReadOnlyDictionary<UsageEventStatus, int> CountByStatus => _byStatus;

    /// <summary>
    /// The quantity recorded for billing per dimension (case-insensitive keys): accepted events' quantities, and for
    /// replays the quantity the service holds (its original's). A total past <see cref="decimal.MaxValue"/> is held
    /// as <see cref="decimal.MaxValue"/>.
    /// </summary>
    public IReadOnlyDictionary<string, decimal> DeliveredQuantityByDimension => _deliveredByDimension;

    /// <summary>
    /// Every result that is not delivered, in input order: retryable failures (Error, Unknown), conflicts, expired
    /// events and rejected ones (resource, dimension, quantity or argument problems).
    /// </summary>
    public IReadOnlyList<UsageEventResult> NeedsAttention => _needsAttention;

    /// <summary>
    /// The events worth submitting again later, unchanged: those whose outcome is an Error (including a call that
    /// failed after its retries) or Unknown. Submitting again is safe: what was recorded comes back as a replay.
    /// </summary>
    public IReadOnlyList<UsageEvent> Retryable => _retryable;

    /// <summary>The number of results with <paramref name="status"/>.</summary>
    /// <param name="status">The status to count.</param>
    public int Count(UsageEventStatus status) => _byStatus.TryGetValue(status, out var n) ? n : 0;

    /// <summary>Summarises <paramref name="results"/>.</summary>
    /// <param name="results">The results of a submission.</param>
    public static UsageEventSummary Create(IEnumerable<UsageEventResult> results)
    {
        Argument.NotNull(results);
        var summary = new UsageEventSummary();
        foreach (var result in results)
        {
            summary.Add(result);
        }

        return summary;
    }

    /// <summary>
    /// Summarises a stream of results as they arrive, keeping only counts and the results that need attention, so
    /// memory stays bounded by the failures, not by the stream's length.
    /// </summary>
    /// <param name="results">The results of a streamed submission.</param>
    /// <param name="cancellationToken">Cancels the reading.</param>
    public static async Task<UsageEventSummary> CreateAsync(IAsyncEnumerable<UsageEventResult> results, CancellationToken cancellationToken = default)
    {
        Argument.NotNull(results);
        var summary = new UsageEventSummary();
        await foreach (var result in results.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            summary.Add(result);
        }

        return summary;
    }

    /// <summary>One line for a log: the counts, the delivered quantities and what needs attention.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendFormat(CultureInfo.InvariantCulture, "{0} events: {1} delivered ({2} accepted, {3} replays)", Total, Delivered, Accepted, Replays);
        foreach (var pair in _byStatus.Where(p => p.Key is not (UsageEventStatus.Accepted or UsageEventStatus.Duplicate)).OrderBy(p => p.Key))
        {
            text.AppendFormat(CultureInfo.InvariantCulture, ", {0} {1}", pair.Value, pair.Key);
        }

        if (Conflicts > 0)
        {
            text.AppendFormat(CultureInfo.InvariantCulture, ", {0} conflicts", Conflicts);
        }

        if (_deliveredByDimension.Count > 0)
        {
            text.Append("; delivered ");
            text.Append(string.Join(", ", _deliveredByDimension.OrderBy(p => p.Key, StringComparer.OrdinalIgnoreCase).Select(p => p.Key + " " + p.Value.ToString(CultureInfo.InvariantCulture))));
        }

        return text.ToString();
    }

    private void Add(UsageEventResult result)
    {
        Argument.NotNull(result);
        Total++;
#if NET
        CollectionsMarshal.GetValueRefOrAddDefault(_byStatus, result.Status, out _)++; // one lookup, not two
#else
        _byStatus[result.Status] = Count(result.Status) + 1;
#endif
        switch (result)
        {
            case UsageEventResult.Accepted:
                Accepted++;
                break;
            case UsageEventResult.Duplicate { IsReplay: true }:
                Replays++;
                break;
            case UsageEventResult.Duplicate:
                Conflicts++;
                break;
            case UsageEventResult.Error or UsageEventResult.Unknown:
                _retryable.Add(result.Event);
                break;
        }

        if (result.IsDelivered)
        {
            // A replay counts what the service holds (its original), which can differ from the decimal sent only beyond
            // a double's precision; never more than the service recorded.
            var quantity = result is UsageEventResult.Duplicate { Original: { } original } ? original.Quantity : result.Event.Quantity;
#if NET
            ref var total = ref CollectionsMarshal.GetValueRefOrAddDefault(_deliveredByDimension, result.Event.Dimension, out _);
            total = AddSaturating(total, quantity);
#else
            _deliveredByDimension[result.Event.Dimension] = AddSaturating(_deliveredByDimension.TryGetValue(result.Event.Dimension, out var q) ? q : 0, quantity);
#endif
        }
        else
        {
            _needsAttention.Add(result);
        }
    }

    /// <summary>
    /// The sum, or <see cref="decimal.MaxValue"/> past it: the service holds doubles, so events each a decimal can be
    /// delivered whose total is not, and the summary of a submission that was sent must not throw.
    /// </summary>
    private static decimal AddSaturating(decimal total, decimal quantity) =>
        quantity > decimal.MaxValue - total ? decimal.MaxValue : total + quantity;
}
