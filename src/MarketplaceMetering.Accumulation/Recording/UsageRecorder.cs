using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MarketplaceMetering;

/// <summary>
/// Records usage anywhere in an app and sums it exactly per resource, plan, dimension and UTC hour, on its way to a
/// <see cref="UsageLedger"/>. Thread-safe. <see cref="Record"/> never waits for I/O: its usage is durable within
/// <see cref="UsageAccumulationOptions.DurabilityInterval"/> (a crash loses at most that much). <see cref="RecordAsync"/>
/// completes once its usage is committed (a crash after it returned loses nothing); concurrent callers share one
/// transaction. A <see cref="UsageFlusher"/> sends closed hours to the service.
/// </summary>
/// <example>
/// <code>
/// await using var recorder = new UsageRecorder(new SqliteUsageLedger("usage.db"));
/// recorder.Record(subscriptionId, "silver", "api-calls", 1m);
/// var meter = recorder.GetMeter(subscriptionId, "silver", "gigabytes");
/// meter.Add(0.25m);
/// </code>
/// </example>
public sealed class UsageRecorder : IAsyncDisposable, IDisposable
{
    private readonly ConcurrentDictionary<MeterKey, UsageMeter> _meters = new(MeterKey.Comparer);
    private readonly ConcurrentQueue<UsageMeter> _dirty = new();
    private readonly Channel<Commit> _commits = Channel.CreateUnbounded<Commit>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private readonly TimeSpan _durabilityInterval;
    private readonly Task _writer;
    private readonly ITimer _hourTimer;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _currentHourTicks;
    private int _disposed;
    private Exception? _writerFault;

    // The ledger outage the writer is in, if any (the writer's alone): when its first failed write was (by the clock, and
    // as a timestamp of the TimeProvider), when event 100 was last logged, and the failed writes in all and since then.
    private DateTimeOffset? _outageStart;
    private long _outageStartTimestamp;
    private long _failureLoggedTimestamp;
    private int _outageFailures;
    private int _failuresNotLogged;

    // The recorder whose writer is running in this async flow: set by the writer, so it flows into the ledger calls and
    // the logging it makes, where a dispose must not wait for the writer (it would wait for itself).
    private static readonly AsyncLocal<UsageRecorder?> Writing = new();

    /// <summary>Initializes a new instance of the <see cref="UsageRecorder"/> class and starts its writer.</summary>
    /// <param name="ledger">Where usage is made durable.</param>
    /// <param name="options">The settings; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException">A setting is out of range (the message lists every one).</exception>
    public UsageRecorder(UsageLedger ledger, UsageAccumulationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        options ??= new UsageAccumulationOptions();
        options.Validate(nameof(options));
        Ledger = ledger;
        Clock = options.TimeProvider;
        _durabilityInterval = options.DurabilityInterval;
        _logger = (ILogger?)options.LoggerFactory?.CreateLogger<UsageRecorder>() ?? NullLogger.Instance;
        _hourTimer = Clock.CreateTimer(static state => ((UsageRecorder)state!).TurnHour(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        TurnHour();
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Gets the ledger usage goes to.</summary>
    public UsageLedger Ledger { get; }

    internal TimeProvider Clock { get; }

    /// <summary>The start (UTC ticks) of the hour that <see cref="UsageMeter.Add(decimal)"/> files usage under: read without asking the clock.</summary>
    internal long CurrentHourTicks => Volatile.Read(ref _currentHourTicks);

    /// <summary>Gets the handle for one resource, plan and dimension (the same one for the same names, compared ignoring case as the service does).</summary>
    /// <param name="resource">The resource (a <see cref="Guid"/> converts implicitly).</param>
    /// <param name="planId">The plan id; not empty.</param>
    /// <param name="dimension">The dimension; not empty.</param>
    /// <returns>The meter.</returns>
    /// <exception cref="ArgumentException">An argument is empty, names no resource, has a control character or half a surrogate pair, or is longer than 256 bytes (UTF-8).</exception>
    public UsageMeter GetMeter(UsageResource resource, string planId, string dimension)
    {
        var key = new MeterKey(resource, planId, dimension);
        if (_meters.TryGetValue(key, out var meter))
        {
            return meter;
        }

        if (resource.IsEmpty)
        {
            throw new ArgumentException("The resource must name a resource: use a subscription or resource usage id, or UsageResource.FromUri.", nameof(resource));
        }

        // The core's rules for plan and dimension, checked once per meter rather than per recorded quantity.
        _ = resource.ToEvent(planId, dimension, 1m, default);
        CheckName(planId, nameof(planId), "plan id", MaxNameBytes);
        CheckName(dimension, nameof(dimension), "dimension", MaxNameBytes);
        return _meters.GetOrAdd(key, static (k, recorder) => new UsageMeter(recorder, k.Resource, k.PlanId, k.Dimension), this);
    }

    /// <summary>Adds usage in memory; it is durable within the durability interval. Never waits for I/O.</summary>
    /// <param name="resource">The resource (a <see cref="Guid"/> converts implicitly).</param>
    /// <param name="planId">The plan id; not empty.</param>
    /// <param name="dimension">The dimension; not empty.</param>
    /// <param name="quantity">The units consumed; greater than zero.</param>
    /// <param name="at">When it happened, or <see langword="null"/> for now: not in the future (beyond 5 minutes of clock skew), in an hour the service still accepts.</param>
    /// <exception cref="ArgumentException">An argument is out of range; the exception names it, and nothing is recorded.</exception>
    /// <exception cref="ObjectDisposedException">The recorder is disposed.</exception>
    public void Record(UsageResource resource, string planId, string dimension, decimal quantity, DateTimeOffset? at = null)
    {
        CheckQuantity(quantity);
        var meter = GetMeter(resource, planId, dimension);
        if (at is { } time)
        {
            meter.Add(quantity, time);
        }
        else
        {
            meter.Add(quantity);
        }
    }

    /// <summary>Adds usage and completes once it is committed to the ledger; concurrent callers share one transaction.</summary>
    /// <param name="resource">The resource (a <see cref="Guid"/> converts implicitly).</param>
    /// <param name="planId">The plan id; not empty.</param>
    /// <param name="dimension">The dimension; not empty.</param>
    /// <param name="quantity">The units consumed; greater than zero.</param>
    /// <param name="at">When it happened, or <see langword="null"/> for now.</param>
    /// <param name="cancellationToken">Stops waiting; the usage may still be recorded, as with any database commit. Already cancelled: nothing is recorded.</param>
    /// <returns>A task that completes when the usage is durable; it fails with the ledger's error if the commit fails (the usage is then not recorded).</returns>
    /// <exception cref="ArgumentException">An argument is out of range; the exception names it, and nothing is recorded.</exception>
    public Task RecordAsync(UsageResource resource, string planId, string dimension, decimal quantity, DateTimeOffset? at = null, CancellationToken cancellationToken = default)
    {
        CheckQuantity(quantity);
        return GetMeter(resource, planId, dimension).AddAsync(quantity, at, cancellationToken);
    }

    /// <summary>Writes every sum still only in memory to the ledger now.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the sums recorded before the call are committed; it fails with the ledger's error if the commit fails (the sums then stay in memory and go with the next write).</returns>
    public Task SaveAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return CommitAsync(default, cancellationToken, save: true);
    }

    /// <summary>Writes what is still in memory, then stops the writer.</summary>
    /// <returns>A task that completes when the writer has stopped. A second call (or one made while <see cref="Dispose"/> runs) waits for the first one's work; nothing is written twice. Called from inside the writer (a ledger or logger call-back), it completes at once: the writer writes what is left when the call-back returns.</returns>
    public async ValueTask DisposeAsync()
    {
        // The first call stops the writer; a later one (or one racing it) waits for that stop.
        Task stop;
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _commits.Writer.TryComplete();
            stop = StopAsync();
        }
        else
        {
            stop = _stopped.Task;
        }

        if (Writing.Value == this)
        {
            // Called from inside the writer (a ledger or a logger it calls that disposes the recorder, first or again): the
            // writer writes what is left once that call returns, and the rest of the stop follows it. Waiting here would
            // wait for the writer to return to itself, which it never would.
            return;
        }

        await stop.ConfigureAwait(false);
    }

    /// <summary>
    /// Writes what is still in memory, then stops the writer, as <see cref="DisposeAsync"/> does, blocking until it is
    /// done: for a <c>ServiceProvider</c> or a <see langword="using"/> statement disposed synchronously. It needs no
    /// thread of the caller's synchronization context. Safe to call more than once and together with
    /// <see cref="DisposeAsync"/>: the usage is written once, and every call returns when it is. Called from inside the
    /// writer (a ledger or logger call-back), it returns at once: the writer writes what is left when the call-back returns.
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Waits for the writer's last write, then releases the timer and lets every dispose call return.</summary>
    private async Task StopAsync()
    {
        try
        {
            await _writer.ConfigureAwait(false);
            if (Volatile.Read(ref _writerFault) is not null)
            {
                ReportLostAfterWriterStopped();
            }
        }
        finally
        {
            await _hourTimer.DisposeAsync().ConfigureAwait(false);
            _stopping.Dispose();
            _stopped.TrySetResult();
        }
    }

    /// <summary>
    /// After the writer stopped on an unexpected error, the sums still in memory can never be written: the meters are
    /// closed (an add racing this throws rather than being taken) and the lost sums are logged (event ids 101 and 118).
    /// </summary>
    private void ReportLostAfterWriterStopped()
    {
        var lost = new List<UsageDelta>();
        TakeAllAndClose(lost);
        ReportLost(lost, Volatile.Read(ref _writerFault));
    }

    /// <summary>
    /// Logs usage that can no longer be written: how many sums (event id 101, with the error), then each sum on its own
    /// (event id 118: resource, plan, dimension, hour and quantity, which is what an operator needs to record it again).
    /// </summary>
    private void ReportLost(List<UsageDelta> lost, Exception? error)
    {
        if (lost.Count == 0)
        {
            return;
        }

        Report(() => AccumulationLog.LostOnDispose(_logger, lost.Count, error));
        foreach (var sum in lost)
        {
            Report(() => AccumulationLog.LostSum(_logger, sum.Resource.ToString(), sum.PlanId, sum.Dimension, sum.Hour, sum.Quantity, AccumulationRules.DeadlineOf(sum.Hour)));
        }
    }

    internal static void CheckQuantity(decimal quantity)
    {
        if (quantity <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(quantity), quantity, string.Format(CultureInfo.InvariantCulture, "The quantity must be greater than zero; it was {0}. Nothing was recorded.", quantity));
        }
    }

    /// <summary>The longest plan id or dimension, in UTF-8 bytes (the service's are far shorter).</summary>
    internal const int MaxNameBytes = 256;

    /// <summary>The longest resource URI, in UTF-8 bytes (a managed application's resource id is about 250).</summary>
    internal const int MaxResourceUriBytes = 1024;

    /// <summary>
    /// Refuses a name with a control character (NUL among them): no service name has one, and a ledger cannot keep it as
    /// given (PostgreSQL text refuses NUL, which failed every save of every meter), so it is refused here, before
    /// anything is recorded. So is a name longer than <paramref name="maxBytes"/>: PostgreSQL cannot index a row whose
    /// resource, plan and dimension pass about 2.7 kB, and such a row failed every save of every meter in the same way.
    /// Half a surrogate pair (which UTF-8 cannot encode) is refused before this, by the core's <see cref="UsageEvent"/>
    /// rules that every caller applies first.
    /// </summary>
    internal static void CheckName(string name, string paramName, string what, int maxBytes)
    {
        if (Encoding.UTF8.GetMaxByteCount(name.Length) > maxBytes && Encoding.UTF8.GetByteCount(name) > maxBytes)
        {
            throw new ArgumentException(
                string.Format(CultureInfo.InvariantCulture, "The {0} is {1} characters long; at most {2} bytes (UTF-8) can be recorded. Nothing was recorded.", what, name.Length, maxBytes),
                paramName);
        }

        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsControl(name[i]))
            {
                throw new ArgumentException(
                    string.Format(CultureInfo.InvariantCulture, "The {0} has a control character or half a surrogate pair at position {1}; no usage can be recorded under it. Nothing was recorded.", what, i),
                    paramName);
            }
        }
    }

    internal void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Volatile.Read(ref _writerFault) is { } fault)
        {
            throw WriterStopped(fault);
        }
    }

    private static InvalidOperationException WriterStopped(Exception fault) => new(
        "The usage recorder's writer stopped after an unexpected error, so no usage can be made durable any more: nothing was recorded. Usage written before is in the ledger; restart the process. See the inner exception.",
        fault);

    /// <summary>The hour a given time is recorded in, after checking that it is neither in the future nor too old to bill.</summary>
    internal DateTimeOffset HourFor(DateTimeOffset at)
    {
        var now = Clock.GetUtcNow();
        if (at > now + AccumulationRules.ClockSkewAllowance)
        {
            throw new ArgumentOutOfRangeException(nameof(at), at, string.Format(CultureInfo.InvariantCulture, "The time {0:o} is in the future (now is {1:o}; {2:g} of clock skew is allowed). Nothing was recorded.", at, now, AccumulationRules.ClockSkewAllowance));
        }

        var hour = AccumulationRules.HourOf(at > now ? now : at);
        if (AccumulationRules.DeadlineOf(hour) <= now)
        {
            throw new ArgumentOutOfRangeException(nameof(at), at, string.Format(CultureInfo.InvariantCulture, "The time {0:o} is in an hour the service no longer accepts (its deadline {1:o} has passed: 24 hours after the hour began, less {2:g}). Nothing was recorded.", at, AccumulationRules.DeadlineOf(hour), AccumulationRules.SafetyMargin));
        }

        return hour;
    }

    internal void MarkDirty(UsageMeter meter) => _dirty.Enqueue(meter);

    /// <summary>Reads the clock, publishes the current hour and sets the timer for the next boundary (again at once if it fired early).</summary>
    private void TurnHour()
    {
        var now = Clock.GetUtcNow();
        var hour = AccumulationRules.HourOf(now);
        Volatile.Write(ref _currentHourTicks, hour.UtcTicks);
        if (Volatile.Read(ref _disposed) == 0)
        {
            try
            {
                _hourTimer?.Change(hour.AddHours(1) - now, Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
                // Disposed meanwhile.
            }
        }
    }

    internal Task CommitAsync(UsageDelta delta, CancellationToken cancellationToken, bool save = false)
    {
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_commits.Writer.TryWrite(new Commit(delta, completion, save)))
        {
            ThrowIfDisposed();
            throw new ObjectDisposedException(GetType().FullName);
        }

        return cancellationToken.CanBeCanceled ? completion.Task.WaitAsync(cancellationToken) : completion.Task;
    }

    /// <summary>
    /// Runs the writer. A failed write is handled inside (the sums go back and the callers learn it failed); anything
    /// else that stops the loop (an app's TimeProvider that throws, a fault of this library) would leave every caller
    /// waiting for good, so the callers waiting and every later call are told instead, and it is logged as critical.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "Whatever stopped the writer, its callers must be told rather than left waiting.")]
    private async Task WriteLoopAsync()
    {
        Writing.Value = this;
        var batch = new List<Commit>();
        try
        {
            await WriteLoopCoreAsync(batch).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Volatile.Write(ref _writerFault, e);
            _commits.Writer.TryComplete();
            CompleteAll(batch, WriterStopped(e));
            while (_commits.Reader.TryRead(out var commit))
            {
                commit.Completion.TrySetException(WriterStopped(e));
            }

            Report(() => AccumulationLog.WriterStopped(_logger, e));
        }
    }

    private async Task WriteLoopCoreAsync(List<Commit> batch)
    {
        var reader = _commits.Reader;
        var deltas = new List<UsageDelta>();
        var saved = new List<UsageDelta>();
        Task? interval = null;
        Task<bool>? readable = null;
        var open = true;
        while (open)
        {
            // One outstanding wait of each kind at a time: the next commit, or the end of the durability interval.
            interval ??= Task.Delay(_durabilityInterval, Clock, CancellationToken.None);
            readable ??= reader.WaitToReadAsync().AsTask();
            await Task.WhenAny(readable, interval).ConfigureAwait(false);

            // Whichever woke the loop: an interval that has passed is served now. (WhenAny names the first completed task
            // in argument order, so under a steady stream of RecordAsync callers "woke by the interval" was never true,
            // and Record's usage stayed only in memory for as long as the stream lasted.)
            var save = interval.IsCompleted;
            if (save)
            {
                // A second source for the current hour, should the boundary timer be late or the wall clock have jumped.
                Volatile.Write(ref _currentHourTicks, AccumulationRules.HourOf(Clock.GetUtcNow()).UtcTicks);
            }

            if (save)
            {
                interval = null;
            }

            if (readable.IsCompleted)
            {
                if (!await readable.ConfigureAwait(false))
                {
                    open = false;
                    save = true; // Disposing: write what is left.
                }

                readable = null;
            }

            batch.Clear();
            while (reader.TryRead(out var commit))
            {
                batch.Add(commit);
                save |= commit.Save;
            }

            deltas.Clear();
            saved.Clear();
            foreach (var commit in batch)
            {
                if (!commit.Save)
                {
                    deltas.Add(commit.Delta);
                }
            }

            if (save)
            {
                if (open)
                {
                    while (_dirty.TryDequeue(out var meter))
                    {
                        meter.TakePending(saved);
                    }
                }
                else
                {
                    // The last write: every meter, dirty or not (an add racing the dispose may not have queued its meter
                    // yet), is drained and closed at once, so no add returns after its usage could still be written.
                    TakeAllAndClose(saved);
                }

                deltas.AddRange(saved);
            }

            if (deltas.Count == 0)
            {
                CompleteAll(batch, null);
                continue;
            }

            IReadOnlyList<UsageCarryForward> moves;
            try
            {
                moves = await WriteAsync(deltas, last: !open).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Nothing is lost: the awaiting callers learn it failed, and in-memory sums go back for the next write.
                if (open)
                {
                    foreach (var delta in saved)
                    {
                        _meters.GetValueOrDefault(new MeterKey(delta.Resource, delta.PlanId, delta.Dimension))?.Restore(delta);
                    }
                }

                // Logged before the callers learn it failed, so that a caller that looks finds the entry there.
                ReportWriteFailed(deltas.Count, e);
                CompleteAll(batch, e);
                if (!open)
                {
                    ReportLost(saved, e);
                }

                continue;
            }

            // Committed. Only reported from here on: a logger or metric listener that throws must neither put the sums
            // back (they would be written, and billed, twice) nor stop the writer. The end of an outage is logged before
            // the callers learn the write succeeded, as a failure is.
            ReportWriteSucceeded();
            CompleteAll(batch, null);
            Report(() =>
            {
                foreach (var move in moves)
                {
                    AccumulationLog.CarriedForward(_logger, move.Resource.ToString(), move.Dimension, move.FromHour, move.IntoHour, move.Quantity);
                    AccumulationTelemetry.CarriedForward.Add(1, new KeyValuePair<string, object?>(AccumulationTelemetry.DimensionTag, move.Dimension));
                }
            });
        }
    }

    /// <summary>
    /// Adds the sums to the ledger. The last write (the recorder stopping) is tried a second time if the first try fails,
    /// since nothing writes these sums after it. The second try follows at once: disposing has no time limit of its own
    /// to wait within (a host's shutdown timeout bounds its hosted services, not the disposal of its container), and a
    /// process killed while waiting would lose the sums without naming them. A locked SQLite file is already waited for
    /// within each try (its busy timeout), and a connection the SQLite ledger opened read-only is not used again.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "Any failure of the first try is reported; the second try's failure is the caller's.")]
    private async Task<IReadOnlyList<UsageCarryForward>> WriteAsync(List<UsageDelta> deltas, bool last)
    {
        if (last)
        {
            try
            {
                return await Ledger.AddAsync(deltas, Clock.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                ReportWriteFailed(deltas.Count, e);
            }
        }

        return await Ledger.AddAsync(deltas, Clock.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>How often, at most, event 100 is logged while writes keep failing.</summary>
    internal static readonly TimeSpan FailureLogInterval = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Logs a failed write (event id 100): the first of an outage at once, then at most once every
    /// <see cref="FailureLogInterval"/> (by the recorder's clock) with how many writes failed since the previous entry,
    /// rather than every durability interval for as long as the ledger is down.
    /// </summary>
    private void ReportWriteFailed(int count, Exception error)
    {
        var now = Clock.GetTimestamp();
        _outageFailures++;
        _failuresNotLogged++;
        if (_outageStart is null)
        {
            _outageStart = Clock.GetUtcNow();
            _outageStartTimestamp = now;
        }
        else if (Clock.GetElapsedTime(_failureLoggedTimestamp, now) < FailureLogInterval)
        {
            return;
        }

        var (start, failures) = (_outageStart.Value, _failuresNotLogged);
        _failureLoggedTimestamp = now;
        _failuresNotLogged = 0;
        Report(() => AccumulationLog.CommitFailed(_logger, count, start, failures, error));
    }

    /// <summary>After writes failed, logs that one succeeded again and how long they failed (event id 119), and ends the outage.</summary>
    private void ReportWriteSucceeded()
    {
        if (_outageStart is not { } start)
        {
            return;
        }

        var (duration, failures) = (Clock.GetElapsedTime(_outageStartTimestamp), _outageFailures);
        (_outageStart, _outageFailures, _failuresNotLogged) = (null, 0, 0);
        Report(() => AccumulationLog.CommitRecovered(_logger, duration, start, failures));
    }

    /// <summary>Takes every meter's pending sum, dirty or not, and closes the meters: no add is taken after this.</summary>
    private void TakeAllAndClose(List<UsageDelta> into)
    {
        foreach (var meter in _meters.Values)
        {
            meter.TakePending(into, close: true);
        }

        _dirty.Clear();
    }

    /// <summary>Logs and counts, ignoring a failure of the app's logging or metrics: what was reported on has happened either way.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "A failing logging provider or metric listener is not the recorder's failure.")]
    private static void Report(Action report)
    {
        try
        {
            report();
        }
        catch (Exception)
        {
            // Nothing better to do: the log is what failed.
        }
    }

    private static void CompleteAll(List<Commit> batch, Exception? error)
    {
        foreach (var commit in batch)
        {
            if (error is null)
            {
                commit.Completion.TrySetResult();
            }
            else
            {
                commit.Completion.TrySetException(error);
            }
        }
    }

    private readonly record struct Commit(UsageDelta Delta, TaskCompletionSource Completion, bool Save);

    private readonly record struct MeterKey(UsageResource Resource, string PlanId, string Dimension)
    {
        public static readonly IEqualityComparer<MeterKey> Comparer = new KeyComparer();

        private sealed class KeyComparer : IEqualityComparer<MeterKey>
        {
            public bool Equals(MeterKey x, MeterKey y) =>
                x.Resource.Equals(y.Resource)
                && string.Equals(x.PlanId, y.PlanId, StringComparison.OrdinalIgnoreCase)
                && string.Equals(x.Dimension, y.Dimension, StringComparison.OrdinalIgnoreCase);

            public int GetHashCode(MeterKey key) => HashCode.Combine(
                key.Resource,
                key.PlanId is null ? 0 : StringComparer.OrdinalIgnoreCase.GetHashCode(key.PlanId),
                key.Dimension is null ? 0 : StringComparer.OrdinalIgnoreCase.GetHashCode(key.Dimension));
        }
    }
}
