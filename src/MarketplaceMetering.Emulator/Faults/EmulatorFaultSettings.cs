using System.Runtime.CompilerServices;
using MarketplaceMetering.Emulator.Faults;

namespace MarketplaceMetering.Emulator;

/// <summary>
/// Probabilities of faults applied to <c>/api</c> requests when no fault is queued. Each request first gets a
/// latency drawn uniformly from [<see cref="MinLatency"/>, <see cref="MaxLatency"/>] when
/// <see cref="MaxLatency"/> is above zero, then one draw decides between throttling, a server error, a dropped
/// answer or normal processing. All zero by default. Thread-safe.
/// </summary>
public sealed class EmulatorFaultSettings
{
    private readonly Lock _gate = new();
    private double _throttleProbability;
    private TimeSpan _throttleRetryAfter = TimeSpan.FromSeconds(1);
    private double _serverErrorProbability;
    private double _dropAfterAcceptProbability;
    private TimeSpan _minLatency;
    private TimeSpan _maxLatency;

    /// <summary>Gets or sets the probability (0 to 1) of a 429 answer. <value>The default is 0.</value></summary>
    public double ThrottleProbability
    {
        get => Read(ref _throttleProbability);
        set => Write(ref _throttleProbability, CheckProbability(value));
    }

    /// <summary>
    /// Gets or sets the <c>Retry-After</c> sent with a 429 (rounded up to whole seconds), for drawn throttles and for
    /// queued ones without their own. <value>The default is 1 second.</value>
    /// </summary>
    public TimeSpan ThrottleRetryAfter
    {
        get => Read(ref _throttleRetryAfter);
        set => Write(ref _throttleRetryAfter, CheckDuration(value));
    }

    /// <summary>Gets or sets the probability (0 to 1) of a 500 or 503 answer (even odds). <value>The default is 0.</value></summary>
    public double ServerErrorProbability
    {
        get => Read(ref _serverErrorProbability);
        set => Write(ref _serverErrorProbability, CheckProbability(value));
    }

    /// <summary>
    /// Gets or sets the probability (0 to 1) that a request is processed and recorded but its connection is then
    /// aborted without an answer. <value>The default is 0.</value>
    /// </summary>
    public double DropAfterAcceptProbability
    {
        get => Read(ref _dropAfterAcceptProbability);
        set => Write(ref _dropAfterAcceptProbability, CheckProbability(value));
    }

    /// <summary>Gets or sets the least added latency (real time), up to one day. <value>The default is zero.</value></summary>
    public TimeSpan MinLatency
    {
        get => Read(ref _minLatency);
        set => Write(ref _minLatency, CheckLatency(value));
    }

    /// <summary>
    /// Gets or sets the most added latency (real time), up to one day; zero turns added latency off.
    /// <value>The default is zero.</value>
    /// </summary>
    public TimeSpan MaxLatency
    {
        get => Read(ref _maxLatency);
        set => Write(ref _maxLatency, CheckLatency(value));
    }

    /// <summary>The longest added latency: what the admin API allows, and well within what a timer can wait.</summary>
    internal static TimeSpan LongestLatency { get; } = TimeSpan.FromDays(1);

    internal FaultSettingsSnapshot Snapshot()
    {
        lock (_gate)
        {
            return new FaultSettingsSnapshot(
                _throttleProbability,
                _throttleRetryAfter,
                _serverErrorProbability,
                _dropAfterAcceptProbability,
                _minLatency,
                _maxLatency);
        }
    }

    /// <summary>Sets every value at once, so a request never sees half of a change.</summary>
    internal void Apply(FaultSettingsSnapshot values)
    {
        CheckProbability(values.ThrottleProbability, nameof(ThrottleProbability));
        CheckProbability(values.ServerErrorProbability, nameof(ServerErrorProbability));
        CheckProbability(values.DropAfterAcceptProbability, nameof(DropAfterAcceptProbability));
        CheckDuration(values.ThrottleRetryAfter, nameof(ThrottleRetryAfter));
        CheckLatency(values.MinLatency, nameof(MinLatency));
        CheckLatency(values.MaxLatency, nameof(MaxLatency));
        lock (_gate)
        {
            _throttleProbability = values.ThrottleProbability;
            _throttleRetryAfter = values.ThrottleRetryAfter;
            _serverErrorProbability = values.ServerErrorProbability;
            _dropAfterAcceptProbability = values.DropAfterAcceptProbability;
            _minLatency = values.MinLatency;
            _maxLatency = values.MaxLatency;
        }
    }

    private static double CheckProbability(double value, [CallerMemberName] string name = "")
    {
        if (double.IsNaN(value) || value < 0 || value > 1)
        {
            throw new ArgumentOutOfRangeException(name, value, "A probability is between 0 and 1.");
        }

        return value;
    }

    private static TimeSpan CheckDuration(TimeSpan value, [CallerMemberName] string name = "")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero, name);
        return value;
    }

    private static TimeSpan CheckLatency(TimeSpan value, [CallerMemberName] string name = "")
    {
        CheckDuration(value, name);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, LongestLatency, name);
        return value;
    }

    private T Read<T>(ref T field)
    {
        lock (_gate)
        {
            return field;
        }
    }

    private void Write<T>(ref T field, T value)
    {
        lock (_gate)
        {
            field = value;
        }
    }
}
