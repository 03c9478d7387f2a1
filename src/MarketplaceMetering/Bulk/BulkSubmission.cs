using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering;

/// <summary>
/// One bulk submission: plans batches (<see cref="BatchPlanner"/>), sends up to <c>maxConcurrency</c> of them at a
/// time, and yields one result per event in input order. Reading the source waits while all slots are busy, so memory
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
    private readonly Func<IReadOnlyList<UsageEvent>, CancellationToken, Task<BatchUsageEventResult>> _sendBatch;
    private readonly TimeProvider _clock;
    private readonly int _maxConcurrency;
    private readonly ILogger _logger;
    private MeteringAuthorizationException? _refusal;

    public BulkSubmission(
        Func<IReadOnlyList<UsageEvent>, CancellationToken, Task<BatchUsageEventResult>> sendBatch,
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

    public async IAsyncEnumerable<UsageEventResult> RunAsync(IAsyncEnumerable<UsageEvent> usageEvents, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var planner = new BatchPlanner();
        var ready = new List<PlannedBatch>();
        var inFlight = new List<(PlannedBatch Batch, Task<UsageEventResult[]> Sending)>();
        var waiting = new Dictionary<long, UsageEventResult>();
        long nextToYield = 0;
        long count = 0;

        try
        {
            // One pass per event, and a last one at the end of the input that flushes the open batches.
            var source = usageEvents.WithCancellation(cancellationToken).ConfigureAwait(false).GetAsyncEnumerator();
            try
            {
                var more = true;
                while (more)
                {
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
                        waiting[count++] = NotSent(usageEvent, problem, inFuture);
                    }
                    else
                    {
                        planner.Add(new IndexedEvent(count++, usageEvent), ready);
                        PeakTrackedKeys = Math.Max(PeakTrackedKeys, planner.TrackedKeys);
                    }

                    foreach (var batch in ready)
                    {
                        while (inFlight.Count >= _maxConcurrency)
                        {
                            await CollectOneAsync(inFlight, planner, waiting).ConfigureAwait(false);
                            while (waiting.TryGetValue(nextToYield, out var result))
                            {
                                waiting.Remove(nextToYield++);
                                yield return result;
                            }
                        }

                        inFlight.Add((batch, SendAsync(batch, stop.Token)));
                        PeakInFlight = Math.Max(PeakInFlight, inFlight.Count);
                    }

                    ready.Clear();
                    PeakWaitingResults = Math.Max(PeakWaitingResults, waiting.Count);
                    while (waiting.TryGetValue(nextToYield, out var result))
                    {
                        waiting.Remove(nextToYield++);
                        yield return result;
                    }
                }
            }
            finally
            {
                await source.DisposeAsync();
            }

            while (inFlight.Count > 0 || waiting.Count > 0)
            {
                if (!waiting.ContainsKey(nextToYield))
                {
                    await CollectOneAsync(inFlight, planner, waiting).ConfigureAwait(false);
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
            // Stopped early (cancelled, a bad event, or the caller stopped reading): stop the batches in flight too.
            if (inFlight.Count > 0)
            {
                stop.Cancel();
                try
                {
                    await Task.WhenAll(inFlight.Select(f => f.Sending)).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
    }

    private static async Task CollectOneAsync(List<(PlannedBatch Batch, Task<UsageEventResult[]> Sending)> inFlight, BatchPlanner planner, Dictionary<long, UsageEventResult> waiting)
    {
        var finished = await Task.WhenAny(inFlight.Select(f => f.Sending)).ConfigureAwait(false);
        var at = inFlight.FindIndex(f => f.Sending == finished);
        var (batch, _) = inFlight[at];
        inFlight.RemoveAt(at);
        var results = await finished.ConfigureAwait(false);
        for (var i = 0; i < results.Length; i++)
        {
            waiting[batch.Events[i].Index] = results[i];
        }

        planner.Completed(batch);
    }

    private async Task<UsageEventResult[]> SendAsync(PlannedBatch batch, CancellationToken cancellationToken)
    {
        try
        {
            await batch.DependenciesCompleted().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();

            var results = new UsageEventResult[batch.Count];
            var now = _clock.GetUtcNow();
            var positions = new List<int>(batch.Count);
            for (var i = 0; i < batch.Count; i++)
            {
                // The rule a single call applies: an event is sent while it is inside its 24-hour window. (Retries stop
                // earlier, at the deadline: the window's end less a safety margin.)
                var usageEvent = batch.Events[i].Event;
                if (UsageEventValidator.CheckWindow(usageEvent, now, out var inFuture) is { } problem && !inFuture)
                {
                    results[i] = new UsageEventResult.Expired(
                        usageEvent,
                        "DeadlinePassed",
                        "Not sent: while it waited for a slot or an earlier batch, the event left the service's window. " + problem,
                        "effectiveStartTime",
                        details: null,
                        requestId: null,
                        correlationId: null);
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

            var events = positions.Select(i => batch.Events[i].Event).ToList();
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
            catch (MeteringAuthorizationException e) when (e.StatusCode is 401 or 403)
            {
                // The service refused the caller: every other batch would be refused too.
                Interlocked.CompareExchange(ref _refusal, e, null);
                Fill(results, positions, events, e.ErrorCode ?? "Forbidden", e.Message, e);
            }
            catch (MeteringException e)
            {
                // Anything else (a token that could not be obtained, retries exhausted, an odd answer) concerns this
                // batch only: the run goes on. A refused credential is remembered by the token cache for a while, so
                // the batches after it fail fast without asking the identity provider again.
                Log.BatchFailed(_logger, events.Count, e.StatusCode ?? 0, e.RequestId ?? string.Empty);
                Fill(results, positions, events, e.ErrorCode ?? e.FailureCode ?? (e.StatusCode is { } status ? "HTTP" + status.ToString(System.Globalization.CultureInfo.InvariantCulture) : "NoAnswer"), e.Message, e);
            }

            return results;
        }
        finally
        {
            batch.Complete();
        }
    }

    private static void Fill(UsageEventResult[] results, List<int> positions, List<UsageEvent> events, string code, string message, MeteringException failure)
    {
        for (var k = 0; k < positions.Count; k++)
        {
            results[positions[k]] = new UsageEventResult.Error(events[k], code, message, target: null, details: null, failure.RequestId, failure.CorrelationId);
        }
    }

    private static UsageEventResult NotSent(UsageEvent usageEvent, string problem, bool inFuture) =>
        inFuture
            ? new UsageEventResult.BadArgument(usageEvent, "BadArgument", "Not sent: " + problem, "effectiveStartTime", details: null, requestId: null, correlationId: null)
            : new UsageEventResult.Expired(usageEvent, "Expired", "Not sent: " + problem, "effectiveStartTime", details: null, requestId: null, correlationId: null);
}
