using System.Globalization;

namespace MarketplaceMetering;

/// <summary>
/// A pre-resolved handle on one resource, plan and dimension, for code that records the same meter often (as a
/// metrics library's counter is): <see cref="Add(decimal)"/> sums in memory, never waits for I/O and allocates nothing
/// in the steady state. Get one from <see cref="UsageRecorder.GetMeter"/>.
/// </summary>
/// <remarks>
/// Whole quantities (scale 0, the common <c>1m</c>) are summed with one interlocked addition into a 64-bit count;
/// others under a lock, in <see cref="decimal"/>. Both are exact. <see cref="Add(decimal)"/> files usage under the hour
/// the recorder last saw turn (a timer at each hour boundary, re-checked with every durability interval), so usage
/// recorded within milliseconds of the boundary may land in the neighbouring hour; give a time to
/// <see cref="Add(decimal, DateTimeOffset)"/> when that matters.
/// </remarks>
public sealed class UsageMeter
{
    // The count at which fast-added whole units are folded into the decimal sum (far from overflow; each add is below 2^32).
    private const long FoldThreshold = 1L << 62;

    // Fast adds are allowed while the decimal sum is below 2^95: with at most 2^62 + 2^32 units on top, no sum can overflow.
    private static readonly decimal FastSumLimit = (decimal)Math.Pow(2, 95);

    // The count a closed meter holds (see Close): far below zero, so every fast add that lands after the close sees a
    // negative count and fails, while every add that landed before it was taken by the close.
    private const long ClosedUnits = long.MinValue / 2;

    private readonly Lock _lock = new();
    private readonly UsageRecorder _recorder;
    private long _hourTicks;
    private long _units;
    private decimal _pending;
    private Dictionary<long, decimal>? _otherHours;
    private List<UsageDelta>? _unmerged;
    private int _dirty;
    private bool _closed;
    private volatile bool _fastAllowed = true;

    internal UsageMeter(UsageRecorder recorder, UsageResource resource, string planId, string dimension)
    {
        _recorder = recorder;
        Resource = resource;
        PlanId = planId;
        Dimension = dimension;
    }

    /// <summary>Gets the resource.</summary>
    public UsageResource Resource { get; }

    /// <summary>Gets the plan id.</summary>
    public string PlanId { get; }

    /// <summary>Gets the dimension.</summary>
    public string Dimension { get; }

    /// <summary>Adds usage that happened now. It is durable in the ledger within the recorder's durability interval.</summary>
    /// <param name="quantity">The units consumed; greater than zero.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="quantity"/> is zero or negative, or would overflow the hour's sum.</exception>
    /// <exception cref="ObjectDisposedException">The recorder is disposed.</exception>
    public void Add(decimal quantity)
    {
        // The hot path: a positive whole quantity below 2^32 (the decimal's flags, middle and high words are zero) is
        // added with no lock and no decimal arithmetic. (A drain that runs at the same moment either takes it, or finds
        // the meter marked dirty again.)
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(quantity, bits);
        var hour = _recorder.CurrentHourTicks;
        if ((bits[1] | bits[2] | bits[3]) == 0 && bits[0] != 0 && hour == Volatile.Read(ref _hourTicks) && _fastAllowed)
        {
            _recorder.ThrowIfDisposed();
            var units = Interlocked.Add(ref _units, (uint)bits[0]);
            // Negative: the recorder closed the meter between the check above and the addition; not taken, so not recorded.
            ObjectDisposedException.ThrowIf(units < 0, _recorder);

            if (units > FoldThreshold)
            {
                lock (_lock)
                {
                    if (!_closed)
                    {
                        SetPending(Sum(_pending, Interlocked.Exchange(ref _units, 0)));
                    }
                }
            }

            MarkDirty();
            return;
        }

        UsageRecorder.CheckQuantity(quantity);
        _recorder.ThrowIfDisposed();
        AddToHour(hour, quantity);
    }

    /// <summary>Adds usage that happened at <paramref name="at"/>. It is durable in the ledger within the recorder's durability interval.</summary>
    /// <param name="quantity">The units consumed; greater than zero.</param>
    /// <param name="at">When it happened: not in the future (beyond 5 minutes of clock skew), and in an hour the service still accepts.</param>
    /// <exception cref="ArgumentOutOfRangeException">The quantity or the time is out of range.</exception>
    /// <exception cref="ObjectDisposedException">The recorder is disposed.</exception>
    public void Add(decimal quantity, DateTimeOffset at)
    {
        UsageRecorder.CheckQuantity(quantity);
        _recorder.ThrowIfDisposed();
        AddToHour(_recorder.HourFor(at).UtcTicks, quantity);
    }

    /// <summary>Adds usage and completes once it is durable in the ledger (concurrent callers share one transaction).</summary>
    /// <param name="quantity">The units consumed; greater than zero.</param>
    /// <param name="at">When it happened, or <see langword="null"/> for now.</param>
    /// <param name="cancellationToken">Stops waiting; the usage may still be recorded, as with any database commit. Already cancelled: nothing is recorded.</param>
    /// <returns>A task that completes when the usage is committed.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The quantity or the time is out of range.</exception>
    public Task AddAsync(decimal quantity, DateTimeOffset? at = null, CancellationToken cancellationToken = default)
    {
        UsageRecorder.CheckQuantity(quantity);
        _recorder.ThrowIfDisposed();
        var hour = at is { } time ? _recorder.HourFor(time) : AccumulationRules.HourOf(_recorder.Clock.GetUtcNow());
        if (cancellationToken.IsCancellationRequested)
        {
            // Cancelled before it began: nothing is queued, so a caller that records it again counts it once.
            return Task.FromCanceled(cancellationToken);
        }

        return _recorder.CommitAsync(new UsageDelta(Resource, PlanId, Dimension, hour, quantity), cancellationToken);
    }

    /// <summary>Returns the meter's resource, plan and dimension.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Resource} / {PlanId} / {Dimension}");

    private void AddToHour(long hourTicks, decimal quantity)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_closed, _recorder);
            if (hourTicks == _hourTicks)
            {
                // The units added without the lock are folded in first, so the check is made on the whole sum: checked
                // without them, a sum could pass that a later drain (pending + units) could not take, failing every write.
                SetPending(Sum(FoldUnits(), quantity));
            }
            else if (hourTicks > _hourTicks)
            {
                // The hour turned: what the old hour holds is kept under its own hour, and the new one becomes current.
                var held = Sum(_pending, Interlocked.Exchange(ref _units, 0));
                if (held != 0)
                {
                    _otherHours ??= [];
                    _otherHours[_hourTicks] = Sum(_otherHours.GetValueOrDefault(_hourTicks), held);
                }

                Volatile.Write(ref _hourTicks, hourTicks);
                SetPending(quantity);
            }
            else
            {
                // An earlier hour, given by time.
                _otherHours ??= [];
                _otherHours[hourTicks] = Sum(_otherHours.GetValueOrDefault(hourTicks), quantity);
            }
        }

        MarkDirty();
    }

    /// <summary>Moves the units added without the lock into the current hour's decimal sum (under the lock) and returns it.</summary>
    private decimal FoldUnits()
    {
        var units = Interlocked.Exchange(ref _units, 0);
        if (units != 0)
        {
            // Cannot overflow: fast adds stop once the sum reaches FastSumLimit, far below decimal.MaxValue.
            SetPending(_pending + units);
        }

        return _pending;
    }

    /// <summary>Sets the current hour's decimal sum (under the lock), and whether fast adds may go on top of it.</summary>
    private void SetPending(decimal pending)
    {
        _pending = pending;
        _fastAllowed = pending < FastSumLimit;
    }

    /// <summary>Queues the meter for the next write, once until it is drained.</summary>
    private void MarkDirty()
    {
        if (Volatile.Read(ref _dirty) == 0 && Interlocked.CompareExchange(ref _dirty, 1, 0) == 0)
        {
            _recorder.MarkDirty(this);
        }
    }

    /// <summary>
    /// Moves the pending sums into <paramref name="deltas"/> and zeroes them; with <paramref name="close"/> (the recorder's
    /// last write), also closes the meter in the same step, so that each add either lands before it and is taken here,
    /// or after it and throws <see cref="ObjectDisposedException"/>: none returns without being written.
    /// </summary>
    internal void TakePending(List<UsageDelta> deltas, bool close = false)
    {
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }

            // Cleared before the units are taken: an add that lands after the exchange then sees the meter clean and queues it again.
            Interlocked.Exchange(ref _dirty, 0);
            var current = Sum(_pending, Interlocked.Exchange(ref _units, close ? ClosedUnits : 0));
            _closed = close;
            if (current != 0)
            {
                deltas.Add(new UsageDelta(Resource, PlanId, Dimension, new DateTimeOffset(_hourTicks, TimeSpan.Zero), current));
                SetPending(0);
            }

            if (_otherHours is { Count: > 0 })
            {
                foreach (var (ticks, quantity) in _otherHours)
                {
                    deltas.Add(new UsageDelta(Resource, PlanId, Dimension, new DateTimeOffset(ticks, TimeSpan.Zero), quantity));
                }

                _otherHours.Clear();
            }

            if (_unmerged is { Count: > 0 })
            {
                deltas.AddRange(_unmerged);
                _unmerged.Clear();
            }
        }
    }

    /// <summary>
    /// Puts back a sum that could not be written, to be written with the next one. Never throws (it runs in the
    /// recorder's writer, which must go on): a sum that cannot go on top of what the meter took meanwhile (together they
    /// would pass <see cref="decimal.MaxValue"/>) is kept beside it as a delta of its own, and the ledger moves it on to
    /// a later hour as it moves any delta a row cannot hold (a carry-forward, logged and kept).
    /// </summary>
    internal void Restore(UsageDelta delta)
    {
        lock (_lock)
        {
            var ticks = delta.Hour.UtcTicks;
            if (ticks == _hourTicks && TrySum(FoldUnits(), delta.Quantity, out var sum))
            {
                SetPending(sum);
            }
            else if (ticks < _hourTicks && TrySum(_otherHours?.GetValueOrDefault(ticks) ?? 0m, delta.Quantity, out sum))
            {
                (_otherHours ??= [])[ticks] = sum;
            }
            else
            {
                (_unmerged ??= []).Add(delta);
            }
        }

        MarkDirty();
    }

    private static bool TrySum(decimal sum, decimal quantity, out decimal result)
    {
        if (quantity <= decimal.MaxValue - sum)
        {
            result = sum + quantity;
            return true;
        }

        result = sum;
        return false;
    }

    private static decimal Sum(decimal sum, decimal quantity)
    {
        try
        {
            return checked(sum + quantity);
        }
        catch (OverflowException)
        {
            throw new ArgumentOutOfRangeException(nameof(quantity), quantity, "Adding this quantity would overflow the hour's sum (decimal.MaxValue); nothing was added.");
        }
    }
}
