namespace MarketplaceMetering;

/// <summary>
/// The durable record of usage per resource, plan, dimension and UTC hour, and of what became of each hour. Two
/// implementations ship: <see cref="SqliteUsageLedger"/> (one file, the default) and <c>PostgreSqlUsageLedger</c> in
/// MarketplaceMetering.Accumulation.PostgreSql (one database shared by many app instances).
/// </summary>
/// <remarks>
/// The recorder and the flusher call the protected members; applications read the ledger with the public queries.
/// An implementation creates its schema on first use and keeps it versioned; every write is one transaction.
/// </remarks>
public abstract class UsageLedger : IAsyncDisposable, IDisposable
{
    // One initialization per instance, however many callers race to it; a failed or cancelled one is tried again by the
    // next caller. Implementations supply only the work (InitializeCoreAsync), and guard it across instances themselves.
    private readonly SemaphoreSlim _initialization = new(1, 1);
    private volatile bool _initialized;

    /// <summary>Initializes a new instance of the <see cref="UsageLedger"/> class.</summary>
    protected UsageLedger()
    {
    }

    /// <summary>Raised for each row an implementation could not read and marked Failed (the flushers of this ledger log it).</summary>
    internal event Action<string>? UnreadableRowFound;

    /// <summary>
    /// Reports a row that cannot be read (changed outside the library, say) and that the implementation has marked
    /// Failed, so that nothing is sent for it and no flush claims it again. The flushers of this ledger log
    /// <paramref name="problem"/> as an error and count the row as failed.
    /// </summary>
    /// <param name="problem">Which row, and what is wrong with it (<see cref="DescribeUnreadableRow"/>); never a secret.</param>
    protected void ReportUnreadableRow(string problem) => UnreadableRowFound?.Invoke(problem);

    /// <summary>
    /// The words for a row that cannot be read, the same in every ledger: for the row's <c>Detail</c>, for
    /// <see cref="ReportUnreadableRow"/>, and for the <see cref="InvalidDataException"/> that reading it through
    /// <see cref="GetEntriesAsync"/> throws.
    /// </summary>
    /// <param name="rowId">The row's id.</param>
    /// <param name="cause">What reading it threw (a parse error).</param>
    /// <returns>Which row, why it cannot be read, and what to do.</returns>
    protected static string DescribeUnreadableRow(long rowId, Exception cause)
    {
        ArgumentNullException.ThrowIfNull(cause);
        return string.Format(
            System.Globalization.CultureInfo.InvariantCulture,
            "Ledger row {0} cannot be read ({1}); it was changed outside this library. Correct or delete it: a flush marks such a row Failed and sends nothing for it.",
            rowId,
            cause.Message);
    }

    /// <summary>
    /// Creates the schema, or brings an older one up to date. Safe to call many times, concurrently and from many
    /// instances: the first successful call does the work (<see cref="InitializeCoreAsync"/>), later calls return at once.
    /// </summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>A task that completes when the ledger is ready.</returns>
    public Task InitializeAsync(CancellationToken cancellationToken = default) =>
        _initialized ? Task.CompletedTask : InitializeOnceAsync(cancellationToken);

    /// <summary>
    /// Creates the schema or migrates it, in one transaction. <see cref="InitializeAsync"/> calls it once per instance
    /// (again after a failure); other processes may run it at the same time, so it must be safe against them.
    /// </summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>A task that completes when the schema is current.</returns>
    protected abstract Task InitializeCoreAsync(CancellationToken cancellationToken);

    /// <summary>Gets the rows whose hour is in [<paramref name="fromHour"/>, <paramref name="untilHour"/>), optionally in one state, oldest hour first.</summary>
    /// <param name="fromHour">The first hour included.</param>
    /// <param name="untilHour">The first hour excluded.</param>
    /// <param name="state">The state to match, or <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The rows.</returns>
    public abstract Task<IReadOnlyList<UsageLedgerEntry>> GetEntriesAsync(DateTimeOffset fromHour, DateTimeOffset untilHour, UsageLedgerState? state = null, CancellationToken cancellationToken = default);

    /// <summary>Gets the usage that can no longer be billed: rows marked <see cref="UsageLedgerState.Expired"/> whose hour is in [<paramref name="fromHour"/>, <paramref name="untilHour"/>).</summary>
    /// <param name="fromHour">The first hour included.</param>
    /// <param name="untilHour">The first hour excluded.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The expired rows.</returns>
    public Task<IReadOnlyList<UsageLedgerEntry>> GetExpiredAsync(DateTimeOffset fromHour, DateTimeOffset untilHour, CancellationToken cancellationToken = default) =>
        GetEntriesAsync(fromHour, untilHour, UsageLedgerState.Expired, cancellationToken);

    /// <summary>Gets the usage moved from an hour already sent into a later one, for moves whose source hour is in [<paramref name="fromHour"/>, <paramref name="untilHour"/>).</summary>
    /// <param name="fromHour">The first source hour included.</param>
    /// <param name="untilHour">The first source hour excluded.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The moves.</returns>
    public abstract Task<IReadOnlyList<UsageCarryForward>> GetCarryForwardsAsync(DateTimeOffset fromHour, DateTimeOffset untilHour, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads the rows of the UTC days of [<paramref name="startDate"/>, <paramref name="endDate"/>) as the
    /// <see cref="SentUsage"/> a <see cref="UsageReconciler"/> compares with what the marketplace recorded:
    /// <c>reconciler.ReconcileAsync(ledger.GetSentUsageAsync(from, to), from, to)</c>. The range is widened to whole
    /// UTC days exactly as the reconciler widens it, so both sides cover the same hours; the rows are read one day at a time.
    /// </summary>
    /// <remarks>
    /// <para>Each state maps to what the reconciler counts: <see cref="UsageLedgerState.Accepted"/> is Accepted and
    /// <see cref="UsageLedgerState.Replayed"/> a Duplicate (delivered, with <see cref="SentUsage.UsageEventId"/>);
    /// <see cref="UsageLedgerState.Conflict"/> is a Duplicate too, with the quantity recorded here, because the service
    /// holds the hour with another quantity (the day is reported as a <see cref="UsageDifferences.QuantityMismatch"/>);
    /// <see cref="UsageLedgerState.Expired"/> is Expired and <see cref="UsageLedgerState.Failed"/> its refusal
    /// (<see cref="UsageDifferences.Rejected"/>); <see cref="UsageLedgerState.Open"/> and
    /// <see cref="UsageLedgerState.Submitting"/> are Unknown: not delivered yet (<see cref="UsageDifferences.Undelivered"/>).</para>
    /// <para>Usage carried forward (<see cref="GetCarryForwardsAsync"/>) is part of the row of the hour it was added
    /// to and is billed there, so the report counts it in that hour's day; the source hour's row keeps what was sent.</para>
    /// <para>A managed application recorded by URI is read without its resource usage id (the ledger does not keep
    /// it), so its rows cannot be matched with the marketplace's; record managed applications by resource usage id to
    /// reconcile them.</para>
    /// </remarks>
    /// <param name="startDate">The start of the range (widened to midnight UTC).</param>
    /// <param name="endDate">The end of the range (widened to the next midnight UTC, unless it is one).</param>
    /// <param name="cancellationToken">Cancels the reading.</param>
    /// <returns>The rows, oldest day first.</returns>
    /// <exception cref="ArgumentException"><paramref name="endDate"/> is not after <paramref name="startDate"/> (thrown here, before the ledger is read).</exception>
    public IAsyncEnumerable<SentUsage> GetSentUsageAsync(DateTimeOffset startDate, DateTimeOffset endDate, CancellationToken cancellationToken = default)
    {
        var (start, end) = UsageReconciler.WidenToDays(startDate, endDate);
        return LedgerSentUsage.ReadAsync(this, start, end, cancellationToken);
    }

    /// <summary>
    /// Adds quantities in one transaction. A delta for an hour whose row is no longer <see cref="UsageLedgerState.Open"/>,
    /// or is open again after a send was tried (the service may hold the hour with the quantity then sent: an answer
    /// lost, a batch failed), goes into the row of the hour <paramref name="now"/> falls in (the first later open hour,
    /// if that one is taken too), and the move is kept as a <see cref="UsageCarryForward"/>.
    /// </summary>
    /// <param name="deltas">The quantities.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the work; the transaction then does not commit.</param>
    /// <returns>The moves made.</returns>
    protected internal abstract Task<IReadOnlyList<UsageCarryForward>> AddAsync(IReadOnlyList<UsageDelta> deltas, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Claims up to <paramref name="maxEntries"/> rows to send, oldest hour first (nearest its deadline): open rows whose
    /// hour started at or before <paramref name="latestHour"/> and whose deadline is after <paramref name="now"/>, and
    /// rows whose previous claim's lease ended before <paramref name="now"/> (an instance that died while sending).
    /// Each claimed row becomes <see cref="UsageLedgerState.Submitting"/> under a new claim id until <paramref name="leaseUntil"/>.
    /// Rows another instance claims at the same time are skipped, never shared.
    /// </summary>
    /// <param name="owner">The claiming instance, for operators.</param>
    /// <param name="latestHour">The latest hour that may be sent (closed longer than the grace period).</param>
    /// <param name="now">The current time.</param>
    /// <param name="leaseUntil">When the claim ends if no outcome is recorded.</param>
    /// <param name="maxEntries">The most rows to claim.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The claimed rows, with their claim ids.</returns>
    protected internal abstract Task<IReadOnlyList<UsageLedgerEntry>> ClaimAsync(string owner, DateTimeOffset latestHour, DateTimeOffset now, DateTimeOffset leaseUntil, int maxEntries, CancellationToken cancellationToken);

    /// <summary>Records what became of claimed rows, in one transaction. An outcome whose claim is no longer the row's (the lease ended and another instance took it) changes nothing.</summary>
    /// <param name="outcomes">The outcomes.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>How many rows changed.</returns>
    protected internal abstract Task<int> CompleteAsync(IReadOnlyList<UsageOutcome> outcomes, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Marks <see cref="UsageLedgerState.Expired"/> every row not yet delivered whose deadline is at or before <paramref name="now"/> (open rows, and submitting rows whose lease ended).</summary>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The rows just marked.</returns>
    protected internal abstract Task<IReadOnlyList<UsageLedgerEntry>> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Gets the latest hour start whose deadline is at or before <paramref name="now"/>: rows of that hour or earlier can no longer be sent.</summary>
    /// <param name="now">The current time.</param>
    /// <returns>The instant; an hour start at or before it has expired.</returns>
    protected static DateTimeOffset ExpiredThrough(DateTimeOffset now) => now - AccumulationRules.Window + AccumulationRules.SafetyMargin;

    /// <summary>Gets the start of the UTC hour <paramref name="time"/> falls in.</summary>
    /// <param name="time">Any instant.</param>
    /// <returns>The hour's start, in UTC.</returns>
    protected static DateTimeOffset HourOf(DateTimeOffset time) => AccumulationRules.HourOf(time);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await DisposeAsyncCore().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Releases the ledger's connections, blocking until they are released: for a <c>ServiceProvider</c> or a
    /// <see langword="using"/> statement disposed synchronously.
    /// </summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the ledger's connections.</summary>
    /// <returns>A task that completes when they are released.</returns>
    protected virtual ValueTask DisposeAsyncCore() => default;

    /// <summary>
    /// Releases the ledger's connections synchronously. By default, runs <see cref="DisposeAsyncCore"/> on the thread
    /// pool (so it needs no thread of the caller's synchronization context) and waits for it; override to release them
    /// without waiting on asynchronous work. Like <see cref="DisposeAsyncCore"/>, it may be called more than once.
    /// </summary>
    /// <param name="disposing"><see langword="true"/> when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Task.Run(() => DisposeAsyncCore().AsTask()).GetAwaiter().GetResult();
        }
    }

    private async Task InitializeOnceAsync(CancellationToken cancellationToken)
    {
        await _initialization.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_initialized)
            {
                await InitializeCoreAsync(cancellationToken).ConfigureAwait(false);
                _initialized = true;
            }
        }
        finally
        {
            _initialization.Release();
        }
    }
}
