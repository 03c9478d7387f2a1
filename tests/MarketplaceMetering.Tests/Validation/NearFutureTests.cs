using MarketplaceMetering.Emulator;
using MarketplaceMetering.Testing;

namespace MarketplaceMetering.Tests.Validation;

/// <summary>
/// An event the service calls "expired or in future" while it is not old by the client's clock is not lost revenue
/// (review of the core, item 6): the service's clock is behind, and sending it again minutes later works. It is a
/// retryable <c>Error</c>, never <c>Expired</c>. And single and bulk calls treat an event at the edge of the 24-hour
/// window the same way.
/// </summary>
public class NearFutureTests
{
    [Fact]
    public async Task SubmitUsageEventAsync_ServiceClockBehindSaysInFuture_IsRetryableErrorNotExpired()
    {
        var clientClock = new TestClock();
        var serviceClock = new TestClock(clientClock.GetUtcNow().AddMinutes(-3));
        await using var h = await Harness.StartAsync(emulator: o => o.TimeProvider = serviceClock, clock: clientClock);
        var usage = TestEvents.At(clientClock.GetUtcNow().AddMinutes(1));

        var result = await h.Client.SubmitUsageEventAsync(usage);

        var error = result.Should().BeOfType<UsageEventResult.Error>().Subject;
        error.Message.Should().Contain("future").And.Contain("again");
        error.Target.Should().Be("effectiveStartTime");
        UsageEventSummary.Create([result]).Retryable.Should().ContainSingle();

        serviceClock.Advance(TimeSpan.FromMinutes(5));
        clientClock.Advance(TimeSpan.FromMinutes(5));
        (await h.Client.SubmitUsageEventAsync(usage)).Should().BeOfType<UsageEventResult.Accepted>("sending it again once the service's clock caught up works");
    }

    [Fact]
    public async Task SubmitUsageEventAsync_EventSecondsOldButServiceClockBehind_IsRetryableErrorNotExpired()
    {
        var clientClock = new TestClock();
        var serviceClock = new TestClock(clientClock.GetUtcNow().AddMinutes(-3));
        await using var h = await Harness.StartAsync(emulator: o => o.TimeProvider = serviceClock, clock: clientClock);

        var result = await h.Client.SubmitUsageEventAsync(TestEvents.At(clientClock.GetUtcNow().AddSeconds(-30)));

        result.Should().BeOfType<UsageEventResult.Error>("an event 30 seconds old cannot have expired: the service's clock is behind");
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_ServiceClockBehindSaysInFuture_EventsInRetryableNotReportedExpired()
    {
        var clientClock = new TestClock();
        var serviceClock = new TestClock(clientClock.GetUtcNow().AddMinutes(-3));
        await using var h = await Harness.StartAsync(emulator: o => o.TimeProvider = serviceClock, clock: clientClock);
        var events = new[] { TestEvents.At(clientClock.GetUtcNow().AddMinutes(2), resource: TestEvents.ResourceNumber(1)), h.HourAgo(resource: TestEvents.ResourceNumber(2)) };

        var bulk = await h.Client.SubmitUsageEventsAsync(events);

        bulk.Results[0].Should().BeOfType<UsageEventResult.Error>();
        bulk.Results[1].Should().BeOfType<UsageEventResult.Accepted>();
        bulk.Summary.Count(UsageEventStatus.Expired).Should().Be(0);
        bulk.Summary.Retryable.Should().Equal(events[0]);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_ServiceClockAheadAndEventNearlyADayOld_IsStillExpired()
    {
        var clientClock = new TestClock();
        var serviceClock = new TestClock(clientClock.GetUtcNow().AddMinutes(10));
        await using var h = await Harness.StartAsync(emulator: o => o.TimeProvider = serviceClock, clock: clientClock);

        var result = await h.Client.SubmitUsageEventAsync(TestEvents.At(clientClock.GetUtcNow() - TimeSpan.FromHours(24) + TimeSpan.FromMinutes(5)));

        result.Should().BeOfType<UsageEventResult.Expired>();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(60)]
    public async Task SingleAndBulk_EventAtTheEdgeOfTheWindow_AreTreatedTheSame(int secondsInside)
    {
        await using var single = await Harness.StartAsync();
        await using var bulk = await Harness.StartAsync();
        var at = single.Clock.GetUtcNow() - TimeSpan.FromHours(24) + TimeSpan.FromSeconds(secondsInside);

        var one = await single.Client.SubmitUsageEventAsync(TestEvents.At(at));
        var many = await bulk.Client.SubmitUsageEventsAsync([TestEvents.At(at)]);

        many.Results.Single().Status.Should().Be(one.Status);
        bulk.Emulator.Requests.Should().HaveCount(single.Emulator.Requests.Count, "both send it, or neither does");
    }
}
