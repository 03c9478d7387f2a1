using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MarketplaceMetering;

/// <summary>
/// Sends each hour closed longer than the grace period from the <see cref="UsageLedger"/> through the client's bulk
/// API, oldest (nearest its deadline) first, and records each outcome. As a hosted service it flushes every
/// <see cref="UsageAccumulationOptions.FlushInterval"/>; without a host, call <see cref="FlushAsync"/>.
/// </summary>
/// <remarks>
/// <para>Rows are claimed under a lease before sending, so many instances sharing a ledger never send the same row at
/// once. An instance that dies while sending leaves its claim to lapse; the row is then sent again, and the service's
/// Duplicate answer (a replay: the same quantity) marks it delivered. A Duplicate with another quantity is recorded as
/// a conflict and reported. A live instance never lets its own claim lapse: when the service answers so slowly that a
/// claim is not sent a little before its lease ends, the sending stops there, what was answered is recorded, the rest
/// goes back to open (counted in <see cref="UsageFlushResult.Retrying"/>), and the flush ends.</para>
/// <para>A row whose sending fails for a reason that may pass (the service down, a batch whose retries stopped at its
/// earliest event's deadline) goes back to open and is planned again with the next flush, in new batches, while its
/// own deadline allows. Rows that pass their deadline unsent are marked expired and reported three ways: an Error log
/// entry, the <c>marketplace_metering.accumulation.expired</c> metric and <see cref="UsageLedger.GetExpiredAsync"/>.
/// Unsent rows within <see cref="UsageAccumulationOptions.DeadlineWarningMargin"/> of their deadline raise a warning
/// first.</para>
/// </remarks>
public sealed class UsageFlusher : BackgroundService
{
    private readonly UsageLedger _ledger;
    private readonly MeteringClient _client;
    private readonly UsageAccumulationOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly bool _clientSettingsUnseen;
    private static readonly UsageLedgerState[] UnsentStates = [UsageLedgerState.Open, UsageLedgerState.Submitting];
    private readonly HashSet<long> _warned = [];

    // Rows that stayed open after a claim in which other rows got through, by entry id: how many times. Such a row may be
    // one the service fails with its whole batch, so it is sent again in smaller batches (see Units). Rows that failed
    // while nothing got through (an outage) are not counted, so after an outage they go in full batches again. In
    // memory: another instance, or this one after a restart, learns it again from one such claim. Like _warned, touched
    // only inside a flush, under _oneAtATime.
    private readonly Dictionary<long, int> _suspected = [];
    private int _unreadable;

    /// <summary>How many rows this flusher remembers having warned about (for tests).</summary>
    internal int WarnedCount => _warned.Count;

    // The flusher whose flush is running in this async flow. The ledger reports an unreadable row from inside the call
    // that found it, so when several flushers share one ledger object, only the one whose call it was logs and counts it.
    private static readonly AsyncLocal<UsageFlusher?> Flushing = new();

    /// <summary>Initializes a new instance of the <see cref="UsageFlusher"/> class.</summary>
    /// <param name="ledger">The ledger to send from.</param>
    /// <param name="client">The client that sends.</param>
    /// <param name="options">The settings; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException">A setting is out of range (the message lists every one).</exception>
    public UsageFlusher(UsageLedger ledger, MeteringClient client, UsageAccumulationOptions? options = null)
        : this(ledger, client, options, batchesAtOnce: null)
    {
    }

    /// <summary>
    /// A flusher that knows how many batch calls its client makes at once (its <see cref="MeteringClientOptions.MaxConcurrency"/>,
    /// which the registration reads from the container); <see langword="null"/>: the client's default. The client does not
    /// expose the setting, so a flusher built with the public constructor assumes the default.
    /// </summary>
    /// <param name="ledger">The ledger to send from.</param>
    /// <param name="client">The client that sends.</param>
    /// <param name="options">The settings; <see langword="null"/> for the defaults.</param>
    /// <param name="batchesAtOnce">The client's <see cref="MeteringClientOptions.MaxConcurrency"/>, if known.</param>
    /// <param name="clientSettingsUnseen">
    /// The registration could not see the client's settings (the app built and registered the client itself):
    /// <see cref="ReportStart"/> then warns that the flusher assumes the default and checked no lease.
    /// </param>
    internal UsageFlusher(UsageLedger ledger, MeteringClient client, UsageAccumulationOptions? options, int? batchesAtOnce, bool clientSettingsUnseen = false)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(client);
        options ??= new UsageAccumulationOptions();
        options.Validate(nameof(options));
        _ledger = ledger;
        _client = client;
        _options = options;
        _logger = (ILogger?)options.LoggerFactory?.CreateLogger<UsageFlusher>() ?? NullLogger.Instance;
        BatchesAtOnce = batchesAtOnce ?? DefaultBatchesAtOnce;
        _clientSettingsUnseen = clientSettingsUnseen;
        _ledger.UnreadableRowFound += OnUnreadableRow;
    }

    /// <summary>
    /// Called by the host when it starts the flusher: warns (event 117) when the registration could not see the
    /// client's settings, so that the flusher assumes the client's default MaxConcurrency and the start-up check of
    /// LeaseDuration against the client's longest send did not run.
    /// </summary>
    internal void ReportStart()
    {
        if (_clientSettingsUnseen)
        {
            AccumulationLog.ClientSettingsUnseen(_logger, BatchesAtOnce, _options.LeaseDuration);
        }
    }

    /// <summary>
    /// Marks what passed its deadline as expired, warns about what is near it, then claims and sends every hour closed
    /// longer than the grace period, and records the outcomes. One flush at a time per flusher.
    /// </summary>
    /// <param name="cancellationToken">Stops the flush; rows being sent go back to open.</param>
    /// <returns>What was done. It fails with the ledger's error if the ledger cannot be read or written (the hosted flusher logs it, event id 108, and tries again at its next interval).</returns>
    public async Task<UsageFlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Set inside this async method, so it flows into the ledger calls below and is gone when it returns.
            Flushing.Value = this;
            return await FlushCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        _ledger.UnreadableRowFound -= OnUnreadableRow;
        _oneAtATime.Dispose();
        base.Dispose();
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await FlushAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                AccumulationLog.FlushFailed(_logger, e);
            }

            try
            {
                await Task.Delay(_options.FlushInterval, _options.TimeProvider, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<UsageFlushResult> FlushCoreAsync(CancellationToken cancellationToken)
    {
        var clock = _options.TimeProvider;
        var now = clock.GetUtcNow();

        var expired = await _ledger.ExpireAsync(now, cancellationToken).ConfigureAwait(false);
        foreach (var entry in expired)
        {
            ReportExpired(entry);
        }

        int nearDeadline;
        try
        {
            nearDeadline = await WarnNearDeadlineAsync(now, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException)
        {
            // A row changed outside the library cannot be read: the claim below marks it Failed (and reports it), and the
            // rest is sent.
            nearDeadline = 0;
        }

        var unreadableBefore = Volatile.Read(ref _unreadable);

        int claimed = 0, delivered = 0, retrying = 0, conflicts = 0, failed = 0, expiredBySending = 0, superseded = 0;
        var margin = StopMargin(_options.LeaseDuration);
        while (true)
        {
            now = clock.GetUtcNow();
            var latestHour = now - _options.Grace - TimeSpan.FromHours(1);
            var leaseUntil = now + _options.LeaseDuration;
            var rows = await _ledger.ClaimAsync(_options.InstanceName, latestHour, now, leaseUntil, _options.MaxRowsPerClaim, cancellationToken).ConfigureAwait(false);
            if (rows.Count == 0)
            {
                break;
            }

            claimed += rows.Count;

            // Sending stops `margin` before the lease ends, so what was answered is recorded, and the rest is put back to
            // open, while the rows are still this instance's: otherwise another instance would claim them and send them
            // again. Two things stop it, whichever comes first: a timer of the options' TimeProvider, which counts
            // elapsed time, and a read of the clock before each submission (SendAsync), which sees a jump forward that
            // the timer does not. The timer is never more than LeaseDuration less the margin away, however far the clock
            // stepped back during the claim: for the other instances, whose clocks did not step, the lease still ends
            // LeaseDuration after the claim.
            var stopAt = leaseUntil - margin;
            var claimedAt = clock.GetUtcNow();
            var untilStop = stopAt - claimedAt;

            // The claim itself took so long that the stop had passed when it returned: nothing can be sent (the
            // sending below stops before its first submission). Said apart from a slow service (event 116, not 114):
            // every later flush claims as slowly and sends nothing, so only a longer LeaseDuration (or a faster ledger)
            // gets the usage out.
            var claimLeftNoTime = untilStop <= TimeSpan.Zero;
            if (untilStop < TimeSpan.Zero)
            {
                untilStop = TimeSpan.Zero;
            }
            else if (untilStop > _options.LeaseDuration - margin)
            {
                untilStop = _options.LeaseDuration - margin;
            }

            using var leaseEnding = new CancellationTokenSource(untilStop, clock);
            using var sending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, leaseEnding.Token);
            var (outcomes, known, stopped) = await SendAsync(rows, stopAt, leaseEnding, sending.Token).ConfigureAwait(false);

            // Stopped for the lease, not by the caller (whose cancellation, even if it came too, ends the flush with an
            // exception as before).
            var cut = stopped is OperationCanceledException && leaseEnding.IsCancellationRequested && !cancellationToken.IsCancellationRequested;
            var recorded = await RecordOutcomesAsync(outcomes, leaseUntil).ConfigureAwait(false);

            var roundRetrying = 0;
            var roundSuperseded = 0;
            var notSent = 0;
            for (var i = 0; i < rows.Count; i++)
            {
                var (row, outcome) = (rows[i], outcomes[i]);
                if (recorded is not null && !recorded[i])
                {
                    // Another instance claimed the row after this claim's lease ended; what it records is what counts,
                    // and it reports the row itself.
                    roundSuperseded++;
                    continue;
                }

                if (!known[i])
                {
                    // The send stopped (cancelled) before anything was learnt of this row: it went back to open unsent.
                    notSent++;
                    continue;
                }

                AccumulationTelemetry.Outcomes.Add(1, new KeyValuePair<string, object?>(AccumulationTelemetry.StateTag, StateName(outcome.State)));
                switch (outcome.State)
                {
                    case UsageLedgerState.Accepted or UsageLedgerState.Replayed:
                        delivered++;
                        break;
                    case UsageLedgerState.Open:
                        roundRetrying++;
                        break;
                    case UsageLedgerState.Conflict:
                        conflicts++;
                        AccumulationTelemetry.Conflicts.Add(1, new KeyValuePair<string, object?>(AccumulationTelemetry.DimensionTag, row.Dimension));
                        AccumulationLog.Conflict(_logger, row.Resource.ToString(), row.Dimension, row.Hour, row.Quantity, outcome.Detail ?? string.Empty);
                        break;
                    case UsageLedgerState.Expired:
                        expiredBySending++;
                        ReportExpired(row);
                        break;
                    default:
                        failed++;
                        AccumulationLog.Refused(_logger, row.Resource.ToString(), row.PlanId, row.Dimension, row.Hour, row.Quantity, outcome.Detail ?? string.Empty);
                        break;
                }
            }

            retrying += roundRetrying;
            superseded += roundSuperseded;
            if (roundSuperseded > 0)
            {
                AccumulationLog.Superseded(_logger, roundSuperseded, _options.LeaseDuration);
            }

            if (stopped is not null && !cut)
            {
                // What a finished unit learnt was recorded and reported above (an expiry or a conflict is never silent);
                // the rest went back to open, and the flush ends with the reason it stopped.
                AccumulationLog.Released(_logger, notSent + roundRetrying, stopped.GetType().Name);
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(stopped);
            }

            // A row the lease's end stopped says nothing about itself (it was not answered), so only the answered rows
            // count towards suspecting the ones that failed.
            Suspect(rows, outcomes, known, partial: roundRetrying > 0 && roundRetrying < rows.Count - notSent);
            if (roundRetrying > 0)
            {
                AccumulationLog.Released(_logger, roundRetrying, "the send failed for a reason that may pass");
            }

            if (cut)
            {
                // The rows not answered in time are open again: counted as retrying, as they go with the next flush. The
                // flush ends here rather than claiming again: a service this slow would cut the next claim as well.
                retrying += notSent;

                // Only when rows went back to open from here: once the clock jumped past the lease's end, another
                // instance may have taken every row not answered, and event 111 reports those.
                if (claimLeftNoTime)
                {
                    AccumulationLog.ClaimLeftNoTimeToSend(_logger, rows.Count, claimedAt - now, margin, _options.LeaseDuration, _options.MaxRowsPerClaim);
                }
                else if (notSent > 0)
                {
                    AccumulationLog.LeaseEnding(_logger, notSent, margin, _options.LeaseDuration, _options.MaxRowsPerClaim);
                }

                break;
            }

            if (roundRetrying == rows.Count)
            {
                // Nothing got through: the service or the network is in trouble. What failed is open again and goes with
                // the next flush, rather than being claimed again at once in a loop.
                break;
            }

            // Otherwise go on. If some rows got through and some did not, the failed ones come back in smaller batches
            // (see SendAsync), so the rest are not held back by one row the service keeps failing; every claim that gets
            // something through brings the end of the open rows nearer.
        }

        // Rows the ledger could not read were claimed and marked Failed there; they count as claimed and failed.
        var unreadable = Volatile.Read(ref _unreadable) - unreadableBefore;
        claimed += unreadable;
        failed += unreadable;
        var result = new UsageFlushResult
        {
            Claimed = claimed,
            Delivered = delivered,
            Retrying = retrying,
            Conflicts = conflicts,
            Failed = failed,
            Expired = expired.Count + expiredBySending,
            NearDeadline = nearDeadline,
            Superseded = superseded,
        };
        if (claimed > 0 || result.Expired > 0)
        {
            AccumulationLog.Flushed(_logger, claimed, delivered, retrying, conflicts, failed, result.Expired, superseded);
        }

        return result;
    }

    /// <summary>
    /// Records the outcomes of one claim. While the claim's lease lasts they are all still this instance's, and go in one
    /// transaction. Once it has ended, another instance may have claimed some of the rows, and the ledger ignores an
    /// outcome whose claim is no longer the row's; the outcomes then go one at a time, so that the flush counts only the
    /// rows whose outcome it recorded. (The ledger's <c>CompleteAsync</c> says how many rows changed, not which.)
    /// </summary>
    /// <returns><see langword="null"/> when every outcome was recorded; otherwise, per outcome, whether it was.</returns>
    private async Task<bool[]?> RecordOutcomesAsync(UsageOutcome[] outcomes, DateTimeOffset leaseUntil)
    {
        var clock = _options.TimeProvider;
        if (clock.GetUtcNow() < leaseUntil)
        {
            var changed = await _ledger.CompleteAsync(outcomes, clock.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
            if (changed < outcomes.Length)
            {
                // Another instance took rows. Which ones cannot be told here, so the counts of this flush may include
                // them. The clock is read again: if the lease ended while the outcomes were being saved, that is why;
                // only if it still has not ended did the other instance take them early, by a clock ahead of this one.
                if (clock.GetUtcNow() >= leaseUntil)
                {
                    AccumulationLog.LeaseEndedWhileSaving(_logger, outcomes.Length - changed, _options.LeaseDuration);
                }
                else
                {
                    AccumulationLog.SupersededEarly(_logger, outcomes.Length - changed);
                }
            }

            return null;
        }

        var recorded = new bool[outcomes.Length];
        for (var i = 0; i < outcomes.Length; i++)
        {
            recorded[i] = await _ledger.CompleteAsync([outcomes[i]], clock.GetUtcNow(), CancellationToken.None).ConfigureAwait(false) > 0;
        }

        return recorded;
    }

    /// <summary>
    /// Sends the claimed rows. Returns, per row, its outcome and whether it is known; and, when the send stopped
    /// (cancelled, or something unexpected), why: the rows no finished unit answered for then have an
    /// <see cref="UsageLedgerState.Open"/> outcome ("NotSent"), so they go back to open at once rather than waiting for
    /// their lease to end (resending is safe: the service answers Duplicate for what it holds). The caller records and
    /// reports the outcomes either way, then throws <c>Stopped</c>. No unit starts once the clock has reached
    /// <paramref name="stopAt"/>: <paramref name="leaseEnding"/> is then cancelled, as its timer would have done.
    /// </summary>
    /// <param name="rows">The claimed rows.</param>
    /// <param name="stopAt">When, by the options' clock, the sending stops (a margin before the lease ends).</param>
    /// <param name="leaseEnding">The source whose timer stops the sending at <paramref name="stopAt"/>.</param>
    /// <param name="cancellationToken">The caller's token linked with <paramref name="leaseEnding"/>'s.</param>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "Handed back to the caller, which records what was learnt and rethrows it.")]
    private async Task<(UsageOutcome[] Outcomes, bool[] Known, Exception? Stopped)> SendAsync(IReadOnlyList<UsageLedgerEntry> rows, DateTimeOffset stopAt, CancellationTokenSource leaseEnding, CancellationToken cancellationToken)
    {
        var outcomes = new UsageOutcome[rows.Count];
        var known = new bool[rows.Count]; // per row: its outcome is set (written by concurrent units, each its own rows)
        var events = new List<UsageEvent>(rows.Count);
        var positions = new List<int>(rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            try
            {
                events.Add(row.Resource.ToEvent(row.PlanId, row.Dimension, row.Quantity, row.Hour));
                positions.Add(i);
            }
            catch (ArgumentException e)
            {
                // A row no event can be made of (edited by hand, say): refused here rather than sent.
                outcomes[i] = new UsageOutcome(row.Id, row.ClaimId!.Value, UsageLedgerState.Failed, null, "InvalidRow: " + e.Message);
                known[i] = true;
            }
        }

        if (events.Count == 0)
        {
            return (outcomes, known, null);
        }

        // Rows go together, in full batches, unless they stayed open after a claim in which others got through (see
        // _suspected): those go in a smaller batch, halved each time. A row the service keeps failing as a whole batch
        // (a poison row) then holds back fewer of the rows planned with it each time, and from the fourth time only
        // itself, instead of taking the same batch-mates down with it until they all expire.
        var (together, suspected) = Units(rows, positions);
        async ValueTask SendUnitAsync(List<int> unit, CancellationToken token)
        {
            // The timer counts elapsed time; the lease is measured on the clock, which may have jumped past the stop (a
            // VM resumed after a pause, a clock corrected forward) while the timer did not see it. Read it before each
            // unit, so that no unit starts after the stop, whichever noticed first.
            if (_options.TimeProvider.GetUtcNow() >= stopAt)
            {
                await leaseEnding.CancelAsync().ConfigureAwait(false);
            }

            token.ThrowIfCancellationRequested();
            var results = await _client.SubmitUsageEventsAsync(unit.Select(k => events[k]), token).ConfigureAwait(false);
            for (var j = 0; j < unit.Count; j++)
            {
                var k = unit[j];
                outcomes[positions[k]] = ToOutcome(rows[positions[k]], results.Results[j]);
                Volatile.Write(ref known[positions[k]], true);
            }
        }

        try
        {
            // The rows not suspected in bulk submissions of up to RowsPerSubmission, one after another (the client's
            // MaxConcurrency batches at a time within each); then the suspected ones, each unit a single batch,
            // BatchesAtOnce at a time. A submission cancelled midway (the caller, or the lease about to end)
            // reports nothing, so the claim is sent in several: what each finished one learnt is kept.
            foreach (var unit in together)
            {
                await SendUnitAsync(unit, cancellationToken).ConfigureAwait(false);
            }

            await Parallel.ForEachAsync(
                suspected,
                new ParallelOptions { MaxDegreeOfParallelism = BatchesAtOnce, CancellationToken = cancellationToken },
                SendUnitAsync).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Cancelled (or something unexpected): what a finished unit learnt is kept; nothing is known of the other rows.
            var stoppedSomething = false;
            foreach (var i in positions)
            {
                if (!Volatile.Read(ref known[i]))
                {
                    outcomes[i] = new UsageOutcome(rows[i].Id, rows[i].ClaimId!.Value, UsageLedgerState.Open, null, "NotSent: " + e.GetType().Name);
                    stoppedSomething = true;
                }
            }

            // Cancelled once every row was answered (the last unit finished as the token fired): the send is complete.
            return (outcomes, known, stoppedSomething || e is not OperationCanceledException ? e : null);
        }

        return (outcomes, known, null);
    }

    /// <summary>The client's default <see cref="MeteringClientOptions.MaxConcurrency"/>.</summary>
    private static readonly int DefaultBatchesAtOnce = new MeteringClientOptions().MaxConcurrency;

    /// <summary>
    /// How many batch calls the client makes at once: its <see cref="MeteringClientOptions.MaxConcurrency"/> when the
    /// registration could read it, its default otherwise. A bulk submission of rows not suspected holds this many full
    /// batches (<see cref="RowsPerSubmission"/>), and this many smaller batches of suspected rows go at once (after the
    /// other rows' submissions, never overlapping them).
    /// </summary>
    internal int BatchesAtOnce { get; }

    /// <summary>
    /// The most rows not suspected sent in one bulk submission: as many full batches as the client sends at once, so a
    /// submission takes about one round of calls, and a claim cut short by its lease's end loses at most that round's
    /// answers.
    /// </summary>
    internal int RowsPerSubmission => MeteringClient.MaxBatchSize * BatchesAtOnce;

    /// <summary>The longest time before a claim's lease ends at which its sending is stopped.</summary>
    internal static readonly TimeSpan MaxStopMargin = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long before a claim's lease ends its sending is stopped: a tenth of the lease, at most
    /// <see cref="MaxStopMargin"/>: 100 ms for the shortest lease allowed (1 second), 30 seconds for a 5-minute one, and
    /// 1 minute for leases of 10 minutes or more (the default 20 included). Enough to record the outcomes (one ledger
    /// transaction) and to absorb a small difference between the instances' clocks; small enough that a send which fits
    /// in half the lease (what the start-up check demands) always finishes before it, so each claim gets its first
    /// round of answers recorded.
    /// </summary>
    internal static TimeSpan StopMargin(TimeSpan leaseDuration) =>
        leaseDuration / 10 < MaxStopMargin ? leaseDuration / 10 : MaxStopMargin;

    /// <summary>
    /// Counts the rows left open by a claim in which others got through; forgets rows that reached a final state. Rows
    /// not answered (the send stopped first) are left as they were.
    /// </summary>
    private void Suspect(IReadOnlyList<UsageLedgerEntry> rows, UsageOutcome[] outcomes, bool[] known, bool partial)
    {
        if (_suspected.Count > 100_000)
        {
            _suspected.Clear(); // rows completed by other instances are never seen again here; start over rather than grow
        }

        for (var i = 0; i < rows.Count; i++)
        {
            if (!known[i])
            {
                continue;
            }

            if (outcomes[i].State != UsageLedgerState.Open)
            {
                _suspected.Remove(rows[i].Id);
            }
            else if (partial)
            {
                _suspected[rows[i].Id] = _suspected.GetValueOrDefault(rows[i].Id) + 1;
            }
        }
    }

    /// <summary>
    /// Splits the rows to send (indexes into <paramref name="positions"/>): the rows not suspected in units of about
    /// <see cref="RowsPerSubmission"/>, and the suspected ones in units of 25 halved per time they were left open while
    /// others got through (12, 6, 3, 1), each unit one batch.
    /// </summary>
    private (List<List<int>> Together, List<List<int>> Suspected) Units(IReadOnlyList<UsageLedgerEntry> rows, List<int> positions)
    {
        var together = new List<List<int>>();

        // Rows the service would take for the same event (resource, dimension and hour) stay in one submission, whose
        // client tells a repeat from a replay only among the events it was given (see SubmitUsageEventsAsync); the
        // ledger keeps one such row per hour, so this rarely makes a unit larger.
        var unitOfEvent = new Dictionary<(UsageResource Resource, string Dimension, DateTimeOffset Hour), List<int>>();
        var bySize = new SortedDictionary<int, List<int>>();
        for (var k = 0; k < positions.Count; k++)
        {
            var row = rows[positions[k]];
            var times = _suspected.GetValueOrDefault(row.Id);
            if (times == 0)
            {
                var key = (row.Resource, row.Dimension.ToUpperInvariant(), row.Hour);
                if (!unitOfEvent.TryGetValue(key, out var unit))
                {
                    if (together.Count == 0 || together[^1].Count >= RowsPerSubmission)
                    {
                        together.Add([]);
                    }

                    unit = together[^1];
                    unitOfEvent[key] = unit;
                }

                unit.Add(k);
                continue;
            }

            var size = Math.Max(1, MeteringClient.MaxBatchSize >> Math.Min(times, 30));
            if (!bySize.TryGetValue(size, out var group))
            {
                bySize[size] = group = [];
            }

            group.Add(k);
        }

        var suspected = new List<List<int>>();
        foreach (var (size, group) in bySize)
        {
            suspected.AddRange(group.Chunk(size).Select(chunk => chunk.ToList()));
        }

        return (together, suspected);
    }

    private static UsageOutcome ToOutcome(UsageLedgerEntry row, UsageEventResult result)
    {
        var claim = row.ClaimId!.Value;
        return result switch
        {
            UsageEventResult.Accepted accepted => new UsageOutcome(row.Id, claim, UsageLedgerState.Accepted, accepted.UsageEventId, null, accepted.ResourceUsageId),
            UsageEventResult.Duplicate { IsReplay: true } replay => new UsageOutcome(row.Id, claim, UsageLedgerState.Replayed, replay.Original?.UsageEventId, null, replay.Original?.ResourceId),
            UsageEventResult.Duplicate conflict => new UsageOutcome(
                row.Id,
                claim,
                UsageLedgerState.Conflict,
                conflict.Original?.UsageEventId,
                conflict.Original is { } original
                    ? string.Format(CultureInfo.InvariantCulture, "The service holds quantity {0} (event {1}); {2} was recorded here.", original.Quantity, original.UsageEventId, row.Quantity)
                    : "The service holds an event for this hour; it did not say which.",
                ResourceUsageIdOf(row, conflict.Original)),
            UsageEventResult.Expired expired => new UsageOutcome(row.Id, claim, UsageLedgerState.Expired, null, Describe(expired)),

            // Error (a failed call, a 5xx item) and statuses this version does not know: resending is safe, because
            // the service answers Duplicate for an hour it already holds.
            UsageEventResult.Error or UsageEventResult.Unknown => new UsageOutcome(row.Id, claim, UsageLedgerState.Open, null, Describe(result)),
            _ => new UsageOutcome(row.Id, claim, UsageLedgerState.Failed, null, Describe(result)),
        };
    }

    /// <summary>
    /// The id the service recorded the row's resource under, from a conflict's original, when that original is for the
    /// row's resource (its URI when recorded by URI); <see langword="null"/> otherwise: an answer about another resource
    /// says nothing of this one's, and reconciliation would report the row under that other resource.
    /// </summary>
    private static Guid? ResourceUsageIdOf(UsageLedgerEntry row, AcceptedUsageEvent? original) =>
        original is null ? null
        : row.Resource.Uri is { } uri ? (string.Equals(uri, original.ResourceUri, StringComparison.OrdinalIgnoreCase) ? original.ResourceId : null)
        : original.ResourceId == row.Resource.Id ? original.ResourceId : null;

    private static string Describe(UsageEventResult result) => result switch
    {
        UsageEventResult.Failure failure => failure.Code is { } code ? code + ": " + failure.Message : failure.Message,
        UsageEventResult.Unknown unknown => unknown.RawStatus + (unknown.Message is { } message ? ": " + message : string.Empty),
        _ => result.Status.ToString(),
    };

    private void OnUnreadableRow(string problem)
    {
        if (Flushing.Value is { } flushing && flushing != this)
        {
            // Another flusher's call found it. (A report from outside any flush, e.g. from a custom ledger that hands
            // its work to a thread of its own, still reaches every flusher: better twice than never.)
            return;
        }

        Interlocked.Increment(ref _unreadable);
        AccumulationLog.UnreadableRow(_logger, problem);
    }

    private async Task<int> WarnNearDeadlineAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Unsent rows whose deadline is within the margin: hour + 24 h - safety margin - warning margin <= now.
        var from = now - AccumulationRules.Window - TimeSpan.FromHours(1);
        var to = now - AccumulationRules.Window + AccumulationRules.SafetyMargin + _options.DeadlineWarningMargin + TimeSpan.FromTicks(1);
        var count = 0;
        var near = new HashSet<long>();
        foreach (var state in UnsentStates)
        {
            foreach (var entry in await _ledger.GetEntriesAsync(from, to, state, cancellationToken).ConfigureAwait(false))
            {
                if (entry.Deadline <= now)
                {
                    continue;
                }

                count++;
                near.Add(entry.Id);
                if (_warned.Add(entry.Id))
                {
                    AccumulationTelemetry.DeadlineWarnings.Add(1, new KeyValuePair<string, object?>(AccumulationTelemetry.DimensionTag, entry.Dimension));
                    AccumulationLog.NearDeadline(_logger, entry.Resource.ToString(), entry.PlanId, entry.Dimension, entry.Hour, entry.Quantity, entry.Deadline, entry.Detail ?? "not sent yet");
                }
            }
        }

        // A row that left the window was sent, failed for good or expired: it cannot come back into it, so forget it. A
        // flusher that runs for months must not remember every row it ever warned about.
        _warned.IntersectWith(near);
        return count;
    }

    private void ReportExpired(UsageLedgerEntry entry)
    {
        var dimension = new KeyValuePair<string, object?>(AccumulationTelemetry.DimensionTag, entry.Dimension);
        AccumulationTelemetry.Expired.Add(1, dimension);
        AccumulationTelemetry.ExpiredQuantity.Add((double)entry.Quantity, dimension);
        AccumulationLog.Expired(_logger, entry.Resource.ToString(), entry.PlanId, entry.Dimension, entry.Hour, entry.Quantity, entry.Deadline);
    }

    private static string StateName(UsageLedgerState state) => state switch
    {
        UsageLedgerState.Open => "open",
        UsageLedgerState.Accepted => "accepted",
        UsageLedgerState.Replayed => "replayed",
        UsageLedgerState.Conflict => "conflict",
        UsageLedgerState.Expired => "expired",
        UsageLedgerState.Failed => "failed",
        _ => "submitting",
    };
}
