using System.Globalization;

namespace MarketplaceMetering;

/// <summary>
/// Compares what was sent (a sequence of <see cref="SentUsage"/>: results kept by the caller, a file, a ledger) with
/// what the marketplace recorded (<see cref="MeteringClient.GetUsageEventsAsync"/>), per resource, dimension and UTC
/// day, and flags each difference (<see cref="UsageDifferences"/>).
/// </summary>
/// <remarks>
/// <para>
/// The range is widened to whole UTC days (the marketplace reports days): from midnight at or before the start date
/// to midnight at or after the end date. Sent events outside it are ignored.
/// </para>
/// <para>
/// The marketplace keeps one event per resource, dimension and hour, so the sent side is read the same way: of several
/// events for one hour (retries, Duplicates), the first delivered one counts, or, when none was delivered, the last
/// one decides whether the hour was rejected or is still undelivered. A later Duplicate of a delivered hour with
/// another quantity is a conflict (its usage was not billed) and flags the row
/// <see cref="UsageDifferences.QuantityMismatch"/>. Quantities are compared with a relative tolerance of 10⁻⁹, since
/// the marketplace sums IEEE doubles.
/// </para>
/// <para>
/// Managed applications: the marketplace reports usage under the resource usage id, not the resource URI sent. Give
/// each <see cref="SentUsage"/> its <see cref="SentUsage.ResourceUsageId"/> (from the Accepted result) or the rows
/// cannot be matched; one event of a resource that carries both is enough for the others of the same URI.
/// </para>
/// </remarks>
public class UsageReconciler
{
    private const decimal RelativeTolerance = 0.000000001m;

    private readonly MeteringClient? _client;

    /// <summary>Creates a reconciler that reads the marketplace's records through <paramref name="client"/>.</summary>
    /// <param name="client">The client to read recorded usage with.</param>
    /// <exception cref="ArgumentNullException"><paramref name="client"/> is null.</exception>
    public UsageReconciler(MeteringClient client)
    {
        _client = Argument.NotNull(client);
    }

    /// <summary>For mocking only.</summary>
    protected UsageReconciler()
    {
    }

    /// <summary>Reads what the marketplace recorded for the days of [<paramref name="startDate"/>, <paramref name="endDate"/>) and compares it with <paramref name="sent"/>.</summary>
    /// <param name="sent">What was sent and what became of it; events outside the range are ignored.</param>
    /// <param name="startDate">The start of the range (widened to midnight UTC).</param>
    /// <param name="endDate">The end of the range (widened to the next midnight UTC, unless it is one).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException"><paramref name="endDate"/> is not after <paramref name="startDate"/>, an entry of <paramref name="sent"/> is null or names no resource, or the quantities sent for one resource, dimension and day add up to more than a <see cref="decimal"/> holds.</exception>
    /// <exception cref="MeteringException">The marketplace's records could not be read (see <see cref="MeteringClient.GetUsageEventsAsync"/>), or its quantities for one resource, dimension and day add up to more than a <see cref="decimal"/> holds.</exception>
    public virtual async Task<UsageReconciliationReport> ReconcileAsync(IEnumerable<SentUsage> sent, DateTimeOffset startDate, DateTimeOffset endDate, CancellationToken cancellationToken = default)
    {
        Argument.NotNull(sent);
        var (start, end) = Range(startDate, endDate);
        var sentList = sent.ToList();
        Validate(sentList, nameof(sent));
        var recorded = await Client.GetUsageEventsAsync(new UsageEventQuery(start, end), cancellationToken).ConfigureAwait(false);
        return Compare(sentList, recorded, start, end, recordedByService: true);
    }

    /// <summary>
    /// Reads a stream of sent usage (a ledger, a large file), then compares it as
    /// <see cref="ReconcileAsync(IEnumerable{SentUsage}, DateTimeOffset, DateTimeOffset, CancellationToken)"/> does.
    /// Only the events inside the range are kept in memory.
    /// </summary>
    /// <param name="sent">What was sent and what became of it.</param>
    /// <param name="startDate">The start of the range (widened to midnight UTC).</param>
    /// <param name="endDate">The end of the range (widened to the next midnight UTC, unless it is one).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The report.</returns>
    public virtual async Task<UsageReconciliationReport> ReconcileAsync(IAsyncEnumerable<SentUsage> sent, DateTimeOffset startDate, DateTimeOffset endDate, CancellationToken cancellationToken = default)
    {
        Argument.NotNull(sent);
        var (start, end) = Range(startDate, endDate);
        var kept = new List<SentUsage>();
        var index = 0;
        await foreach (var usage in sent.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            Validate(usage, index++, nameof(sent));
            if (usage.EffectiveStartTime >= start && usage.EffectiveStartTime < end)
            {
                kept.Add(usage);
            }
        }

        var recorded = await Client.GetUsageEventsAsync(new UsageEventQuery(start, end), cancellationToken).ConfigureAwait(false);
        return Compare(kept, recorded, start, end, recordedByService: true);
    }

    /// <summary>Compares <paramref name="sent"/> with rows already read from the marketplace, without any I/O.</summary>
    /// <param name="sent">What was sent and what became of it; events outside the range are ignored.</param>
    /// <param name="recorded">The marketplace's rows; rows outside the range are ignored.</param>
    /// <param name="startDate">The start of the range (widened to midnight UTC).</param>
    /// <param name="endDate">The end of the range (widened to the next midnight UTC, unless it is one).</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">
    /// <paramref name="endDate"/> is not after <paramref name="startDate"/>, an entry is null or names no resource, or
    /// the quantities of one resource, dimension and day add up to more than a <see cref="decimal"/> holds.
    /// </exception>
    public static UsageReconciliationReport Reconcile(IEnumerable<SentUsage> sent, IEnumerable<RecordedUsage> recorded, DateTimeOffset startDate, DateTimeOffset endDate)
    {
        Argument.NotNull(sent);
        Argument.NotNull(recorded);
        var (start, end) = Range(startDate, endDate);
        var sentList = sent.ToList();
        Validate(sentList, nameof(sent));
        return Compare(sentList, recorded, start, end, recordedByService: false);
    }

    /// <summary>
    /// The report over whole days; <paramref name="recordedByService"/> says whether <paramref name="recorded"/> is the
    /// service's answer (a sum it makes impossible is then the service's fault: a <see cref="MeteringException"/>) or the caller's argument.
    /// </summary>
    private static UsageReconciliationReport Compare(List<SentUsage> sentList, IEnumerable<RecordedUsage> recorded, DateTimeOffset start, DateTimeOffset end, bool recordedByService)
    {

        var usageIds = sentList
            .Where(s => s.ResourceUri is not null && s.ReportedResourceId is not null)
            .GroupBy(s => s.ResourceUri!, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.First().ReportedResourceId!.Value, StringComparer.OrdinalIgnoreCase);

        var rows = new Dictionary<RowKey, Accumulator>();
        foreach (var usage in sentList)
        {
            if (usage.EffectiveStartTime < start || usage.EffectiveStartTime >= end)
            {
                continue;
            }

            var id = usage.ReportedResourceId ?? (usageIds.TryGetValue(usage.ResourceUri!, out var known) ? known : null);
            var key = new RowKey(id, id is null ? usage.ResourceUri : null, usage.Dimension, Day(usage.EffectiveStartTime));
            Row(rows, key).Add(usage);
        }

        foreach (var row in recorded)
        {
            if (row is null || row.UsageDate < start || row.UsageDate >= end)
            {
                continue;
            }

            Row(rows, new RowKey(row.UsageResourceId, null, row.Dimension, Day(row.UsageDate))).Add(row);
        }

        var report = rows
            .Select(pair => pair.Value.ToRow(pair.Key, recordedByService))
            .OrderBy(r => r.Day)
            .ThenBy(r => r.ResourceId?.ToString("D") ?? r.ResourceUri, StringComparer.OrdinalIgnoreCase)
            .ThenBy(r => r.Dimension, StringComparer.OrdinalIgnoreCase)
            .ToList();
        return new UsageReconciliationReport(start, end, report);
    }

    private MeteringClient Client => _client ?? throw new InvalidOperationException("This UsageReconciler was created with the protected constructor, for mocking.");

    private static Accumulator Row(Dictionary<RowKey, Accumulator> rows, RowKey key)
    {
        if (!rows.TryGetValue(key, out var row))
        {
            rows[key] = row = new Accumulator();
        }

        return row;
    }

    /// <summary>
    /// The range a report covers: <paramref name="startDate"/> and <paramref name="endDate"/> widened to whole UTC days,
    /// from the midnight at or before the start to the midnight at or after the end. Every method of this class widens
    /// its range so; a source of sent usage (a ledger, a file) can use it to read exactly the days compared.
    /// </summary>
    /// <param name="startDate">The start of the range.</param>
    /// <param name="endDate">The end of the range.</param>
    /// <returns>The first midnight included and the first midnight excluded, in UTC.</returns>
    /// <exception cref="ArgumentException"><paramref name="endDate"/> is not after <paramref name="startDate"/>.</exception>
    public static (DateTimeOffset Start, DateTimeOffset End) WidenToDays(DateTimeOffset startDate, DateTimeOffset endDate) => Range(startDate, endDate);

    private static (DateTimeOffset Start, DateTimeOffset End) Range(DateTimeOffset startDate, DateTimeOffset endDate)
    {
        var start = Day(startDate);
        var end = Day(endDate);
        if (end < endDate.ToUniversalTime())
        {
            if (end.UtcDateTime.Date == DateTime.MaxValue.Date)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(endDate),
                    string.Format(CultureInfo.InvariantCulture, "endDate ({0:o}) is after the last midnight a date can hold, so the range cannot be widened to the next one; end it at 9999-12-31T00:00:00Z at the latest.", endDate.ToUniversalTime()));
            }

            end = end.AddDays(1);
        }

        if (end <= start)
        {
            throw new ArgumentException(
                string.Format(CultureInfo.InvariantCulture, "endDate ({0:o}) must be after startDate ({1:o}).", endDate.ToUniversalTime(), startDate.ToUniversalTime()),
                nameof(endDate));
        }

        return (start, end);
    }

    private static DateTimeOffset Day(DateTimeOffset time) => new(time.UtcDateTime.Date, TimeSpan.Zero);

    private static void Validate(List<SentUsage> sent, string paramName)
    {
        for (var i = 0; i < sent.Count; i++)
        {
            Validate(sent[i], i, paramName);
        }
    }

    private static void Validate(SentUsage? usage, int index, string paramName)
    {
        string? problem = usage switch
        {
            null => "is null",
            { ResourceId: null, ResourceUri: null, ResourceUsageId: null } => "names no resource (ResourceId, ResourceUri or ResourceUsageId)",
            { Dimension: null or "" } => "has no dimension",
            _ => null,
        };
        if (problem is not null)
        {
            throw new ArgumentException(string.Format(CultureInfo.InvariantCulture, "{0}[{1}] {2}.", paramName, index, problem), paramName);
        }
    }

    private static bool Same(decimal a, decimal b) =>
        Math.Abs(a - b) <= RelativeTolerance * Math.Max(1m, Math.Max(Math.Abs(a), Math.Abs(b)));

    private readonly record struct RowKey(Guid? ResourceId, string? ResourceUri, string Dimension, DateTimeOffset Day)
    {
        public bool Equals(RowKey other) =>
            ResourceId == other.ResourceId
            && string.Equals(ResourceUri, other.ResourceUri, StringComparison.OrdinalIgnoreCase)
            && string.Equals(Dimension, other.Dimension, StringComparison.OrdinalIgnoreCase)
            && Day == other.Day;

        public override int GetHashCode() =>
            (ResourceId, ResourceUri is null ? 0 : StringComparer.OrdinalIgnoreCase.GetHashCode(ResourceUri), StringComparer.OrdinalIgnoreCase.GetHashCode(Dimension), Day).GetHashCode();
    }

    /// <summary>Both sides of one resource, dimension and day, as they are read.</summary>
    private sealed class Accumulator
    {
        private readonly Dictionary<DateTimeOffset, List<SentUsage>> _hours = [];
        private readonly List<RecordedUsage> _recorded = [];
        private string? _planId;

        public void Add(SentUsage usage)
        {
            var hour = new DateTimeOffset(usage.EffectiveStartTime.UtcTicks - (usage.EffectiveStartTime.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero);
            if (!_hours.TryGetValue(hour, out var events))
            {
                _hours[hour] = events = [];
            }

            events.Add(usage);
            _planId ??= usage.PlanId;
        }

        public void Add(RecordedUsage row)
        {
            _recorded.Add(row);
            _planId ??= row.PlanId;
        }

        public UsageReconciliationRow ToRow(RowKey key, bool recordedByService)
        {
            decimal sent = 0, delivered = 0;
            int deliveredHours = 0, rejected = 0, undelivered = 0;
            var conflict = false;
            foreach (var events in _hours.Values)
            {
                if (events.FirstOrDefault(e => e.IsDelivered) is { } held)
                {
                    sent = Sum(sent, held.Quantity, key);
                    delivered += held.Quantity;
                    deliveredHours++;

                    // A later Duplicate of the hour with another quantity is a conflict, not a replay: its usage was not billed.
                    conflict |= events.Any(e => e.Status == UsageEventStatus.Duplicate && !ReferenceEquals(e, held) && !Same(e.Quantity, held.Quantity));
                    continue;
                }

                sent = Sum(sent, events[0].Quantity, key);
                if (events[events.Count - 1].IsRejected)
                {
                    rejected++;
                }
                else
                {
                    undelivered++;
                }
            }

            RecordedUsage? recorded;
            try
            {
                recorded = Merge(_recorded);
            }
            catch (OverflowException)
            {
                throw recordedByService
                    ? new MeteringException(Overflow("The marketplace's answer to GET /api/usageEvents cannot be compared: its quantities of", key))
                    : TooLarge("The recorded quantities of", key, "recorded");
            }

            var differences = UsageDifferences.None;
            if (recorded is null)
            {
                if (deliveredHours > 0)
                {
                    differences |= UsageDifferences.MissingThere;
                }
            }
            else
            {
                if (deliveredHours == 0 && recorded.SubmittedQuantity > 0)
                {
                    differences |= UsageDifferences.MissingHere;
                }
                else if (deliveredHours > 0 && !Same(delivered, recorded.SubmittedQuantity))
                {
                    differences |= UsageDifferences.QuantityMismatch;
                }

                if (recorded.ReconStatus == ReconStatus.Mismatch
                    || (recorded.ProcessedQuantity is { } processed && recorded.ReconStatus == ReconStatus.Accepted && !Same(processed, recorded.SubmittedQuantity)))
                {
                    differences |= UsageDifferences.QuantityMismatch;
                }

                if (recorded.ReconStatus == ReconStatus.Rejected)
                {
                    differences |= UsageDifferences.Rejected;
                }

                if (recorded.ReconStatus == ReconStatus.Submitted)
                {
                    differences |= UsageDifferences.StillProcessing;
                }
            }

            if (conflict)
            {
                differences |= UsageDifferences.QuantityMismatch;
            }

            if (rejected > 0)
            {
                differences |= UsageDifferences.Rejected;
            }

            if (undelivered > 0)
            {
                differences |= UsageDifferences.Undelivered;
            }

            return new UsageReconciliationRow(key.ResourceId, key.ResourceUri, recorded?.Dimension ?? key.Dimension, key.Day, _planId, sent, delivered, rejected, undelivered, recorded, differences);
        }

        /// <summary>The sent quantities of a row so far plus one more; a sum a <see cref="decimal"/> cannot hold is an <see cref="ArgumentException"/> naming the row, not an <see cref="OverflowException"/>.</summary>
        private static decimal Sum(decimal sum, decimal quantity, RowKey key)
        {
            try
            {
                return sum + quantity;
            }
            catch (OverflowException)
            {
                throw TooLarge("The sent quantities of", key, "sent");
            }
        }

        private static ArgumentException TooLarge(string what, RowKey key, string paramName) => new(Overflow(what, key), paramName);

        private static string Overflow(string what, RowKey key) => string.Format(
            CultureInfo.InvariantCulture,
            "{0} resource {1}, dimension '{2}', on {3:yyyy-MM-dd} add up to more than a quantity can hold ({4}).",
            what,
            key.ResourceId?.ToString("D") ?? key.ResourceUri,
            key.Dimension,
            key.Day,
            decimal.MaxValue);

        /// <summary>The marketplace's rows for one resource, dimension and day (one per plan) as one: quantities summed, the most telling status kept.</summary>
        private static RecordedUsage? Merge(List<RecordedUsage> rows)
        {
            if (rows.Count <= 1)
            {
                return rows.FirstOrDefault();
            }

            var status = rows.Select(r => r.ReconStatus).OrderBy(Rank).First();
            var first = rows[0];
            return new RecordedUsage(
                first.UsageDate,
                first.UsageResourceId,
                first.Dimension,
                first.PlanId,
                first.PlanName,
                first.OfferId,
                first.OfferName,
                first.OfferType,
                first.AzureSubscriptionId,
                status,
                rows.Sum(r => r.SubmittedQuantity),
                rows.All(r => r.ProcessedQuantity is not null) ? rows.Sum(r => r.ProcessedQuantity!.Value) : null,
                rows.All(r => r.SubmittedCount is not null) ? rows.Sum(r => r.SubmittedCount!.Value) : null);
        }

        private static int Rank(ReconStatus status) =>
            status == ReconStatus.Rejected ? 0
            : status == ReconStatus.Mismatch ? 1
            : status == ReconStatus.Submitted ? 2
            : status == ReconStatus.Accepted ? 4
            : 3;
    }
}
