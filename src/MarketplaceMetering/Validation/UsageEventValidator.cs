namespace MarketplaceMetering;

/// <summary>
/// The checks that depend on the clock or on several events, made before anything is sent. Each failure is an
/// <see cref="ArgumentException"/> naming the parameter, the event's index and the field.
/// </summary>
internal static class UsageEventValidator
{
    /// <summary>How far back the service accepts usage.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromHours(24);

    /// <summary>How far in the future an effective start time may be, to allow for clocks that disagree slightly.</summary>
    public static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(5);

    /// <summary>How long before an event's 24-hour deadline the client stops scheduling retries for it.</summary>
    public static readonly TimeSpan DeadlineSafetyMargin = TimeSpan.FromMinutes(2);

    /// <summary>The largest batch the service accepts.</summary>
    public const int MaxBatchSize = 25;

    /// <summary>Returns what is wrong with the event's time, or <see langword="null"/>.</summary>
    public static string? CheckWindow(UsageEvent usageEvent, DateTimeOffset now) => CheckWindow(usageEvent, now, out _);

    /// <summary>Returns what is wrong with the event's time, or <see langword="null"/>; <paramref name="inFuture"/> tells which way.</summary>
    public static string? CheckWindow(UsageEvent usageEvent, DateTimeOffset now, out bool inFuture)
    {
        var time = usageEvent.EffectiveStartTime;
        inFuture = time > now + ClockSkewAllowance;
        if (inFuture)
        {
            return MeteringClientOptions.Format(
                "EffectiveStartTime {0:o} is in the future (now is {1:o} by the client's TimeProvider; {2:g} of clock skew is allowed).",
                time,
                now,
                ClockSkewAllowance);
        }

        if (time < now - Window)
        {
            return MeteringClientOptions.Format(
                "EffectiveStartTime {0:o} is more than 24 hours before now ({1:o} by the client's TimeProvider); the service no longer accepts this usage.",
                time,
                now);
        }

        return null;
    }

    /// <summary>The instant after which no retry may start for these events: the earliest one's expiry, less the margin.</summary>
    public static DateTimeOffset Deadline(IReadOnlyList<UsageEvent> usageEvents)
    {
        var earliest = usageEvents[0].EffectiveStartTime;
        for (var i = 1; i < usageEvents.Count; i++)
        {
            if (usageEvents[i].EffectiveStartTime < earliest)
            {
                earliest = usageEvents[i].EffectiveStartTime;
            }
        }

        return Deadline(earliest);
    }

    /// <summary>The instant after which no retry may start for an event with this effective start time.</summary>
    public static DateTimeOffset Deadline(DateTimeOffset effectiveStartTime) => effectiveStartTime + Window - DeadlineSafetyMargin;

    public static void ValidateSingle(UsageEvent? usageEvent, DateTimeOffset now, string paramName)
    {
        if (usageEvent is null)
        {
            throw new ArgumentNullException(paramName);
        }

        if (CheckWindow(usageEvent, now) is { } problem)
        {
            throw new ArgumentException(problem, paramName);
        }
    }

    public static void ValidateBatch(IReadOnlyList<UsageEvent?>? usageEvents, DateTimeOffset now, string paramName)
    {
        if (usageEvents is null)
        {
            throw new ArgumentNullException(paramName);
        }

        if (usageEvents.Count is 0 or > MaxBatchSize)
        {
            throw new ArgumentException(
                MeteringClientOptions.Format("A batch holds 1 to {0} events; this one has {1}.", MaxBatchSize, usageEvents.Count),
                paramName);
        }

        // At most 25 events: comparing each with those before it costs less than building a key (and its text) each.
        for (var i = 0; i < usageEvents.Count; i++)
        {
            var usageEvent = usageEvents[i] ?? throw new ArgumentException(MeteringClientOptions.Format("{0}[{1}] is null.", paramName, i), paramName);
            if (CheckWindow(usageEvent, now) is { } problem)
            {
                throw new ArgumentException(MeteringClientOptions.Format("{0}[{1}]: {2}", paramName, i, problem), paramName);
            }

            for (var first = 0; first < i; first++)
            {
                if (UsageEventKey.Same(usageEvents[first]!, usageEvent))
                {
                    throw new ArgumentException(
                        MeteringClientOptions.Format(
                            "{0}[{1}] and {0}[{2}] are for the same resource, dimension and hour ({3}); the service keeps one event per hour, so sum their quantities into one event.",
                            paramName,
                            first,
                            i,
                            UsageEventKey.Of(usageEvent)),
                        paramName);
                }
            }
        }
    }
}
