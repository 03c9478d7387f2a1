namespace MarketplaceMetering;

/// <summary>
/// How the client retries what is safe to retry: 408, 429, every 5xx but 501 and 505, broken connections, per-attempt
/// timeouts and failures to obtain a token that may pass (the identity endpoint unreachable or answering 5xx). Delays grow exponentially from <see cref="Delay"/> with ±20 % jitter, up to <see cref="MaxDelay"/>; a
/// <c>Retry-After</c> from the service replaces the computed delay. 400, 403 and 409 are never retried. A retried POST
/// whose first attempt was recorded comes back as a replayed Duplicate, which counts as delivered.
/// </summary>
public sealed class MeteringRetryOptions
{
    // No wait longer than the 24 hours a usage event lives is meaningful; longer ones overflow timers.
    private static readonly TimeSpan Limit = TimeSpan.FromDays(1);

    internal MeteringRetryOptions()
    {
    }

    /// <summary>How many times a failed attempt is retried; 0 turns retries off.</summary>
    /// <value>The default is 3.</value>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The delay before the first retry; each further retry doubles it. Zero to one day.</summary>
    /// <value>The default is 0.8 seconds.</value>
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(0.8);

    /// <summary>
    /// The longest the client waits between attempts. A <c>Retry-After</c> longer than this ends the retries: the
    /// call reports the throttling instead of waiting. Zero to one day.
    /// </summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    internal void Validate(List<(string Setting, string Problem)> problems)
    {
        if (MaxRetries is < 0 or > 100)
        {
            problems.Add(("Retry.MaxRetries", MeteringClientOptions.Format("must be between 0 and 100; it is {0}.", MaxRetries)));
        }

        if (Delay < TimeSpan.Zero || Delay > Limit)
        {
            problems.Add(("Retry.Delay", MeteringClientOptions.Format("must be between zero and {0:g}; it is {1:g}.", Limit, Delay)));
        }

        if (MaxDelay < TimeSpan.Zero || MaxDelay > Limit)
        {
            problems.Add(("Retry.MaxDelay", MeteringClientOptions.Format("must be between zero and {0:g} (usage expires after 24 hours); it is {1:g}.", Limit, MaxDelay)));
        }
        else if (MaxDelay < Delay)
        {
            problems.Add(("Retry.MaxDelay", MeteringClientOptions.Format("({0}) must not be shorter than Retry.Delay ({1}).", MaxDelay, Delay)));
        }
    }
}
