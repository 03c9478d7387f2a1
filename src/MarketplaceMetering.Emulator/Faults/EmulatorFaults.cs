using System.Diagnostics.CodeAnalysis;
using MarketplaceMetering.Emulator.Faults;

namespace MarketplaceMetering.Emulator;

/// <summary>
/// Run-time fault control. Each <c>/api</c> request takes the next queued fault, if any; otherwise the
/// probabilities in <see cref="Settings"/> are drawn from one random source, seeded by
/// <see cref="MeteringEmulatorOptions.Seed"/> so a run can be replayed. Thread-safe.
/// </summary>
public sealed class EmulatorFaults
{
    private readonly Lock _gate = new();
    private readonly Queue<EmulatorFault> _queue = new();
    private readonly Random _random;

    [SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "Fault draws must be reproducible from a seed; nothing here is security-sensitive.")]
    internal EmulatorFaults(EmulatorFaultSettings initial, int? seed)
    {
        Settings = new EmulatorFaultSettings();
        Settings.Apply(initial.Snapshot());
        _random = seed is { } value ? new Random(value) : new Random();
    }

    /// <summary>Gets the probabilities in force; change them at any time.</summary>
    public EmulatorFaultSettings Settings { get; }

    /// <summary>Gets the number of queued faults not yet consumed.</summary>
    public int Pending
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>
    /// Queues faults to apply, one per <c>/api</c> request in arrival order, before any probability is consulted.
    /// Use <see cref="EmulatorFault.None"/> to let a request through untouched.
    /// </summary>
    /// <param name="faults">The faults, in order.</param>
    public void Enqueue(params EmulatorFault[] faults)
    {
        ArgumentNullException.ThrowIfNull(faults);
        if (Array.IndexOf(faults, null) >= 0)
        {
            throw new ArgumentException("A queued fault cannot be null; use EmulatorFault.None.", nameof(faults));
        }

        lock (_gate)
        {
            foreach (var fault in faults)
            {
                _queue.Enqueue(fault);
            }
        }
    }

    /// <summary>Clears the queue and sets every probability and latency to zero.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _queue.Clear();
            Settings.Apply(new FaultSettingsSnapshot(0, Settings.ThrottleRetryAfter, 0, 0, TimeSpan.Zero, TimeSpan.Zero));
        }
    }

    /// <summary>Decides the fault for the next <c>/api</c> request.</summary>
    [SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "Fault draws must be reproducible from a seed; nothing here is security-sensitive.")]
    internal FaultDecision Next()
    {
        lock (_gate)
        {
            var settings = Settings.Snapshot();
            if (_queue.TryDequeue(out var queued))
            {
                return queued switch
                {
                    EmulatorFault.LatencyFault latency => new FaultDecision(latency.Delay, EmulatorFault.None),
                    EmulatorFault.ThrottleFault { RetryAfter: null } => new FaultDecision(TimeSpan.Zero, EmulatorFault.Throttle(settings.ThrottleRetryAfter)),
                    _ => new FaultDecision(TimeSpan.Zero, queued),
                };
            }

            var latencyDrawn = TimeSpan.Zero;
            if (settings.MaxLatency > TimeSpan.Zero)
            {
                var low = settings.MinLatency <= settings.MaxLatency ? settings.MinLatency : settings.MaxLatency;
                var spread = (settings.MaxLatency - low).Ticks;
                latencyDrawn = low + TimeSpan.FromTicks((long)(_random.NextDouble() * spread));
            }

            var total = settings.ThrottleProbability + settings.ServerErrorProbability + settings.DropAfterAcceptProbability;
            if (total <= 0)
            {
                return new FaultDecision(latencyDrawn, EmulatorFault.None);
            }

            var draw = _random.NextDouble();
            EmulatorFault action;
            if (draw < settings.ThrottleProbability)
            {
                action = EmulatorFault.Throttle(settings.ThrottleRetryAfter);
            }
            else if (draw < settings.ThrottleProbability + settings.ServerErrorProbability)
            {
                action = EmulatorFault.ServerError(_random.Next(2) == 0 ? 500 : 503);
            }
            else if (draw < total)
            {
                action = EmulatorFault.DropAfterAccept();
            }
            else
            {
                action = EmulatorFault.None;
            }

            return new FaultDecision(latencyDrawn, action);
        }
    }
}
