using Microsoft.Extensions.Time.Testing;

namespace MarketplaceMetering.Testing;

/// <summary>
/// The tests' clock: a <see cref="FakeTimeProvider"/> (Microsoft.Extensions.TimeProvider.Testing) that starts at
/// 2026-11-20 10:17:23 UTC and keeps a record of the timers created through it. The library moves time and fires the
/// timers (Polly's delays and timeouts, <c>Task.Delay(d, clock)</c>, token sources) when a test calls
/// <see cref="FakeTimeProvider.Advance(TimeSpan)"/>; the record lets a test wait until the code under test has
/// scheduled the delay or timeout it expects (<see cref="WaitForTimerAsync"/>) before moving the clock, instead of
/// sleeping.
/// </summary>
/// <remarks>
/// The one part written here is that record. <see cref="FakeTimeProvider"/> keeps its timers in an internal list and
/// has no way to ask which are pending, which due times they were given, or to wait until one is created, so
/// <see cref="CreateTimer"/> wraps each of the library's timers to note its due time and whether it is still pending.
/// Scheduling and firing stay the library's: a callback runs on the thread that moves the clock (or creates an
/// already-due timer), and <see cref="FakeTimeProvider.Advance(TimeSpan)"/> moves the clock to its target before it
/// fires what fell due.
/// </remarks>
public sealed class TestClock : FakeTimeProvider
{
    /// <summary>The instant every test clock starts at unless told otherwise: 2026-11-20 10:17:23 UTC.</summary>
    public static readonly DateTimeOffset DefaultStart = new(2026, 11, 20, 10, 17, 23, TimeSpan.Zero);

    private readonly object _gate = new();
    private readonly List<TimeSpan> _scheduled = [];
    private readonly HashSet<RecordedTimer> _pending = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TestClock()
        : this(DefaultStart)
    {
    }

    public TestClock(DateTimeOffset start)
        : base(start.ToUniversalTime())
    {
    }

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
            var now = GetUtcNow();
            lock (_gate)
            {
                return _pending.Select(t => t.DueAt - now).ToArray();
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new RecordedTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>
    /// Completes when a timer whose remaining time matches <paramref name="match"/> is pending (default: any finite
    /// timer), and returns that remaining time. Fails after <paramref name="timeout"/> of real time (20 s by default),
    /// so a timer that is never scheduled fails the test.
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
                changed = _changed.Task;
            }

            var found = PendingTimers.Where(match).Select(d => (TimeSpan?)d).FirstOrDefault();
            if (found is { } remaining)
            {
                return remaining;
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

    // The library's own timer, unscheduled; RecordedTimer schedules it.
    private ITimer CreateLibraryTimer(TimerCallback fire) =>
        base.CreateTimer(fire, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

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

    /// <summary>One of the library's timers, with its due time noted for <see cref="WaitForTimerAsync"/>.</summary>
    private sealed class RecordedTimer : ITimer
    {
        private readonly TestClock _owner;
        private readonly TimerCallback _callback;
        private readonly object? _state;
        private readonly ITimer _inner;
        private TimeSpan _period;

        public RecordedTimer(TestClock owner, TimerCallback callback, object? state)
        {
            _owner = owner;
            _callback = callback;
            _state = state;
            _inner = owner.CreateLibraryTimer(_ => Fire());
        }

        /// <summary>When the timer falls due; meaningful while it is pending.</summary>
        public DateTimeOffset DueAt { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            // Noted before the library schedules it: a timer already due fires inside _inner.Change.
            var now = _owner.GetUtcNow();
            lock (_owner._gate)
            {
                _period = period;
                _owner._pending.Remove(this);
                if (dueTime != Timeout.InfiniteTimeSpan)
                {
                    DueAt = now + dueTime;
                    _owner._pending.Add(this);
                    _owner._scheduled.Add(dueTime);
                }
            }

            var changed = _inner.Change(dueTime, period);
            _owner.Signal();
            return changed;
        }

        public void Dispose()
        {
            lock (_owner._gate)
            {
                _owner._pending.Remove(this);
            }

            _inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }

        private void Fire()
        {
            lock (_owner._gate)
            {
                if (_period > TimeSpan.Zero)
                {
                    DueAt += _period;
                }
                else
                {
                    _owner._pending.Remove(this);
                }
            }

            _callback(_state);
        }
    }
}
