using System.Net;
using System.Net.Sockets;
using Polly;
using Polly.Timeout;

namespace MarketplaceMetering;

/// <summary>
/// What is retried, and after how long. Decided in one place so the predicate can refuse a retry that would wait
/// longer than <see cref="MeteringRetryOptions.MaxDelay"/> (a long Retry-After) or start past the request's deadline.
/// </summary>
internal sealed class RetryPolicy
{
    private static readonly string[] RetryAfterMsHeaders = ["retry-after-ms", "x-ms-retry-after-ms"];

    private readonly MeteringRetryOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly Func<double> _random;

    public RetryPolicy(MeteringRetryOptions options, TimeProvider timeProvider, Func<double>? random = null)
    {
        _options = options;
        _timeProvider = timeProvider;
        _random = random ?? Jitter.NextDouble;
    }

    /// <summary>
    /// 408, 429, and every 5xx but 501 (Not Implemented) and 505 (HTTP Version Not Supported), which will not change
    /// by themselves. Gateways in front of the service answer 5xx codes beyond the standard ones (507, 520–524).
    /// </summary>
    public static bool IsTransientStatus(int statusCode) => statusCode is 408 or 429 or (>= 500 and < 600 and not 501 and not 505);

    /// <summary>Whether the outcome is worth another attempt at all, whatever the delay.</summary>
    public static bool IsTransient(Outcome<RawResponse> outcome, CancellationToken callerToken)
    {
        if (outcome.Exception is { } e)
        {
            return e switch
            {
                TimeoutRejectedException => true,
                TokenUnavailableException => true,
                HttpRequestException => true,
                IOException => true,
                SocketException => true,
                WebException => true,
                OperationCanceledException => !callerToken.IsCancellationRequested, // an HttpClient.Timeout, not the caller
                _ => false,
            };
        }

        return outcome.Result is { } response && IsTransientStatus(response.StatusCode);
    }

    /// <summary>
    /// Decides whether to retry after <paramref name="attempt"/> (0 for the first), and if so stores the delay in
    /// <see cref="MeteringRequest.NextDelay"/>. <see cref="MeteringRequest.StopReason"/> is set only when a transient
    /// outcome is not retried early (a long Retry-After, the deadline); that outcome is then the call's last.
    /// </summary>
    public bool ShouldRetry(MeteringRequest request, Outcome<RawResponse> outcome, int attempt, CancellationToken callerToken)
    {
        if (!IsTransient(outcome, callerToken) || attempt >= _options.MaxRetries)
        {
            return false;
        }

        var delay = ComputeDelay(attempt, outcome.Result?.RetryAfter);
        if (delay is null)
        {
            request.StopReason = MeteringClientOptions.Format(
                "the service asked to wait {0:g} (Retry-After), longer than Retry.MaxDelay {1:g}",
                outcome.Result!.RetryAfter,
                _options.MaxDelay);
            return false;
        }

        if (request.Deadline is { } deadline && _timeProvider.GetUtcNow() + delay.Value >= deadline)
        {
            request.StopReason = MeteringClientOptions.Format(
                "a retry in {0:g} would start after the events' deadline {1:o} (24 hours after the earliest effective start time, less a safety margin)",
                delay.Value,
                deadline);
            return false;
        }

        request.NextDelay = delay.Value;
        return true;
    }

    /// <summary>
    /// Retry-After when the service sent one (<see langword="null"/> when it exceeds MaxDelay); otherwise
    /// Delay × 2^attempt with ±20 % jitter, capped at MaxDelay.
    /// </summary>
    public TimeSpan? ComputeDelay(int attempt, TimeSpan? retryAfter)
    {
        if (retryAfter is { } asked)
        {
            if (asked < TimeSpan.Zero)
            {
                asked = TimeSpan.Zero;
            }

            return asked > _options.MaxDelay ? null : asked;
        }

        var exponential = _options.Delay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30));
        var jittered = exponential * (0.8 + (0.4 * _random()));
        return TimeSpan.FromMilliseconds(Math.Min(jittered, _options.MaxDelay.TotalMilliseconds));
    }

    /// <summary>Reads Retry-After (seconds or an HTTP date) and Azure's retry-after-ms / x-ms-retry-after-ms.</summary>
    public static TimeSpan? ReadRetryAfter(HttpResponseMessage response, TimeProvider timeProvider)
    {
        foreach (var name in RetryAfterMsHeaders)
        {
            if (response.Headers.TryGetValues(name, out var values)
                && double.TryParse(values.FirstOrDefault(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var ms)
                && ms >= 0 && ms < TimeSpan.MaxValue.TotalMilliseconds)
            {
                return TimeSpan.FromMilliseconds(ms);
            }
        }

        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            return delta;
        }

        if (retryAfter?.Date is { } date)
        {
            var wait = date - timeProvider.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    public static string Describe(Outcome<RawResponse> outcome) => outcome.Exception switch
    {
        TimeoutRejectedException => "no answer within the network timeout",
        { } e => e.GetType().Name + ": " + e.Message,
        null => MeteringClientOptions.Format("HTTP {0}", outcome.Result!.StatusCode),
    };
}

/// <summary>A thread-safe source of jitter on every target framework.</summary>
internal static class Jitter
{
#if NET
    public static double NextDouble() => Random.Shared.NextDouble();
#else
    [ThreadStatic]
    private static Random? _threadRandom;

    public static double NextDouble() => (_threadRandom ??= new Random(Guid.NewGuid().GetHashCode())).NextDouble();
#endif
}
