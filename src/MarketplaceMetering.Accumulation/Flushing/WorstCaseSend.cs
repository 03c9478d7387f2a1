using System.Globalization;

namespace MarketplaceMetering;

/// <summary>
/// The longest one send through a <see cref="MeteringClient"/> can take, from its public options, and whether a claim's
/// lease outlasts it comfortably. The client does not expose the figure, so it is computed here from the settings that
/// bound it: every attempt may run to <see cref="MeteringClientOptions.NetworkTimeout"/> (a token fetch and the one
/// resend after a 401 run inside it), and before each retry the client may wait up to
/// <see cref="MeteringRetryOptions.MaxDelay"/> (its back-off is capped there, and a Retry-After up to it is honoured):
/// <c>(Retry.MaxRetries + 1) × NetworkTimeout + Retry.MaxRetries × Retry.MaxDelay</c>. With the client's defaults,
/// 4 × 100 s + 3 × 30 s = 490 s.
/// </summary>
/// <remarks>
/// One bulk send of a claim's rows runs <see cref="MeteringClientOptions.MaxConcurrency"/> batch calls at a time, so a
/// claim of more than that many batches can take a multiple of this in the worst case; the figure is that of one call.
/// The flusher therefore stops sending a claim shortly before its lease ends (<see cref="UsageFlusher.StopMargin"/>),
/// a margin below half the lease, so a call that fits in half the lease is answered before it.
/// </remarks>
internal static class WorstCaseSend
{
    /// <summary>How many times the longest send the lease must be: it lapses while a send runs only if the send takes twice its worst case.</summary>
    public const int LeaseFactor = 2;

    /// <summary>The longest one send can take, or <see langword="null"/> when it has no limit (an infinite network timeout).</summary>
    public static TimeSpan? Of(MeteringClientOptions client)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (client.NetworkTimeout == Timeout.InfiniteTimeSpan)
        {
            return null;
        }

        var retries = client.Retry.MaxRetries;
        return (client.NetworkTimeout * (retries + 1)) + (client.Retry.MaxDelay * retries);
    }

    /// <summary>
    /// What is wrong when one send can take half of <paramref name="lease"/> or more (a sentence starting with
    /// <paramref name="leaseName"/>), or <see langword="null"/> when the lease outlasts it comfortably.
    /// </summary>
    public static string? Problem(TimeSpan lease, string leaseName, MeteringClientOptions client)
    {
        var worst = Of(client);
        if (worst is null)
        {
            return string.Format(
                CultureInfo.InvariantCulture,
                "{0} is {1:g}, but the MeteringClient's NetworkTimeout is infinite, so one send has no time limit and a claim's lease can end while its rows are still being sent; another instance then sends them again. Give the client a NetworkTimeout (with Retry.MaxRetries and Retry.MaxDelay, one send takes at most (MaxRetries + 1) × NetworkTimeout + MaxRetries × MaxDelay, which must be less than half of {0}).",
                leaseName,
                lease);
        }

        if (worst.Value * LeaseFactor < lease)
        {
            return null;
        }

        var retries = client.Retry.MaxRetries;
        var tooLong = string.Format(
            CultureInfo.InvariantCulture,
            "{0} is {1:g}, but one send through the MeteringClient can take up to {2:g} ({3} attempts of NetworkTimeout {4:g} with Retry.MaxRetries {5}, and {5} waits of up to Retry.MaxDelay {6:g}), more than half the lease: a claim whose lease ends while its rows are still being sent is taken by another instance, which sends them again. ",
            leaseName,
            lease,
            worst.Value,
            retries + 1,
            client.NetworkTimeout,
            retries,
            client.Retry.MaxDelay);

        // When no lease allowed outlasts it, only the client's settings can change.
        return tooLong + (worst.Value * LeaseFactor >= UsageAccumulationOptions.MaxLeaseDuration
            ? string.Format(
                CultureInfo.InvariantCulture,
                "{0} is at most {1:g}, so lower the client's NetworkTimeout, Retry.MaxRetries or Retry.MaxDelay until one send takes less than {2:g}.",
                leaseName,
                UsageAccumulationOptions.MaxLeaseDuration,
                UsageAccumulationOptions.MaxLeaseDuration / LeaseFactor)
            : string.Format(
                CultureInfo.InvariantCulture,
                "Make {0} longer than {1:g}, or lower the client's NetworkTimeout, Retry.MaxRetries or Retry.MaxDelay.",
                leaseName,
                worst.Value * LeaseFactor));
    }
}
