using System.Diagnostics;
using MarketplaceMetering.Emulator.Tests.TestSupport;
using static MarketplaceMetering.Emulator.Tests.TestSupport.EventJson;

namespace MarketplaceMetering.Emulator.Tests.Faults;

public sealed class FaultInjectionTests
{
    [Fact]
    public async Task Throttle_Queued_Returns429WithRetryAfterRoundedUpAndRecordsNothing()
    {
        await using var host = await TestEmulator.StartAsync();
        host.Emulator.Faults.Enqueue(EmulatorFault.Throttle(TimeSpan.FromMilliseconds(1200)));

        var answer = await host.PostEventAsync(Event(host.Now));

        answer.Status.Should().Be(429);
        answer.Header("Retry-After").Should().Be("2");
        answer.Json.GetProperty("code").GetString().Should().Be("TooManyRequests");
        host.Emulator.Ledger.Count.Should().Be(0);
        host.Emulator.Requests.Single().ResponseStatus.Should().Be(429);
        (await host.PostEventAsync(Event(host.Now))).Status.Should().Be(200, "one queued fault affects one request");
    }

    [Fact]
    public async Task Throttle_QueuedWithoutRetryAfter_UsesTheSettingsDefault()
    {
        await using var host = await TestEmulator.StartAsync(options => options.Faults.ThrottleRetryAfter = TimeSpan.FromSeconds(7));
        host.Emulator.Faults.Enqueue(EmulatorFault.Throttle());

        var answer = await host.PostEventAsync(Event(host.Now));

        answer.Header("Retry-After").Should().Be("7");
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    public async Task ServerError_Queued_ReturnsThatStatusAndRecordsNothing(int statusCode)
    {
        await using var host = await TestEmulator.StartAsync();
        host.Emulator.Faults.Enqueue(EmulatorFault.ServerError(statusCode));

        var answer = await host.PostEventAsync(Event(host.Now));

        answer.Status.Should().Be(statusCode);
        answer.Json.GetProperty("code").GetString().Should().NotBeNullOrEmpty();
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task ServerError_InBatch_RecordsNoneOfTheEvents()
    {
        await using var host = await TestEmulator.StartAsync();
        host.Emulator.Faults.Enqueue(EmulatorFault.ServerError(503));

        var answer = await host.PostBatchAsync(Batch(Event(host.Now), Event(host.Now, dimension: "dim2")));

        answer.Status.Should().Be(503);
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task Latency_Queued_DelaysTheAnswerThenProcessesNormally()
    {
        await using var host = await TestEmulator.StartAsync();
        host.Emulator.Faults.Enqueue(EmulatorFault.Latency(TimeSpan.FromMilliseconds(300)));
        var stopwatch = Stopwatch.StartNew();

        var answer = await host.PostEventAsync(Event(host.Now));

        stopwatch.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(300));
        answer.Status.Should().Be(200);
        host.Emulator.Ledger.Count.Should().Be(1);
    }

    [Fact]
    public async Task DropAfterAccept_Queued_ClientSeesABrokenConnectionAndTheLedgerHoldsTheEvent()
    {
        await using var host = await TestEmulator.StartAsync();
        host.Emulator.Faults.Enqueue(EmulatorFault.DropAfterAccept());

        var act = () => host.PostEventAsync(Event(host.Now, quantity: "3"));

        await act.Should().ThrowAsync<HttpRequestException>();
        var entry = host.Emulator.Ledger.Entries.Should().ContainSingle().Subject;
        entry.Quantity.Should().Be(3m);
        host.Emulator.Requests.Single().ResponseStatus.Should().BeNull();

        // The client's retry finds the event already accepted.
        var retry = await host.PostEventAsync(Event(host.Now, quantity: "3"));
        retry.Status.Should().Be(409);
        retry.Json.GetProperty("additionalInfo").GetProperty("acceptedMessage").GetProperty("usageEventId").GetGuid().Should().Be(entry.UsageEventId);
    }

    [Fact]
    public async Task DropAfterAccept_OnAReusedConnection_StillThrowsAndIsNotSilentlyRetried()
    {
        await using var host = await TestEmulator.StartAsync();
        (await host.PostEventAsync(Event(host.Now, dimension: "warm-up"))).Status.Should().Be(200);
        host.Emulator.Faults.Enqueue(EmulatorFault.DropAfterAccept());

        var act = () => host.PostBatchAsync(Batch(Event(host.Now)));

        await act.Should().ThrowAsync<HttpRequestException>();
        host.Emulator.Requests.Should().HaveCount(2, "a POST with a body is not retried by HttpClient");
        host.Emulator.Ledger.Count.Should().Be(2);
    }

    [Fact]
    public async Task Respond_Queued_ReturnsExactlyThatStatusBodyAndHeaders()
    {
        await using var host = await TestEmulator.StartAsync();
        host.Emulator.Faults.Enqueue(EmulatorFault.Respond(
            418,
            "{not json",
            new Dictionary<string, string> { ["X-Scripted"] = "yes", ["Content-Type"] = "text/plain" }));

        var answer = await host.PostEventAsync(Event(host.Now));

        answer.Status.Should().Be(418);
        answer.Body.Should().Be("{not json");
        answer.Header("X-Scripted").Should().Be("yes");
        answer.ContentType.Should().Be("text/plain");
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task Respond_200WithUnknownStatus_IsSentAsIsAndRecordsNothing()
    {
        await using var host = await TestEmulator.StartAsync();
        const string Body = """{"usageEventId":"00000000-0000-0000-0000-000000000001","status":"SomethingNew"}""";
        host.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, Body));

        var answer = await host.PostEventAsync(Event(host.Now));

        answer.Status.Should().Be(200);
        answer.Body.Should().Be(Body);
        answer.ContentType.Should().StartWith("application/json");
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task Queue_SeveralFaults_AppliesOnePerRequestInOrderThenNone()
    {
        await using var host = await TestEmulator.StartAsync();
        host.Emulator.Faults.Enqueue(EmulatorFault.Throttle(), EmulatorFault.None, EmulatorFault.ServerError(503));
        host.Emulator.Faults.Pending.Should().Be(3);

        var statuses = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            statuses.Add((await host.PostEventAsync(Event(host.Now, dimension: $"d{i}"))).Status);
        }

        statuses.Should().Equal(429, 200, 503, 200);
        host.Emulator.Faults.Pending.Should().Be(0);
    }

    [Fact]
    public async Task Queue_AppliesBeforeTheApiVersionAndTokenChecks()
    {
        await using var host = await TestEmulator.StartAsync();
        host.Emulator.Faults.Enqueue(EmulatorFault.ServerError(503));

        var answer = await host.SendAsync(HttpMethod.Post, "api/usageEvent", Event(host.Now), authorization: null);

        answer.Status.Should().Be(503);
    }

    [Fact]
    public async Task Probabilities_SameSeed_GiveTheSameFaultSequence()
    {
        static async Task<List<int>> StatusesAsync(int seed)
        {
            await using var host = await TestEmulator.StartAsync(options =>
            {
                options.Seed = seed;
                options.Faults.ThrottleProbability = 0.3;
                options.Faults.ServerErrorProbability = 0.3;
            });
            var statuses = new List<int>();
            for (var i = 0; i < 24; i++)
            {
                statuses.Add((await host.PostEventAsync(Event(host.Now, dimension: $"d{i}"))).Status);
            }

            host.Emulator.Ledger.Count.Should().Be(statuses.Count(s => s == 200), "only answered 200s are recorded");
            return statuses;
        }

        var first = await StatusesAsync(seed: 42);
        var second = await StatusesAsync(seed: 42);
        var other = await StatusesAsync(seed: 7);

        second.Should().Equal(first);
        first.Should().Contain(429).And.Contain(200).And.Contain(s => s == 500 || s == 503);
        other.Should().NotEqual(first);
    }

    [Fact]
    public async Task Probabilities_ThrottleOne_ThrottlesEveryRequestUntilReset()
    {
        await using var host = await TestEmulator.StartAsync();
        host.Emulator.Faults.Settings.ThrottleProbability = 1;
        host.Emulator.Faults.Settings.ThrottleRetryAfter = TimeSpan.FromSeconds(3);

        var throttled = await host.PostEventAsync(Event(host.Now));
        var again = await host.PostEventAsync(Event(host.Now));
        host.Emulator.Faults.Reset();
        var afterReset = await host.PostEventAsync(Event(host.Now));

        throttled.Status.Should().Be(429);
        throttled.Header("Retry-After").Should().Be("3");
        again.Status.Should().Be(429);
        afterReset.Status.Should().Be(200);
    }

    [Fact]
    public async Task Probabilities_DropOne_ThrowsAndRecords()
    {
        await using var host = await TestEmulator.StartAsync(options => options.Faults.DropAfterAcceptProbability = 1);

        var act = () => host.PostEventAsync(Event(host.Now));

        await act.Should().ThrowAsync<HttpRequestException>();
        host.Emulator.Ledger.Count.Should().Be(1);
    }

    [Fact]
    public async Task Probabilities_LatencyRange_DelaysEveryAnswer()
    {
        await using var host = await TestEmulator.StartAsync(options =>
        {
            options.Faults.MinLatency = TimeSpan.FromMilliseconds(200);
            options.Faults.MaxLatency = TimeSpan.FromMilliseconds(250);
        });
        var stopwatch = Stopwatch.StartNew();

        var answer = await host.PostEventAsync(Event(host.Now));

        stopwatch.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(200));
        answer.Status.Should().Be(200);
    }

    [Fact]
    public async Task Queue_TakesPrecedenceOverProbabilities()
    {
        await using var host = await TestEmulator.StartAsync(options => options.Faults.ServerErrorProbability = 1);
        host.Emulator.Faults.Enqueue(EmulatorFault.None);

        (await host.PostEventAsync(Event(host.Now))).Status.Should().Be(200);
        (await host.PostEventAsync(Event(host.Now, dimension: "dim2"))).Status.Should().BeOneOf(500, 503);
    }

    [Fact]
    public async Task Reset_ClearsTheQueueAndZeroesProbabilities()
    {
        await using var host = await TestEmulator.StartAsync(options => options.Faults.ServerErrorProbability = 0.5);
        host.Emulator.Faults.Enqueue(EmulatorFault.Throttle(), EmulatorFault.Throttle());

        host.Emulator.Faults.Reset();

        host.Emulator.Faults.Pending.Should().Be(0);
        host.Emulator.Faults.Settings.ServerErrorProbability.Should().Be(0);
        (await host.PostEventAsync(Event(host.Now))).Status.Should().Be(200);
    }

    [Fact]
    public async Task Latency_ClientGivesUp_AttemptIsListedUnansweredAndEmulatorKeepsServing()
    {
        await using var host = await TestEmulator.StartAsync();
        host.Emulator.Faults.Enqueue(EmulatorFault.Latency(TimeSpan.FromMinutes(5)));
        using var impatient = new HttpClient { BaseAddress = host.Emulator.Endpoint };
        using var content = new StringContent(Event(host.Now));
        impatient.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + TestEmulator.Token);
        using var giveUp = new CancellationTokenSource();

        // Give up only once the emulator holds the request (a fixed client timeout could fire before it arrives, on a
        // loaded machine, and leave the latency fault queued for the next request).
        var attempt = impatient.PostAsync(TestEmulator.EventPath, content, giveUp.Token);
        for (var waited = 0; host.Emulator.Requests.Count == 0; waited += 5)
        {
            waited.Should().BeLessThan(20_000, "the request reaches the emulator");
            await Task.Delay(5);
        }

        giveUp.Cancel();

        await FluentActions.Awaiting(() => attempt).Should().ThrowAsync<TaskCanceledException>();
        (await host.PostEventAsync(Event(host.Now))).Status.Should().Be(200);
        host.Emulator.Requests.Select(r => r.ResponseStatus).Should().Equal([null, 200], "the abandoned attempt is listed, unanswered");
        host.Emulator.Ledger.Count.Should().Be(1);
    }
}
