using MarketplaceMetering.Emulator;

namespace MarketplaceMetering.Tests;

/// <summary>Retries, back-off, Retry-After, timeouts, cancellation and deadlines, over real HTTP with the emulator's faults.</summary>
public class MeteringClientResilienceTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(408)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    public async Task SubmitUsageEventAsync_TransientStatus_IsRetriedThenAccepted(int status)
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(status, """{"code":"Transient","message":"try again"}"""));

        var result = await h.Client.SubmitUsageEventAsync(h.HourAgo());

        result.Should().BeOfType<UsageEventResult.Accepted>();
        h.Emulator.Requests.Select(r => r.ResponseStatus).Should().Equal(status, 200);
    }

    [Theory]
    [InlineData(400, """{"code":"BadArgument","message":"nope","target":"planId"}""")]
    [InlineData(403, """{"code":"Forbidden","message":"Client is not authorized for this usage resource."}""")]
    [InlineData(409, """{"code":"Conflict","message":"This usage event already exist."}""")]
    [InlineData(404, "not found")]
    public async Task SubmitUsageEventAsync_NonTransientStatus_IsNeverRetried(int status, string body)
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(status, body));

        try
        {
            await h.Client.SubmitUsageEventAsync(h.HourAgo());
        }
        catch (MeteringException)
        {
        }

        h.Emulator.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task SubmitUsageEventAsync_ConnectionDroppedAfterAccept_RetryComesBackAsDeliveredReplay()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.DropAfterAccept());

        var result = await h.Client.SubmitUsageEventAsync(h.HourAgo(quantity: 3m));

        var duplicate = result.Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        duplicate.IsReplay.Should().BeTrue();
        duplicate.IsDelivered.Should().BeTrue();
        duplicate.Original!.UsageEventId.Should().Be(h.Emulator.Ledger.Entries.Single().UsageEventId);
        h.Emulator.Requests.Should().HaveCount(2);
    }

    public static TheoryData<string> Quantities => new()
    {
        "0.1", "0.0000001", "123456789.123456789", "5", "5.0", "1000000000000000", "9.123456789012346",
        "79228162514264328797450928128", "79228162514264335000000000000", "79228162514264337593543950335",
    };

    [Theory]
    [MemberData(nameof(Quantities))]
    public async Task SubmitUsageEventAsync_ConnectionDroppedAfterAccept_RetryIsAReplayWhateverTheQuantity(string quantity)
    {
        // The emulator holds and echoes the service's double: the retry's original must still read as this event.
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.DropAfterAccept());
        var sent = h.HourAgo(quantity: decimal.Parse(quantity, System.Globalization.CultureInfo.InvariantCulture));

        var single = await h.Client.SubmitUsageEventAsync(sent);
        h.Emulator.Faults.Enqueue(EmulatorFault.DropAfterAccept());
        var batch = await h.Client.SubmitBatchUsageEventAsync([h.HourAgo(sent.Quantity, dimension: "dim2")]);

        single.Should().BeOfType<UsageEventResult.Duplicate>().Which.IsReplay.Should().BeTrue(single.ToString());
        batch.Results.Should().ContainSingle().Which.Should().BeOfType<UsageEventResult.Duplicate>()
            .Which.IsReplay.Should().BeTrue(batch.Results[0].ToString());
        h.Emulator.Ledger.Count.Should().Be(2);
    }

    [Fact]
    public async Task SubmitBatchUsageEventAsync_ConnectionDroppedAfterAccept_AllReplaysDelivered()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.DropAfterAccept());
        var events = TestEvents.Distinct(h.Clock, 10);

        var batch = await h.Client.SubmitBatchUsageEventAsync(events);

        batch.IsAllDelivered.Should().BeTrue();
        batch.Results.Should().AllBeOfType<UsageEventResult.Duplicate>();
        h.Emulator.Ledger.Count.Should().Be(10);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_TransientUntilRetriesRunOut_ThrowsRetryableWithLastStatus()
    {
        await using var h = await Harness.StartAsync(client: o => o.Retry.MaxRetries = 3);
        h.Emulator.Faults.Enqueue(Enumerable.Repeat(EmulatorFault.ServerError(503), 5).ToArray());

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo());

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.StatusCode.Should().Be(503);
        e.IsRetryable.Should().BeTrue();
        h.Emulator.Requests.Should().HaveCount(4, "one attempt and three retries");
    }

    [Fact]
    public async Task SubmitUsageEventAsync_RetriesOff_SendsOnce()
    {
        await using var h = await Harness.StartAsync(client: o => o.Retry.MaxRetries = 0);
        h.Emulator.Faults.Enqueue(EmulatorFault.ServerError(503));

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo());

        await act.Should().ThrowAsync<MeteringException>();
        h.Emulator.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task SubmitUsageEventAsync_429WithRetryAfter_WaitsExactlyThatLong()
    {
        await using var h = await Harness.StartAsync(client: o => o.Retry.Delay = TimeSpan.FromSeconds(1));
        h.Emulator.Faults.Enqueue(EmulatorFault.Throttle(TimeSpan.FromSeconds(7)));

        var call = h.Client.SubmitUsageEventAsync(h.HourAgo());
        await h.Clock.WaitForTimerAsync(d => d == TimeSpan.FromSeconds(7));
        h.Clock.Advance(TimeSpan.FromSeconds(7) - TimeSpan.FromMilliseconds(1));
        h.Emulator.Requests.Should().ContainSingle("the client must not retry before Retry-After has passed");
        h.Clock.Advance(TimeSpan.FromMilliseconds(1));

        (await call.WaitAsync(Guard)).Should().BeOfType<UsageEventResult.Accepted>();
        h.Emulator.Requests.Select(r => r.ResponseStatus).Should().Equal(429, 200);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_RetryAfterLongerThanMaxDelay_StopsAndReportsThrottling()
    {
        await using var h = await Harness.StartAsync(client: o => o.Retry.MaxDelay = TimeSpan.FromSeconds(30));
        h.Emulator.Faults.Enqueue(EmulatorFault.Throttle(TimeSpan.FromSeconds(120)));

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo());

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.StatusCode.Should().Be(429);
        e.IsRetryable.Should().BeTrue();
        e.Message.Should().Contain("Retry-After").And.Contain("MaxDelay");
        h.Emulator.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task SubmitUsageEventAsync_RepeatedFailures_BackOffExponentiallyWithJitter()
    {
        await using var h = await Harness.StartAsync(client: o =>
        {
            o.Retry.Delay = TimeSpan.FromSeconds(1);
            o.Retry.MaxRetries = 3;
        });
        h.Emulator.Faults.Enqueue(EmulatorFault.ServerError(500), EmulatorFault.ServerError(502), EmulatorFault.ServerError(503));

        var call = h.Client.SubmitUsageEventAsync(h.HourAgo());
        var delays = new List<TimeSpan>();
        foreach (var (min, max) in new[] { (0.8, 1.2), (1.6, 2.4), (3.2, 4.8) })
        {
            var delay = await h.Clock.WaitForTimerAsync(d => d >= TimeSpan.FromSeconds(min) && d <= TimeSpan.FromSeconds(max));
            delays.Add(delay);
            h.Clock.Advance(delay);
        }

        (await call.WaitAsync(Guard)).Should().BeOfType<UsageEventResult.Accepted>();
        delays.Should().HaveCount(3);
        h.Emulator.Requests.Should().HaveCount(4);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_AttemptExceedsNetworkTimeout_IsAbandonedAndRetried()
    {
        await using var h = await Harness.StartAsync(client: o => o.NetworkTimeout = TimeSpan.FromSeconds(10));
        h.Emulator.Faults.Enqueue(EmulatorFault.Latency(TimeSpan.FromMinutes(5)));

        var call = h.Client.SubmitUsageEventAsync(h.HourAgo());
        await Eventually.HoldsAsync(() => h.Emulator.Requests.Count == 1, "the first attempt reaches the emulator");
        await h.Clock.WaitForTimerAsync(d => d == TimeSpan.FromSeconds(10));
        h.Clock.Advance(TimeSpan.FromSeconds(10));

        (await call.WaitAsync(Guard)).Should().BeOfType<UsageEventResult.Accepted>();
        h.Emulator.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_EveryAttemptTimesOut_ThrowsRetryableTimeout()
    {
        await using var h = await Harness.StartAsync(client: o =>
        {
            o.NetworkTimeout = TimeSpan.FromSeconds(10);
            o.Retry.MaxRetries = 1;
        });
        h.Emulator.Faults.Enqueue(EmulatorFault.Latency(TimeSpan.FromMinutes(5)), EmulatorFault.Latency(TimeSpan.FromMinutes(5)));

        var call = h.Client.SubmitUsageEventAsync(h.HourAgo());
        for (var i = 0; i < 2; i++)
        {
            var arrived = i + 1;
            await Eventually.HoldsAsync(() => h.Emulator.Requests.Count == arrived, "the attempt reaches the emulator");
            await h.Clock.WaitForTimerAsync(d => d == TimeSpan.FromSeconds(10));
            h.Clock.Advance(TimeSpan.FromSeconds(10));
        }

        var e = (await FluentActions.Awaiting(() => call.WaitAsync(Guard)).Should().ThrowAsync<MeteringException>()).Which;
        e.StatusCode.Should().BeNull();
        e.IsRetryable.Should().BeTrue();
        e.Message.Should().Contain("network timeout").And.Contain("2 attempts");
    }

    [Fact]
    public async Task SubmitUsageEventAsync_CancelledDuringRetryWait_ThrowsAtOnce()
    {
        await using var h = await Harness.StartAsync(client: o => o.Retry.Delay = TimeSpan.FromSeconds(10));
        h.Emulator.Faults.Enqueue(EmulatorFault.ServerError(503));
        using var cts = new CancellationTokenSource();

        var call = h.Client.SubmitUsageEventAsync(h.HourAgo(), cts.Token);
        await h.Clock.WaitForTimerAsync(d => d >= TimeSpan.FromSeconds(8) && d <= TimeSpan.FromSeconds(12));
        cts.Cancel();

        await FluentActions.Awaiting(() => call.WaitAsync(Guard)).Should().ThrowAsync<OperationCanceledException>();
        h.Emulator.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task SubmitUsageEventAsync_CancelledWhileServiceIsSlow_ThrowsAtOnce()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.Latency(TimeSpan.FromMinutes(5)));
        using var cts = new CancellationTokenSource();

        var call = h.Client.SubmitUsageEventAsync(h.HourAgo(), cts.Token);
        cts.CancelAfter(TimeSpan.FromMilliseconds(300));

        await FluentActions.Awaiting(() => call.WaitAsync(Guard)).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task SubmitUsageEventAsync_AlreadyCancelled_SendsNothing()
    {
        await using var h = await Harness.StartAsync();

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo(), new CancellationToken(canceled: true));

        await act.Should().ThrowAsync<OperationCanceledException>();
        h.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task SubmitUsageEventAsync_RetryWouldStartAfterTheEventsDeadline_IsNotScheduled()
    {
        await using var h = await Harness.StartAsync(client: o => o.Retry.Delay = TimeSpan.FromSeconds(20));
        // 23 h 57 min 50 s old: the deadline (24 h less a 2 min margin) is 10 s away; the first retry would wait 16-24 s.
        var usageEvent = TestEvents.At(h.Clock.GetUtcNow() - TimeSpan.FromHours(24) + TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(10));
        h.Emulator.Faults.Enqueue(EmulatorFault.ServerError(503));

        var act = () => h.Client.SubmitUsageEventAsync(usageEvent);

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.StatusCode.Should().Be(503);
        e.IsRetryable.Should().BeTrue();
        e.Message.Should().Contain("deadline");
        h.Emulator.Requests.Should().ContainSingle();
        h.Clock.ScheduledDueTimes.Should().NotContain(d => d >= TimeSpan.FromSeconds(16) && d <= TimeSpan.FromSeconds(24));
    }
}
