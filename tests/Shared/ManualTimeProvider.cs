namespace MarketplaceMetering.Testing;

/// <summary>
/// A <see cref="TimeProvider"/> whose clock moves only when a test says so. Timers created through it
/// (Polly's delays and timeouts, <c>Task.Delay(d, timeProvider)</c>, token sources) fire when
/// <see cref="Advance"/> moves the clock past their due time. Tests wait for a timer to be scheduled with
/// <see cref="WaitForTimerAsync"/> instead of sleeping.
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private readonly List<TimeSpan> _scheduled = [];
    private DateTimeOffset _now;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ManualTimeProvider(DateTimeOffset start) => _now = start.ToUniversalTime();

    /// <summary>A clock at a fixed, arbitrary instant: 2026-11-20 10:17:23 UTC.</summary>
    public ManualTimeProvider()
        : this(new DateTimeOffset(2026, 11, 20, 10, 17, 23, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    /// <summary>Every due time a timer was scheduled with, in order (finite ones only).</summary>
    public IReadOnlyList<TimeSpan> ScheduledDueTimes
    {
        get
        {
            lock (_gate)
            {
                return _scheduled.ToArray();
            }
        }
    }

    /// <summary>Due times of the timers that are waiting now, relative to the current clock.</summary>
    public IReadOnlyList<TimeSpan> PendingTimers
    {
        get
        {
            lock (_gate)
            {
                return _timers.Where(t => t.DueAt is not null).Select(t => t.DueAt!.Value - _now).ToArray();
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves the clock forward and fires every timer that falls due, in due order.</summary>
    public void Advance(TimeSpan by)
    {
        if (by < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(by), "Time only moves forward.");
        }

        DateTimeOffset target;
        lock (_gate)
        {
            target = _now + by;
        }

        while (true)
        {
            ManualTimer? due;
            lock (_gate)
            {
                due = _timers.Where(t => t.DueAt is not null && t.DueAt <= target).OrderBy(t => t.DueAt).FirstOrDefault();
                if (due is null)
                {
                    _now = target;
                    break;
                }

                _now = due.DueAt!.Value;
                due.Rearm();
            }

            // Like a real timer, fire on a pool thread (not the test's, which may carry a synchronization context),
            // but wait for the callback so the test sees its effects when Advance returns.
            Task.Run(due.Fire).GetAwaiter().GetResult();
        }
    }

    /// <summary>Sets the clock to an instant (forward only), firing due timers.</summary>
    public void SetUtcNow(DateTimeOffset value) => Advance(value.ToUniversalTime() - GetUtcNow());

    /// <summary>
    /// Completes when a timer whose remaining time matches <paramref name="match"/> is pending
    /// (default: any finite timer). Fails after <paramref name="timeout"/> of real time, so a missing timer fails the test.
    /// </summary>
    public async Task<TimeSpan> WaitForTimerAsync(Func<TimeSpan, bool>? match = null, TimeSpan? timeout = null)
    {
        match ??= _ => true;
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                foreach (var t in _timers)
                {
                    if (t.DueAt is { } at && match(at - _now))
                    {
                        return at - _now;
                    }
                }

                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No matching timer was scheduled. Pending: [{string.Join(", ", PendingTimers)}].");
            }
        }
    }

    private void Signal()
    {
        TaskCompletionSource old;
        lock (_gate)
        {
            old = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        old.TrySetResult();
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public DateTimeOffset? DueAt { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                owner._timers.Remove(this);
                _period = period;
                if (dueTime == Timeout.InfiniteTimeSpan)
                {
                    DueAt = null;
                }
                else
                {
                    DueAt = owner._now + dueTime;
                    owner._timers.Add(this);
                    owner._scheduled.Add(dueTime);
                }
            }

            owner.Signal();
            return true;
        }

        // Called under the owner's lock when the timer fires.
        public void Rearm()
        {
            if (_period == Timeout.InfiniteTimeSpan || _period == TimeSpan.Zero)
            {
                DueAt = null;
                owner._timers.Remove(this);
            }
            else
            {
                DueAt = DueAt!.Value + _period;
            }
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (owner._gate)
            {
                DueAt = null;
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
