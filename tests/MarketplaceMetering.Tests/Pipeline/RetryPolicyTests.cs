using System.Net;
using Polly;
using Polly.Timeout;

namespace MarketplaceMetering.Tests.Pipeline;

public class RetryPolicyTests
{
    private static MeteringRetryOptions Options(int maxRetries = 3, double delaySeconds = 0.8, double maxDelaySeconds = 30)
    {
        var options = new MeteringClientOptions().Retry;
        options.MaxRetries = maxRetries;
        options.Delay = TimeSpan.FromSeconds(delaySeconds);
        options.MaxDelay = TimeSpan.FromSeconds(maxDelaySeconds);
        return options;
    }

    private static MeteringRequest Request(DateTimeOffset? deadline = null) =>
        new("SubmitUsageEvent", HttpMethod.Post, new Uri("https://example.test/api/usageEvent"), "/api/usageEvent", null, 1, "corr", deadline);

    private static Outcome<RawResponse> Status(int status, TimeSpan? retryAfter = null) =>
        Outcome.FromResult(new RawResponse(status, null, Array.Empty<byte>(), "r", "c", retryAfter));

    [Theory]
    [InlineData(0, 0.64, 0.96)]
    [InlineData(1, 1.28, 1.92)]
    [InlineData(2, 2.56, 3.84)]
    public void ComputeDelay_NoRetryAfter_IsExponentialWithTwentyPercentJitter(int attempt, double min, double max)
    {
        var low = new RetryPolicy(Options(), TimeProvider.System, () => 0.0).ComputeDelay(attempt, null);
        var high = new RetryPolicy(Options(), TimeProvider.System, () => 0.999999).ComputeDelay(attempt, null);

        low!.Value.TotalSeconds.Should().BeApproximately(min, 0.001);
        high!.Value.TotalSeconds.Should().BeApproximately(max, 0.001);
    }

    [Fact]
    public void ComputeDelay_Jitter_VariesBetweenDraws()
    {
        var policy = new RetryPolicy(Options(), TimeProvider.System);

        var delays = Enumerable.Range(0, 50).Select(_ => policy.ComputeDelay(0, null)!.Value).Distinct().ToList();

        delays.Should().HaveCountGreaterThan(1);
        delays.Should().OnlyContain(d => d >= TimeSpan.FromSeconds(0.64) && d <= TimeSpan.FromSeconds(0.96));
    }

    [Fact]
    public void ComputeDelay_LargeAttempt_IsCappedAtMaxDelay()
    {
        new RetryPolicy(Options(maxDelaySeconds: 5), TimeProvider.System, () => 0.5).ComputeDelay(20, null).Should().Be(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void ComputeDelay_RetryAfter_ReplacesComputedDelay()
    {
        new RetryPolicy(Options(), TimeProvider.System).ComputeDelay(0, TimeSpan.FromSeconds(7)).Should().Be(TimeSpan.FromSeconds(7));
    }

    [Fact]
    public void ComputeDelay_RetryAfterBeyondMaxDelay_ReturnsNull()
    {
        new RetryPolicy(Options(maxDelaySeconds: 30), TimeProvider.System).ComputeDelay(0, TimeSpan.FromSeconds(31)).Should().BeNull();
    }

    [Theory]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(504, true)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(409, false)]
    [InlineData(200, false)]
    [InlineData(501, false)]
    public void IsTransient_Status_MatchesTheRetryableSet(int status, bool transient) =>
        RetryPolicy.IsTransient(Status(status), CancellationToken.None).Should().Be(transient);

    [Fact]
    public void IsTransient_TransportFailuresAndTimeouts_AreRetried()
    {
        RetryPolicy.IsTransient(Outcome.FromException<RawResponse>(new HttpRequestException("reset")), CancellationToken.None).Should().BeTrue();
        RetryPolicy.IsTransient(Outcome.FromException<RawResponse>(new TimeoutRejectedException()), CancellationToken.None).Should().BeTrue();
        RetryPolicy.IsTransient(Outcome.FromException<RawResponse>(new IOException("broken pipe")), CancellationToken.None).Should().BeTrue();
        RetryPolicy.IsTransient(Outcome.FromException<RawResponse>(new TaskCanceledException("HttpClient.Timeout")), CancellationToken.None).Should().BeTrue();
    }

    [Fact]
    public void IsTransient_CallerCancelled_IsNotRetried()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        RetryPolicy.IsTransient(Outcome.FromException<RawResponse>(new OperationCanceledException(cts.Token)), cts.Token).Should().BeFalse();
    }

    [Fact]
    public void IsTransient_OtherExceptions_AreNotRetried()
    {
        RetryPolicy.IsTransient(Outcome.FromException<RawResponse>(new MeteringAuthorizationException("no token")), CancellationToken.None).Should().BeFalse();
        RetryPolicy.IsTransient(Outcome.FromException<RawResponse>(new InvalidOperationException()), CancellationToken.None).Should().BeFalse();
    }

    [Fact]
    public void ShouldRetry_RetryWouldStartAfterDeadline_StopsAndSaysWhy()
    {
        var clock = new Testing.TestClock();
        var request = Request(deadline: clock.GetUtcNow() + TimeSpan.FromSeconds(5));
        var policy = new RetryPolicy(Options(), clock);

        policy.ShouldRetry(request, Status(503, TimeSpan.FromSeconds(10)), 0, CancellationToken.None).Should().BeFalse();
        request.StopReason.Should().Contain("deadline");
        policy.ShouldRetry(request, Status(503, TimeSpan.FromSeconds(1)), 0, CancellationToken.None).Should().BeTrue();
        request.NextDelay.Should().Be(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void ShouldRetry_BeyondMaxRetries_Stops()
    {
        var policy = new RetryPolicy(Options(maxRetries: 2), TimeProvider.System);

        policy.ShouldRetry(Request(), Status(503), 1, CancellationToken.None).Should().BeTrue();
        policy.ShouldRetry(Request(), Status(503), 2, CancellationToken.None).Should().BeFalse();
    }

    [Fact]
    public void ReadRetryAfter_SecondsDateAndMilliseconds_AreRead()
    {
        var clock = new Testing.TestClock(new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero));
        using var seconds = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        seconds.Headers.TryAddWithoutValidation("Retry-After", "12");
        using var date = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        date.Headers.TryAddWithoutValidation("Retry-After", "Fri, 20 Nov 2026 10:00:30 GMT");
        using var ms = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        ms.Headers.TryAddWithoutValidation("retry-after-ms", "1500");
        using var none = new HttpResponseMessage(HttpStatusCode.TooManyRequests);

        RetryPolicy.ReadRetryAfter(seconds, clock).Should().Be(TimeSpan.FromSeconds(12));
        RetryPolicy.ReadRetryAfter(date, clock).Should().Be(TimeSpan.FromSeconds(30));
        RetryPolicy.ReadRetryAfter(ms, clock).Should().Be(TimeSpan.FromMilliseconds(1500));
        RetryPolicy.ReadRetryAfter(none, clock).Should().BeNull();
    }

    [Theory]
    [InlineData("Retry-After", "-5", null)]
    [InlineData("Retry-After", "soon", null)]
    [InlineData("Retry-After", "99999999999999999999", null)]
    [InlineData("Retry-After", "Thu, 01 Jan 1970 00:00:00 GMT", 0.0)]
    [InlineData("retry-after-ms", "NaN", null)]
    [InlineData("retry-after-ms", "Infinity", null)]
    [InlineData("retry-after-ms", "-1", null)]
    [InlineData("retry-after-ms", "1e400", null)]
    [InlineData("retry-after-ms", "1500abc", null)]
    public void ReadRetryAfter_HostileValue_IsIgnoredOrZeroNeverThrows(string header, string value, double? expectedSeconds)
    {
        var clock = new Testing.TestClock(new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero));
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation(header, value);

        var wait = RetryPolicy.ReadRetryAfter(response, clock);

        wait.Should().Be(expectedSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null);
    }
}
