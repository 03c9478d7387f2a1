using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering;

/// <summary>
/// One bulk submission: plans batches (<see cref="BatchPlanner"/>), sends up to <c>maxConcurrency</c> of them at a
/// time, and yields one result per event in input order (or, for a list, files each result at its event's position). Reading the source waits while all slots are busy, so memory
/// holds at most the in-flight and open batches and the results that wait for an earlier one.
/// </summary>
/// <remarks>
/// Per-event outcomes only, never an exception that loses other events' results: a batch whose call fails after the
/// retries (or is refused with 403, or answered with something unreadable) yields an Error result per event carrying
/// the failure. After the service refuses the caller (401, 403) nothing more is sent; a token that cannot be obtained
/// fails only its batch. Events that left the 24-hour window while waiting are not sent (a single call applies the same
/// rule); retries stop at the deadline, a safety margin earlier. Only cancellation and a null event end the submission
/// with an exception.
/// </remarks>
internal sealed class BulkSubmission
{
    private readonly Func<IReadOnlyList<UsageEvent>, CancellationToken, ValueTask<BatchUsageEventResult>> _sendBatch;
    private readonly TimeProvider _clock;
    private readonly int _maxConcurrency;
    private readonly ILogger _logger;
    private MeteringAuthorizationException? _refusal;

    public BulkSubmission(
        Func<IReadOnlyList<UsageEvent>, CancellationToken, ValueTask<BatchUsageEventResult>> sendBatch,
        TimeProvider clock,
        int maxConcurrency,
        ILogger logger,
        string correlationId)
    {
        CorrelationId = correlationId;
        _sendBatch = sendBatch;
        _clock = clock;
        _maxConcurrency = maxConcurrency;
        _logger = logger;
    }

    /// <summary>The <c>x-ms-correlationid</c> all of this submission's calls share.</summary>
    public string CorrelationId { get; }

    /// <summary>The most results held back at once, waiting for an earlier event's result (for memory tests).</summary>
    public int PeakWaitingResults { get; private set; }

    /// <summary>The most keys the planner tracked at once (for memory tests).</summary>
    public int PeakTrackedKeys { get; private set; }

    /// <summary>The most batches in flight at once.</summary>
    public int PeakInFlight { get; private set; }

    /// <summary>Runs the submission over a stream, yielding one result per event in input order.</summary>
    public IAsyncEnumerable<UsageEventResult> RunAsync(IAsyncEnumerable<UsageEvent> usageEvents, CancellationToken cancellationToken = default) =>
        RunCoreAsync(usageEvents, into: null, cancellationToken);

    /// <summary>
    /// Runs the submission over a list, filing each result at its event's position in <paramref name="results"/> (as
    /// long as the list) instead of yielding it: no async iterator per event in or out, and no map of results waiting
    /// for an earlier one. When it returns, every position is filled.
    /// </summary>
    public async Task RunAsync(IReadOnlyList<UsageEvent> usageEvents, UsageEventResult[] results, CancellationToken cancellationToken = default)
    {
        await foreach (var _ in RunCoreAsync(new ListSource(usageEvents), results, cancellationToken).ConfigureAwait(false))
        {
            // Nothing is yielded: the results are filed in place.
        }

        TakeRepeatsAsConflicts(results);
    }

    /// <summary>
    /// An event given more than once in a list is recorded once: a replay whose original is the id another result of
    /// this call was accepted as, or an earlier result was found as a replay of, becomes a conflict, since its own
    /// attempt recorded nothing. Same-key events are sent in input order, but a managed application named by its URI in
    /// one input and by its resource usage id in another is two keys to the client, so their batches may go at once and
    /// the later input be accepted first: an accepted id counts wherever it stands. A copy that ended as an
    /// Error (its answer lost, or its batch failed after the retries) while another copy was delivered, before or
    /// after it, is a repeat too: sent again it could only come back as a replay of the one recorded event, and be
    /// counted as delivered a second time. Costs one scan when there is no replay and no Error; the maps are built only
    /// when there is one.
    /// </summary>
    internal static void TakeRepeatsAsConflicts(UsageEventResult[] results)
    {
        var first = -1;
        for (var i = 0; i < results.Length; i++)
        {
            if (results[i] is UsageEventResult.Duplicate { IsReplay: true } or UsageEventResult.Error)
            {
                first = i;
                break;
            }
        }

        if (first < 0)
        {
            return;
        }

        // The keys of the Errors, each with what another copy of the call was delivered as (once found).
        Dictionary<UsageEventKey, AcceptedUsageEvent?>? failed = null;
        for (var i = first; i < results.Length; i++)
        {
            if (results[i] is UsageEventResult.Error error)
            {
                (failed ??= [])[UsageEventKey.Of(error.Event)] = null;
            }
        }

        // First every id the call was accepted as, wherever it stands, then the replays in input order.
        var delivered = new HashSet<Guid>();
        foreach (var result in results)
        {
            if (result is UsageEventResult.Accepted accepted)
            {
                delivered.Add(accepted.UsageEventId);
            }
        }

        var replayed = new HashSet<Guid>();
        for (var i = 0; i < results.Length; i++)
        {
            switch (results[i])
            {
                case UsageEventResult.Accepted accepted:
                    Hold(failed, accepted);
                    break;
                case UsageEventResult.Duplicate { IsReplay: true, Original: { } original } replay
                    when delivered.Contains(original.UsageEventId) || !replayed.Add(original.UsageEventId):
                    results[i] = replay.AsRepeat();
                    break;
                case UsageEventResult.Duplicate { IsReplay: true } replay:
                    Hold(failed, replay);
                    break;
            }
        }

        if (failed is null)
        {
            return;
        }

        for (var i = first; i < results.Length; i++)
        {
            if (results[i] is UsageEventResult.Error error
                && failed.TryGetValue(UsageEventKey.Of(error.Event), out var held) && held is not null
                && DuplicateClassifier.Matches(error.Event, held))
            {
                results[i] = UsageEventResult.Duplicate.Repeat(error.Event, held, error.Ids);
            }
        }
    }

    /// <summary>Notes what <paramref name="delivered"/> was recorded as, for an Error of its key (the first delivered copy).</summary>
    private static void Hold(Dictionary<UsageEventKey, AcceptedUsageEvent?>? failed, UsageEventResult delivered)
    {
        var key = UsageEventKey.Of(delivered.Event);
        if (failed is null || !failed.TryGetValue(key, out var held) || held is not null)
        {
            return;
        }

        failed[key] = delivered switch
        {
            UsageEventResult.Duplicate { Original: { } original } => original,
            UsageEventResult.Accepted accepted => new AcceptedUsageEvent(
                accepted.UsageEventId,
                accepted.MessageTime,
                accepted.ResourceUsageId ?? accepted.Event.ResourceId,
                accepted.Event.ResourceUri,
                accepted.Event.PlanId,
                accepted.Event.Dimension,
                accepted.Event.Quantity,
                accepted.Event.EffectiveStartTime),
            _ => null,
        };
    }

    /// <param name="usageEvents">The events.</param>
    /// <param name="into">Where results are filed by input position, or <see langword="null"/> to yield them in order.</param>
    /// <param name="cancellationToken">Stops reading and the batches in flight.</param>
    private async IAsyncEnumerable<UsageEventResult> RunCoreAsync(IAsyncEnumerable<UsageEvent> usageEvents, UsageEventResult[]? into, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var planner = new BatchPlanner();
        var ready = new List<PlannedBatch>();

        // Each batch sent reports back through this channel when it is done (results or failure): the loop waits for
        // whichever finishes first without a Task.WhenAny, a list of tasks or a state machine per batch to collect it.
        // Reads need no token: cancellation reaches the sends through `stop`, and each send reports back, cancelled or not.
        var done = Channel.CreateUnbounded<PlannedBatch>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = true });
        var inFlight = 0;
        var waiting = new Dictionary<long, UsageEventResult>();
        long nextToYield = 0;
        long count = 0;

        // Results are yielded in input order, so later ones wait here while an earlier batch lags (a retry, a slow
        // answer). With this many waiting, nothing more is read or sent until batches come back and the head of the
        // line can be yielded: a stream of any length keeps a bounded number of results. A list needs no such stop,
        // since its results are filed in place.
        var maxWaiting = into is null ? _maxConcurrency * UsageEventValidator.MaxBatchSize : int.MaxValue;

        try
        {
            // One step at a time: send the next planned batch, or, when all are sent, read the next event (and at the end
            // of the input flush the open batches, sent by the steps that follow).
            var source = usageEvents.WithCancellation(cancellationToken).ConfigureAwait(false).GetAsyncEnumerator();
            try
            {
                var more = true;
                var sent = 0;
                while (true)
                {
                    // Both steps can add to the waiting results (a batch collected to free its slot, an event not sent):
                    // neither is taken while too many wait for a batch still out.
                    while (waiting.Count >= maxWaiting && inFlight > 0)
                    {
                        var back = await done.Reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                        inFlight--;
                        Collect(back, planner, into, waiting);
                        while (waiting.TryGetValue(nextToYield, out var result))
                        {
                            waiting.Remove(nextToYield++);
                            yield return result;
                        }
                    }

                    if (sent < ready.Count)
                    {
                        var batch = ready[sent++];
                        PlannedBatch? finished = null;
                        if (inFlight >= _maxConcurrency)
                        {
                            finished = await done.Reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                            inFlight--;
                        }

                        // The freed slot is filled before the finished batch's results are filed and handed to the
                        // caller: the next call goes out without waiting for that work.
                        _ = SendAsync(batch, done.Writer, stop.Token);
                        inFlight++;
                        PeakInFlight = Math.Max(PeakInFlight, inFlight);
                        if (finished is not null)
                        {
                            Collect(finished, planner, into, waiting);
                            while (waiting.TryGetValue(nextToYield, out var result))
                            {
                                waiting.Remove(nextToYield++);
                                yield return result;
                            }
                        }

                        continue;
                    }

                    ready.Clear();
                    sent = 0;
                    PeakWaitingResults = Math.Max(PeakWaitingResults, waiting.Count);
                    while (waiting.TryGetValue(nextToYield, out var result))
                    {
                        waiting.Remove(nextToYield++);
                        yield return result;
                    }

                    if (!more)
                    {
                        break;
                    }

                    more = await source.MoveNextAsync();
                    if (!more)
                    {
                        planner.Flush(ready);
                    }
                    else if (source.Current is not { } usageEvent)
                    {
                        throw new ArgumentException(MeteringClientOptions.Format("usageEvents[{0}] is null.", count), nameof(usageEvents));
                    }
                    else if (UsageEventValidator.CheckWindow(usageEvent, _clock.GetUtcNow(), out var inFuture) is { } problem)
                    {
                        File(count++, NotSent(usageEvent, problem, inFuture), into, waiting);
                    }
                    else
                    {
                        planner.Add(new IndexedEvent(count++, usageEvent), ready);
                        PeakTrackedKeys = Math.Max(PeakTrackedKeys, planner.TrackedKeys);
                    }
                }
            }
            finally
            {
                await source.DisposeAsync();
            }

            while (inFlight > 0 || waiting.Count > 0)
            {
                if (!waiting.ContainsKey(nextToYield))
                {
                    var finished = await done.Reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                    inFlight--;
                    Collect(finished, planner, into, waiting);
                    PeakWaitingResults = Math.Max(PeakWaitingResults, waiting.Count);
                    continue;
                }

                while (waiting.TryGetValue(nextToYield, out var result))
                {
                    waiting.Remove(nextToYield++);
                    yield return result;
                }
            }
        }
        finally
        {
            // Stopped early (cancelled, a bad event, or the caller stopped reading): stop the batches in flight too, and
            // wait for each to report back (a send always does, cancelled or not).
            if (inFlight > 0)
            {
                stop.Cancel();
                ExceptionDispatchInfo? unexpected = null;
                while (inFlight > 0)
                {
                    var batch = await done.Reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                    inFlight--;
                    if (batch.Failure is { SourceException: not OperationCanceledException } failure)
                    {
                        unexpected ??= failure;
                    }
                }

                unexpected?.Throw();
            }
        }
    }

    /// <summary>
    /// Releases a finished batch's keys (taking a repeat of an event delivered earlier in this submission as a conflict)
    /// and files its results by input position, or rethrows what stopped it.
    /// </summary>
    private static void Collect(PlannedBatch batch, BatchPlanner planner, UsageEventResult[]? into, Dictionary<long, UsageEventResult> waiting)
    {
        batch.Failure?.Throw();
        planner.Completed(batch);
        var results = batch.Results!;
        for (var i = 0; i < results.Length; i++)
        {
            File(batch.IndexAt(i), results[i], into, waiting);
        }
    }

    /// <summary>Files one result: in place when the caller gave an array, else to wait until it is its turn to be yielded.</summary>
    private static void File(long index, UsageEventResult result, UsageEventResult[]? into, Dictionary<long, UsageEventResult> waiting)
    {
        if (into is not null)
        {
            into[index] = result;
        }
        else
        {
            waiting[index] = result;
        }
    }

    /// <summary>Handles one batch, then reports it on <paramref name="done"/> with its results or its failure; never throws.</summary>
    private async Task SendAsync(PlannedBatch batch, ChannelWriter<PlannedBatch> done, CancellationToken cancellationToken)
    {
        try
        {
            batch.Results = await ResultsAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            batch.Failure = ExceptionDispatchInfo.Capture(e);
        }
        finally
        {
            batch.Complete();
            done.TryWrite(batch); // an unbounded channel always takes it
        }
    }

#if NET
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
#endif
    private async ValueTask<UsageEventResult[]> ResultsAsync(PlannedBatch batch, CancellationToken cancellationToken)
    {
        await batch.DependenciesCompleted().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();

        var now = _clock.GetUtcNow();
        var allInWindow = true;
        foreach (var usageEvent in batch.Events)
        {
            if (UsageEventValidator.CheckWindow(usageEvent, now, out var inFuture) is not null && !inFuture)
            {
                allInWindow = false;
                break;
            }
        }

        if (allInWindow && Volatile.Read(ref _refusal) is null)
        {
            // The common case: the batch goes out as planned, and its results are the answer's, in order.
            try
            {
                var answer = await _sendBatch(batch.Events, cancellationToken).ConfigureAwait(false);
                return answer.Results as UsageEventResult[] ?? [.. answer.Results];
            }
            catch (MeteringException e)
            {
                return Failed(batch.Events, e);
            }
        }

        var results = new UsageEventResult[batch.Count];
        var positions = new List<int>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            // The rule a single call applies: an event is sent while it is inside its 24-hour window. (Retries stop
            // earlier, at the deadline: the window's end less a safety margin.)
            var usageEvent = batch.Events[i];
            if (UsageEventValidator.CheckWindow(usageEvent, now, out var inFuture) is { } problem && !inFuture)
            {
                results[i] = new UsageEventResult.Expired(
                    usageEvent,
                    "DeadlinePassed",
                    "Not sent: while it waited for a slot or an earlier batch, the event left the service's window. " + problem,
                    "effectiveStartTime",
                    details: null,
                    ServiceIds.None);
            }
            else
            {
                positions.Add(i);
            }
        }

        if (positions.Count == 0)
        {
            return results;
        }

        var events = positions.Select(i => batch.Events[i]).ToList();
        if (Volatile.Read(ref _refusal) is { } refusal)
        {
            Fill(results, positions, events, "NotSent", "Not sent: the service refused the caller earlier in this submission. " + refusal.Message, refusal);
            return results;
        }

        try
        {
            var answer = await _sendBatch(events, cancellationToken).ConfigureAwait(false);
            for (var k = 0; k < positions.Count; k++)
            {
                results[positions[k]] = answer.Results[k];
            }
        }
        catch (MeteringException e)
        {
            var failed = Failed(events, e);
            for (var k = 0; k < positions.Count; k++)
            {
                results[positions[k]] = failed[k];
            }
        }

        return results;
    }

    /// <summary>
    /// The results for a batch whose call failed. After the service refused the caller (401, 403) nothing more is sent:
    /// every other batch would be refused too. Anything else (a token that could not be obtained, retries exhausted, an
    /// odd answer) concerns this batch only, and the run goes on; a refused credential is remembered by the token cache
    /// for a while, so the batches after it fail fast without asking the identity provider again.
    /// </summary>
    private UsageEventResult[] Failed(List<UsageEvent> events, MeteringException failure)
    {
        string code;
        if (failure is MeteringAuthorizationException { StatusCode: 401 or 403 })
        {
            Interlocked.CompareExchange(ref _refusal, (MeteringAuthorizationException)failure, null);
            code = failure.ErrorCode ?? "Forbidden";
        }
        else
        {
            Log.BatchFailed(_logger, events.Count, failure.StatusCode ?? 0, failure.RequestId ?? string.Empty);
            code = failure.ErrorCode ?? failure.FailureCode ?? (failure.StatusCode is { } status ? "HTTP" + status.ToString(System.Globalization.CultureInfo.InvariantCulture) : "NoAnswer");
        }

        var results = new UsageEventResult[events.Count];
        for (var k = 0; k < events.Count; k++)
        {
            results[k] = new UsageEventResult.Error(events[k], code, failure.Message, target: null, details: null, ServiceIds.Of(failure.RequestId, failure.CorrelationId), failure.StatusCode);
        }

        return results;
    }

    private static void Fill(UsageEventResult[] results, List<int> positions, List<UsageEvent> events, string code, string message, MeteringException failure)
    {
        for (var k = 0; k < positions.Count; k++)
        {
            results[positions[k]] = new UsageEventResult.Error(events[k], code, message, target: null, details: null, ServiceIds.Of(failure.RequestId, failure.CorrelationId));
        }
    }

    private static UsageEventResult NotSent(UsageEvent usageEvent, string problem, bool inFuture) =>
        inFuture
            ? new UsageEventResult.BadArgument(usageEvent, "BadArgument", "Not sent: " + problem, "effectiveStartTime", details: null, ServiceIds.None)
            : new UsageEventResult.Expired(usageEvent, "Expired", "Not sent: " + problem, "effectiveStartTime", details: null, ServiceIds.None);

    /// <summary>
    /// A list read as a stream without an async iterator: each step completes at once, as the list is in memory.
    /// Single use. (The benchmarks feed the stream overload with it too, so their figure is the submission's alone.)
    /// </summary>
    internal sealed class ListSource(IReadOnlyList<UsageEvent> events) : IAsyncEnumerable<UsageEvent>, IAsyncEnumerator<UsageEvent>
    {
        private int _index = -1;

        public UsageEvent Current => events[_index];

        public IAsyncEnumerator<UsageEvent> GetAsyncEnumerator(CancellationToken cancellationToken = default) => this;

        public ValueTask<bool> MoveNextAsync() => new(++_index < events.Count);

        public ValueTask DisposeAsync() => default;
    }
}
