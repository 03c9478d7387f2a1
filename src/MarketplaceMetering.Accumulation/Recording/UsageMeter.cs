using System.Globalization;

namespace MarketplaceMetering;

/// <summary>
/// A pre-resolved handle on one resource, plan and dimension, for code that records the same meter often (as a
/// metrics library's counter is): <see cref="Add(decimal)"/> sums in memory under a lock held for a few instructions,
/// never waits for I/O and allocates nothing in the steady state. Get one from <see cref="UsageRecorder.GetMeter"/>.
/// </summary>
public sealed class UsageMeter
{
    private readonly Lock _lock = new();
    private readonly UsageRecorder _recorder;
    private long _hourTicks;
    private decimal _pending;
    private Dictionary<long, decimal>? _otherHours;
    private bool _dirty;

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
        UsageRecorder.CheckQuantity(quantity);
        _recorder.ThrowIfDisposed();
        AddToHour(AccumulationRules.HourOf(_recorder.Clock.GetUtcNow()).UtcTicks, quantity);
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
    /// <param name="cancellationToken">Stops waiting; the usage may still be recorded, as with any database commit.</param>
    /// <returns>A task that completes when the usage is committed.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The quantity or the time is out of range.</exception>
    public Task AddAsync(decimal quantity, DateTimeOffset? at = null, CancellationToken cancellationToken = default)
    {
        UsageRecorder.CheckQuantity(quantity);
        _recorder.ThrowIfDisposed();
        var hour = at is { } time ? _recorder.HourFor(time) : AccumulationRules.HourOf(_recorder.Clock.GetUtcNow());
        return _recorder.CommitAsync(new UsageDelta(Resource, PlanId, Dimension, hour, quantity), cancellationToken);
    }

    /// <summary>Returns the meter's resource, plan and dimension.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Resource} / {PlanId} / {Dimension}");

    private void AddToHour(long hourTicks, decimal quantity)
    {
        bool becameDirty;
        lock (_lock)
        {
            if (hourTicks == _hourTicks)
            {
                _pending = Sum(_pending, quantity);
            }
            else if (_pending == 0)
            {
                _hourTicks = hourTicks;
                _pending = quantity;
            }
            else
            {
                // Another hour than the current one: the less common case (an hour turned, or a time was given).
                _otherHours ??= [];
                _otherHours[hourTicks] = Sum(_otherHours.GetValueOrDefault(hourTicks), quantity);
            }

            becameDirty = !_dirty;
            _dirty = true;
        }

        if (becameDirty)
        {
            _recorder.MarkDirty(this);
        }
    }

    /// <summary>Moves the pending sums into <paramref name="deltas"/> and zeroes them.</summary>
    internal void TakePending(List<UsageDelta> deltas)
    {
        lock (_lock)
        {
            if (_pending != 0)
            {
                deltas.Add(new UsageDelta(Resource, PlanId, Dimension, new DateTimeOffset(_hourTicks, TimeSpan.Zero), _pending));
                _pending = 0;
            }

            if (_otherHours is { Count: > 0 })
            {
                foreach (var (ticks, quantity) in _otherHours)
                {
                    deltas.Add(new UsageDelta(Resource, PlanId, Dimension, new DateTimeOffset(ticks, TimeSpan.Zero), quantity));
                }

                _otherHours.Clear();
            }

            _dirty = false;
        }
    }

    /// <summary>Puts back a sum that could not be written, to be written with the next one.</summary>
    internal void Restore(UsageDelta delta) => AddToHour(delta.Hour.UtcTicks, delta.Quantity);

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
