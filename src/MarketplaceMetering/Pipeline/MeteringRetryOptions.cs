namespace MarketplaceMetering;

/// <summary>
/// How the client retries what is safe to retry: 408, 429, 500, 502, 503, 504, broken connections and per-attempt
/// timeouts. Delays grow exponentially from <see cref="Delay"/> with ±20 % jitter, up to <see cref="MaxDelay"/>; a
/// <c>Retry-After</c> from the service replaces the computed delay. 400, 403 and 409 are never retried. A retried POST
/// whose first attempt was recorded comes back as a replayed Duplicate, which counts as delivered.
/// </summary>
public sealed class MeteringRetryOptions
{
    internal MeteringRetryOptions()
    {
    }

    /// <summary>How many times a failed attempt is retried; 0 turns retries off.</summary>
    /// <value>The default is 3.</value>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The delay before the first retry; each further retry doubles it.</summary>
    /// <value>The default is 0.8 seconds.</value>
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(0.8);

    /// <summary>
    /// The longest the client waits between attempts. A <c>Retry-After</c> longer than this ends the retries: the
    /// call reports the throttling instead of waiting.
    /// </summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    internal void Validate(List<string> problems)
    {
        if (MaxRetries is < 0 or > 100)
        {
            problems.Add(MeteringClientOptions.Format("Retry.MaxRetries must be between 0 and 100; it is {0}.", MaxRetries));
        }

        if (Delay < TimeSpan.Zero)
        {
            problems.Add(MeteringClientOptions.Format("Retry.Delay must not be negative; it is {0}.", Delay));
        }

        if (MaxDelay < TimeSpan.Zero)
        {
            problems.Add(MeteringClientOptions.Format("Retry.MaxDelay must not be negative; it is {0}.", MaxDelay));
        }
        else if (MaxDelay < Delay)
        {
            problems.Add(MeteringClientOptions.Format("Retry.MaxDelay ({0}) must not be shorter than Retry.Delay ({1}).", MaxDelay, Delay));
        }
    }
}
