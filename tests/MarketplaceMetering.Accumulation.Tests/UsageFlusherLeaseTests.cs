using MarketplaceMetering.Emulator;
using MarketplaceMetering.Testing;
using MarketplaceMetering.Tests;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>
/// The flusher against a service too slow for a claim to be sent within its lease, over a SQLite ledger file and the
/// emulator on loopback. The flusher's clock (the options' TimeProvider, shared with the ledger and the emulator) is a
/// test clock moved by hand; each test's own client keeps a clock of its own, so moving the flusher's clock does not
/// time out the client's calls, and a call the emulator holds (queued latency, in real time) stays unanswered until it
/// is cancelled.
/// </summary>
[Collection(AccumulationTelemetryGroup.Name)]
public class UsageFlusherLeaseTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(10);

    /// <summary>When the flusher stops sending a claim of <see cref="Lease"/>: a tenth of it before its end.</summary>
    private static readonly TimeSpan StopAfter = TimeSpan.FromMinutes(9);

    /// <summary>Long enough never to end within a test: the call is answered only if the flusher waits that long.</summary>
    private static readonly TimeSpan NoAnswer = TimeSpan.FromHours(1);

    [Theory]
    [InlineData(1_000, 100)] // the shortest lease allowed
    [InlineData(300_000, 30_000)] // a tenth of the lease
    [InlineData(600_000, 60_000)] // the cap reached
    [InlineData(1_200_000, 60_000)] // the default lease: capped
    [InlineData(3_600_000, 60_000)] // the longest lease allowed
    public void StopMargin_IsATenthOfTheLeaseAtMostAMinute(int leaseMilliseconds, int marginMilliseconds)
    {
        UsageFlusher.StopMargin(TimeSpan.FromMilliseconds(leaseMilliseconds)).Should().Be(TimeSpan.FromMilliseconds(marginMilliseconds));
    }

    [Theory]
    [InlineData(null, 4, 2)] // the public constructor: the client's default, 4 batches (100 rows) per submission
    [InlineData(8, 8, 1)]
    [InlineData(2, 2, 4)]
    public async Task FlushAsync_ClientSendsNBatchesAtOnce_ClaimGoesInSubmissionsOfNFullBatches(int? batchesAtOnce, int clientConcurrency, int submissions)
    {
        // A submission holds as many batches as the client sends at once: fewer would leave the client's concurrency
        // unused, more would lose more answers when the lease's end stops a claim. Each bulk submission is one client
        // operation, with a correlation id of its own.
        await using var h = await AccumulationHarness.StartAsync(o => o.MaxRowsPerClaim = 200);
        for (var i = 1; i <= 200; i++)
        {
            await h.Recorder.RecordAsync(Guid.Parse($"00000000-0000-4000-8000-{i:D12}"), "plan", "calls", 2m, h.HourAgo(2));
        }

        using var client = new MeteringClient(h.Emulator.Credential, new MeteringClientOptions { Endpoint = h.Emulator.Endpoint, TimeProvider = h.Clock, MaxConcurrency = clientConcurrency });
        using var flusher = batchesAtOnce is null ? new UsageFlusher(h.Ledger, client, h.Options) : new UsageFlusher(h.Ledger, client, h.Options, batchesAtOnce);

        var result = await flusher.FlushAsync();

        (result.Claimed, result.Delivered).Should().Be((200, 200));
        var batches = h.Emulator.Requests.Where(r => r.Path == "/api/batchUsageEvent").ToList();
        batches.Should().HaveCount(8).And.OnlyContain(r => EventsIn(r.Body) == 25);
        batches.GroupBy(r => r.Headers["x-ms-correlationid"]).Should().HaveCount(submissions)
            .And.OnlyContain(g => g.Count() == clientConcurrency, "each submission is as many full batches as the client sends at once");
    }

    [Fact]
    public async Task FlushAsync_ClaimStillSendingWhenItsLeaseIsAboutToEnd_StopsThereRecordsTheAnswersAndReleasesTheRest()
    {
        // 150 rows: one submission of 100 (4 batches), answered, then one of 50 (2 batches) that the service never
        // answers. The second submission starts only when the first returned, so once the emulator has seen 6 calls the
        // flusher holds the first one's answers.
        await using var h = await AccumulationHarness.StartAsync(o => (o.LeaseDuration, o.MaxRowsPerClaim) = (Lease, 150));
        var resources = Enumerable.Range(1, 150).Select(i => Guid.Parse($"00000000-0000-4000-8000-{i:D12}")).ToList();
        foreach (var resource in resources)
        {
            await h.Recorder.RecordAsync(resource, "plan", "calls", 2m, h.HourAgo(2));
        }

        h.Emulator.Faults.Enqueue(EmulatorFault.None, EmulatorFault.None, EmulatorFault.None, EmulatorFault.None, EmulatorFault.Latency(NoAnswer), EmulatorFault.Latency(NoAnswer));
        using var client = SlowClient(h);
        using var flusher = new UsageFlusher(h.Ledger, client, h.Options);
        var started = h.Clock.GetUtcNow();
        var result = await FlushUntilStoppedAsync(flusher, () => BatchCalls(h) == 6, "the first submission is answered and the second one's batches reach the service", () => h.Clock.Advance(StopAfter));

        (result.Claimed, result.Delivered, result.Retrying, result.Superseded).Should().Be((150, 100, 50, 0));
        var rows = await h.EntriesAsync();
        rows.Count(r => r.State == UsageLedgerState.Accepted).Should().Be(100, "what the service answered is recorded");
        rows.Count(r => r.State == UsageLedgerState.Open).Should().Be(50, "what it did not answer is open again at once, not left claimed until the lease ends");
        h.Emulator.Ledger.Count.Should().Be(100);
        h.Logs.GetSnapshot().Should().ContainSingle(r => r.Id.Id == 114).Which.Should().Match<Microsoft.Extensions.Logging.Testing.FakeLogRecord>(r =>
            r.Level == LogLevel.Warning && r.Message.StartsWith("Sending 50 hours was stopped 00:01:00 before", StringComparison.Ordinal)
            && r.Message.Contains("Lower MaxRowsPerClaim or raise LeaseDuration", StringComparison.Ordinal));
        h.Logs.GetSnapshot().Should().NotContain(r => r.Id.Id == 111 || r.Id.Id == 112 || r.Id.Id == 115);

        // Another instance, before the first one's lease would have ended, claims what was released and sends only that.
        h.Clock.GetUtcNow().Should().BeBefore(started + Lease);
        h.Emulator.ClearRequests();
        await using var otherLedger = new SqliteUsageLedger(h.SqlitePath);
        using var other = new UsageFlusher(otherLedger, h.Client, new UsageAccumulationOptions { TimeProvider = h.Clock, InstanceName = "other" });
        var second = await other.FlushAsync();

        (second.Claimed, second.Delivered).Should().Be((50, 50));
        h.Emulator.Requests.Where(r => r.Path == "/api/batchUsageEvent").Sum(r => EventsIn(r.Body)).Should().Be(50, "nothing the service answered is sent again");
        h.Emulator.Ledger.Entries.Select(e => e.ResourceId).Should().BeEquivalentTo(resources, "each hour is billed once");
        (await h.EntriesAsync()).Should().OnlyContain(r => r.State == UsageLedgerState.Accepted, "none was sent twice (a resend would be a replay)");
    }

    [Fact]
    public async Task FlushAsync_ClaimStoppedBeforeItsLeaseEnds_RowsNotAnsweredAreNotSuspectedLikeRowsThatFailed()
    {
        // The first submission: three batches answered, one failed by the service (a 500, not retried). The second is
        // never answered and the lease's end stops it. A failed row whose batch-mates got through is sent in smaller
        // batches next time (see the poison-row test); a row that was not answered at all says nothing about itself.
        await using var h = await AccumulationHarness.StartAsync(o => (o.LeaseDuration, o.MaxRowsPerClaim) = (Lease, 150));
        for (var i = 1; i <= 150; i++)
        {
            await h.Recorder.RecordAsync(Guid.Parse($"00000000-0000-4000-8000-{i:D12}"), "plan", "calls", 2m, h.HourAgo(2));
        }

        h.Emulator.Faults.Enqueue(EmulatorFault.None, EmulatorFault.None, EmulatorFault.None, EmulatorFault.ServerError(), EmulatorFault.Latency(NoAnswer), EmulatorFault.Latency(NoAnswer));
        using var client = SlowClient(h);
        using var flusher = new UsageFlusher(h.Ledger, client, h.Options);
        var stopped = await FlushUntilStoppedAsync(flusher, () => BatchCalls(h) == 6, "the first submission is answered and the second one's batches reach the service", () => h.Clock.Advance(StopAfter));

        (stopped.Delivered, stopped.Retrying).Should().Be((75, 75));
        h.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 109 && r.Message.StartsWith("Sending 25 hours did not complete", StringComparison.Ordinal));
        h.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 114 && r.Message.StartsWith("Sending 50 hours was stopped", StringComparison.Ordinal));

        h.Emulator.ClearRequests();
        var next = await flusher.FlushAsync();

        next.Delivered.Should().Be(75);
        h.Emulator.Requests.Where(r => r.Path == "/api/batchUsageEvent").Select(r => EventsIn(r.Body)).Order().Should().Equal(
            [1, 12, 12, 25, 25], "the 25 that failed go in smaller batches, the 50 not answered in full ones");
    }

    [Fact]
    public async Task FlushAsync_ClaimSentJustBeforeItsLeaseIsAboutToEnd_FinishesAsBefore()
    {
        // The calls are answered when the clock is a millisecond short of the point where the sending would stop.
        await using var h = await AccumulationHarness.StartAsync(o => o.LeaseDuration = Lease);
        for (var i = 1; i <= 50; i++)
        {
            await h.Recorder.RecordAsync(Guid.Parse($"00000000-0000-4000-8000-{i:D12}"), "plan", "calls", 1m, h.HourAgo(2));
        }

        var held = new HeldCalls();
        using var client = SlowClient(h, held);
        using var flusher = new UsageFlusher(h.Ledger, client, h.Options);
        var result = await FlushUntilStoppedAsync(flusher, () => held.Waiting == 2, "both batches reach the service", () =>
        {
            h.Clock.Advance(StopAfter - TimeSpan.FromMilliseconds(1));
            held.Release();
        });

        (result.Claimed, result.Delivered, result.Retrying).Should().Be((50, 50, 0));
        h.Emulator.Ledger.Count.Should().Be(50);
        h.Logs.GetSnapshot().Should().NotContain(r => r.Id.Id == 114 || r.Id.Id == 109);
    }

    [Fact]
    public async Task FlushAsync_CancelledByTheCallerWhileTheServiceIsSlow_ThrowsAndReleasesTheRowsAsBefore()
    {
        await using var h = await AccumulationHarness.StartAsync(o => o.LeaseDuration = Lease);
        for (var i = 1; i <= 50; i++)
        {
            await h.Recorder.RecordAsync(Guid.Parse($"00000000-0000-4000-8000-{i:D12}"), "plan", "calls", 1m, h.HourAgo(2));
        }

        h.Emulator.Faults.Enqueue(EmulatorFault.Latency(NoAnswer), EmulatorFault.Latency(NoAnswer));
        using var client = SlowClient(h);
        using var flusher = new UsageFlusher(h.Ledger, client, h.Options);
        using var cancel = new CancellationTokenSource();
        var flush = flusher.FlushAsync(cancel.Token);
        await Eventually.HoldsAsync(() => BatchCalls(h) == 2, "both batches reach the service");

        await cancel.CancelAsync();

        await flush.Invoking(f => f.WaitAsync(TimeSpan.FromSeconds(60))).Should().ThrowAsync<OperationCanceledException>();
        (await h.EntriesAsync()).Should().HaveCount(50).And.OnlyContain(r => r.State == UsageLedgerState.Open);
        h.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 109 && r.Message.StartsWith("Sending 50 hours did not complete", StringComparison.Ordinal));
        h.Logs.GetSnapshot().Should().NotContain(r => r.Id.Id == 114, "the caller stopped it, not the lease");
    }

    [Fact]
    public async Task FlushAsync_LeaseEndsWhileTheOutcomesAreSavedAndAnotherInstanceTakesARow_SaysSoInsteadOfBlamingTheClocks()
    {
        var folder = Directory.CreateTempSubdirectory("mm-lease-").FullName;
        var path = Path.Combine(folder, "usage.db");
        var ledger = new LeaseEndsDuringSave(path);
        try
        {
            await using var h = await AccumulationHarness.StartAsync(o => o.LeaseDuration = Lease, ledger: ledger);
            await h.Recorder.RecordAsync(Guid.Parse("00000000-0000-4000-8000-000000000001"), "plan", "calls", 1m, h.HourAgo(2));
            await h.Recorder.RecordAsync(Guid.Parse("00000000-0000-4000-8000-000000000002"), "plan", "calls", 1m, h.HourAgo(2));
            await using var otherLedger = new SqliteUsageLedger(path);

            // The send is quick, the save is not: the lease ends while it runs (this instance read its clock before the
            // save began), and another instance claims one of the rows before the save reaches them.
            ledger.DuringFirstSave = async () =>
            {
                h.Clock.Advance(Lease + TimeSpan.FromSeconds(1));
                var now = h.Clock.GetUtcNow();
                (await otherLedger.ClaimAsync("other", now - TimeSpan.FromHours(1), now, now + Lease, 1, CancellationToken.None)).Should().ContainSingle();
            };

            await h.Flusher.FlushAsync();

            h.Logs.GetSnapshot().Should().ContainSingle(r => r.Id.Id == 115).Which.Should().Match<Microsoft.Extensions.Logging.Testing.FakeLogRecord>(r =>
                r.Level == LogLevel.Warning && r.Message.StartsWith("The outcome of sending 1 hours was not recorded: this instance's claim on them ended", StringComparison.Ordinal));
            h.Logs.GetSnapshot().Should().NotContain(r => r.Id.Id == 112, "the clocks agree; the lease ended during the save");
            (await h.EntriesAsync()).Select(r => r.State).Should().BeEquivalentTo([UsageLedgerState.Accepted, UsageLedgerState.Submitting]);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A file still open elsewhere; the temp folder is cleaned by the OS.
            }
        }
    }

    [Theory]
    [InlineData(570)] // past the stop, before the lease's end: the timer that stops the sending has not fired
    [InlineData(660)] // past the lease's end too (a paused VM: its timers did not count the pause)
    public async Task FlushAsync_WallClockJumpsPastTheStopWhileTheTimerDoesNot_SendsNoFurtherSubmission(int jumpSeconds)
    {
        // 150 rows: one submission of 100, then one of 50. The wall clock jumps during the first submission, but the
        // timer that stops the sending runs on elapsed time, which did not move: the clock says the stop has passed, so
        // the second submission must not start (another instance may claim those rows once the lease is over).
        await using var h = await AccumulationHarness.StartAsync(o => (o.LeaseDuration, o.MaxRowsPerClaim) = (Lease, 150));
        for (var i = 1; i <= 150; i++)
        {
            await h.Recorder.RecordAsync(Guid.Parse($"00000000-0000-4000-8000-{i:D12}"), "plan", "calls", 2m, h.HourAgo(2));
        }

        var clock = new SteppedWallClock(h.Clock);
        var jump = new OnFirstCall(() => clock.Step = TimeSpan.FromSeconds(jumpSeconds));
        using var client = SlowClient(h, jump);
        using var flusher = new UsageFlusher(h.Ledger, client, new UsageAccumulationOptions { TimeProvider = clock, LeaseDuration = Lease, MaxRowsPerClaim = 150, LoggerFactory = h.LoggerFactory });

        var result = await flusher.FlushAsync().WaitAsync(TimeSpan.FromSeconds(60));

        BatchCalls(h).Should().Be(4, "only the first submission was sent");
        (result.Claimed, result.Delivered, result.Retrying, result.Superseded).Should().Be((150, 100, 50, 0));
        (await h.EntriesAsync()).GroupBy(r => r.State).ToDictionary(g => g.Key, g => g.Count()).Should().BeEquivalentTo(
            new Dictionary<UsageLedgerState, int> { [UsageLedgerState.Accepted] = 100, [UsageLedgerState.Open] = 50 });
        h.Logs.GetSnapshot().Should().ContainSingle(r => r.Id.Id == 114).Which.Message.Should().StartWith("Sending 50 hours was stopped");
    }

    [Fact]
    public async Task FlushAsync_ClockJumpsPastTheLeaseAndAnotherInstanceTakesEveryRowNotAnswered_DoesNotSayTheyWentBackToOpen()
    {
        // The clock jumps past the lease's end during the first submission; the second one does not start. Before the
        // outcomes are saved another instance claims every row: all are its now, none went back to open from here, so
        // the flush reports them taken over (111), not "sending 0 hours was stopped, they are open again" (114).
        var folder = Directory.CreateTempSubdirectory("mm-lease-").FullName;
        var path = Path.Combine(folder, "usage.db");
        var ledger = new LeaseEndsDuringSave(path);
        try
        {
            await using var h = await AccumulationHarness.StartAsync(o => (o.LeaseDuration, o.MaxRowsPerClaim) = (Lease, 150), ledger: ledger);
            for (var i = 1; i <= 150; i++)
            {
                await h.Recorder.RecordAsync(Guid.Parse($"00000000-0000-4000-8000-{i:D12}"), "plan", "calls", 2m, h.HourAgo(2));
            }

            var clock = new SteppedWallClock(h.Clock);
            await using var otherLedger = new SqliteUsageLedger(path);
            ledger.DuringFirstSave = async () =>
            {
                var now = clock.GetUtcNow();
                (await otherLedger.ClaimAsync("other", now - TimeSpan.FromHours(1), now, now + Lease, 150, CancellationToken.None)).Should().HaveCount(150);
            };
            using var client = SlowClient(h, new OnFirstCall(() => clock.Step = Lease + TimeSpan.FromMinutes(1)));
            using var flusher = new UsageFlusher(h.Ledger, client, new UsageAccumulationOptions { TimeProvider = clock, LeaseDuration = Lease, MaxRowsPerClaim = 150, LoggerFactory = h.LoggerFactory });

            var result = await flusher.FlushAsync().WaitAsync(TimeSpan.FromSeconds(60));

            (result.Claimed, result.Delivered, result.Retrying, result.Superseded).Should().Be((150, 0, 0, 150));
            h.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 111);
            h.Logs.GetSnapshot().Should().NotContain(r => r.Id.Id == 114, "no row went back to open");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A file still open elsewhere; the temp folder is cleaned by the OS.
            }
        }
    }

    [Fact]
    public async Task FlushAsync_WallClockStepsBackWhileRowsAreClaimed_StillStopsBeforeTheLeaseEnds()
    {
        // The clock steps an hour back between the claim (whose lease ends LeaseDuration after the clock read before it)
        // and the start of the sending. The lease still ends LeaseDuration after the claim, in elapsed time; a stop
        // measured from the stepped clock would come an hour too late, long after another instance took the rows.
        var folder = Directory.CreateTempSubdirectory("mm-lease-").FullName;
        var ledger = new StepBackOnClaim(Path.Combine(folder, "usage.db"));
        try
        {
            await using var h = await AccumulationHarness.StartAsync(o => o.LeaseDuration = Lease, ledger: ledger);
            for (var i = 1; i <= 50; i++)
            {
                await h.Recorder.RecordAsync(Guid.Parse($"00000000-0000-4000-8000-{i:D12}"), "plan", "calls", 1m, h.HourAgo(2));
            }

            var clock = new SteppedWallClock(h.Clock);
            ledger.Claimed = () => clock.Step = TimeSpan.FromHours(-1);
            h.Emulator.Faults.Enqueue(EmulatorFault.Latency(NoAnswer), EmulatorFault.Latency(NoAnswer));
            using var client = SlowClient(h);
            using var flusher = new UsageFlusher(h.Ledger, client, new UsageAccumulationOptions { TimeProvider = clock, LeaseDuration = Lease, LoggerFactory = h.LoggerFactory });
            var result = await FlushUntilStoppedAsync(flusher, () => BatchCalls(h) == 2, "both batches reach the service", () => h.Clock.Advance(StopAfter));

            (result.Claimed, result.Delivered, result.Retrying).Should().Be((50, 0, 50));
            (await h.EntriesAsync()).Should().HaveCount(50).And.OnlyContain(r => r.State == UsageLedgerState.Open);
            h.Logs.GetSnapshot().Should().ContainSingle(r => r.Id.Id == 114);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A file still open elsewhere; the temp folder is cleaned by the OS.
            }
        }
    }

    [Fact]
    public async Task FlushAsync_ClaimTakesLongerThanTheLeaseLessTheMargin_SendsNothingAndSaysToRaiseLeaseDurationEveryFlush()
    {
        // A 1-second lease (the shortest allowed) stops sending 100 ms before its end; the ledger takes 950 ms to claim.
        // Nothing can ever be sent: each flush must say that the claim, not the service, is too slow, and what to raise.
        var folder = Directory.CreateTempSubdirectory("mm-lease-").FullName;
        var ledger = new SlowClaim(Path.Combine(folder, "usage.db"));
        try
        {
            await using var h = await AccumulationHarness.StartAsync(o => o.LeaseDuration = TimeSpan.FromSeconds(1), ledger: ledger);
            for (var i = 1; i <= 3; i++)
            {
                await h.Recorder.RecordAsync(Guid.Parse($"00000000-0000-4000-8000-{i:D12}"), "plan", "calls", 1m, h.HourAgo(2));
            }

            ledger.Claiming = () => h.Clock.Advance(TimeSpan.FromMilliseconds(950));

            var first = await h.Flusher.FlushAsync().WaitAsync(TimeSpan.FromSeconds(60));
            var second = await h.Flusher.FlushAsync().WaitAsync(TimeSpan.FromSeconds(60));

            (first.Claimed, first.Delivered, first.Retrying).Should().Be((3, 0, 3));
            (second.Claimed, second.Delivered, second.Retrying).Should().Be((3, 0, 3));
            BatchCalls(h).Should().Be(0, "the stop had passed when the claim returned");
            (await h.EntriesAsync()).Should().HaveCount(3).And.OnlyContain(r => r.State == UsageLedgerState.Open);
            var logged = h.Logs.GetSnapshot().Where(r => r.Id.Id == 116).ToList();
            logged.Should().HaveCount(2, "every flush that sends nothing for this reason says so").And.OnlyContain(r =>
                r.Level == LogLevel.Error
                && r.Message.StartsWith("Claiming 3 hours took 00:00:00.9500000 by this instance's clock, which left no time to send them: sending a claim stops 00:00:00.1000000 before its lease ends (LeaseDuration 00:00:01)", StringComparison.Ordinal)
                && r.Message.Contains("Raise LeaseDuration", StringComparison.Ordinal));
            h.Logs.GetSnapshot().Should().NotContain(r => r.Id.Id == 114, "the service was never called, so it is not the one too slow");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A file still open elsewhere; the temp folder is cleaned by the OS.
            }
        }
    }

    [Fact]
    public async Task FlushAsync_ClaimTakesMostOfTheLeaseButLeavesTimeToSend_SendsAsBefore()
    {
        var folder = Directory.CreateTempSubdirectory("mm-lease-").FullName;
        var ledger = new SlowClaim(Path.Combine(folder, "usage.db"));
        try
        {
            await using var h = await AccumulationHarness.StartAsync(o => o.LeaseDuration = TimeSpan.FromSeconds(1), ledger: ledger);
            for (var i = 1; i <= 3; i++)
            {
                await h.Recorder.RecordAsync(Guid.Parse($"00000000-0000-4000-8000-{i:D12}"), "plan", "calls", 1m, h.HourAgo(2));
            }

            ledger.Claiming = () => h.Clock.Advance(TimeSpan.FromMilliseconds(850));

            var result = await h.Flusher.FlushAsync().WaitAsync(TimeSpan.FromSeconds(60));

            (result.Claimed, result.Delivered, result.Retrying).Should().Be((3, 3, 0));
            h.Emulator.Ledger.Count.Should().Be(3);
            h.Logs.GetSnapshot().Should().NotContain(r => r.Id.Id == 116 || r.Id.Id == 114);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A file still open elsewhere; the temp folder is cleaned by the OS.
            }
        }
    }

    /// <summary>The number of batch calls the emulator received.</summary>
    private static int BatchCalls(AccumulationHarness h) => h.Emulator.Requests.Count(r => r.Path == "/api/batchUsageEvent");

    private static int EventsIn(string json)
    {
        using var body = System.Text.Json.JsonDocument.Parse(json);
        return body.RootElement.GetProperty("request").GetArrayLength();
    }

    /// <summary>
    /// A client of the emulator on a clock of its own (so the flusher's clock moving does not time its calls out) that
    /// does not retry: a call is answered, or waits until it is cancelled.
    /// </summary>
    /// <summary>
    /// Starts a flush, waits until <paramref name="reached"/> holds, runs <paramref name="then"/> (moves the clock to or
    /// near the stop) and returns the flush's result. Should the flush not stop by itself (the bug), it is cancelled after
    /// 60 seconds, so that the test fails rather than hangs.
    /// </summary>
    private static async Task<UsageFlushResult> FlushUntilStoppedAsync(UsageFlusher flusher, Func<bool> reached, string because, Action then)
    {
        using var guard = new CancellationTokenSource();
        var flush = flusher.FlushAsync(guard.Token);
        try
        {
            await Eventually.HoldsAsync(reached, because);
            then();
            return await flush.WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            await guard.CancelAsync();
        }
    }

    private static MeteringClient SlowClient(AccumulationHarness h, HttpMessageHandler? handler = null)
    {
        var options = new MeteringClientOptions { Endpoint = h.Emulator.Endpoint, TimeProvider = new TestClock(h.Clock.GetUtcNow()) };
        options.Retry.MaxRetries = 0;
        return handler is null ? new MeteringClient(h.Emulator.Credential, options) : new MeteringClient(new HttpClient(handler), h.Emulator.Credential, options);
    }

    /// <summary>
    /// A wall clock that can be stepped (an NTP correction, a VM resumed after a pause) while elapsed time and the timers,
    /// which run on <paramref name="elapsed"/>, do not see the step.
    /// </summary>
    private sealed class SteppedWallClock(TestClock elapsed) : TimeProvider
    {
        private long _stepTicks;

        public TimeSpan Step
        {
            get => TimeSpan.FromTicks(Interlocked.Read(ref _stepTicks));
            set => Interlocked.Exchange(ref _stepTicks, value.Ticks);
        }

        public override DateTimeOffset GetUtcNow() => elapsed.GetUtcNow() + Step;

        public override long GetTimestamp() => elapsed.GetTimestamp();

        public override long TimestampFrequency => elapsed.TimestampFrequency;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            elapsed.CreateTimer(callback, state, dueTime, period);
    }

    /// <summary>Runs an action when the first call arrives, then lets every call through to the service.</summary>
    private sealed class OnFirstCall(Action first) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _calls;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                first();
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>A SQLite ledger that runs <see cref="Claimed"/> once rows were claimed, before it returns them.</summary>
    private sealed class StepBackOnClaim(string path) : DelegatingUsageLedger(path)
    {
        public Action? Claimed { get; set; }

        protected internal override async Task<IReadOnlyList<UsageLedgerEntry>> ClaimAsync(string owner, DateTimeOffset latestHour, DateTimeOffset now, DateTimeOffset leaseUntil, int maxEntries, CancellationToken cancellationToken)
        {
            var rows = await base.ClaimAsync(owner, latestHour, now, leaseUntil, maxEntries, cancellationToken);
            if (rows.Count > 0)
            {
                Claimed?.Invoke();
            }

            return rows;
        }
    }

    /// <summary>A SQLite ledger whose claim runs <see cref="Claiming"/> (moves the clock: a slow claim) once it claimed rows.</summary>
    private sealed class SlowClaim(string path) : DelegatingUsageLedger(path)
    {
        public Action? Claiming { get; set; }

        protected internal override async Task<IReadOnlyList<UsageLedgerEntry>> ClaimAsync(string owner, DateTimeOffset latestHour, DateTimeOffset now, DateTimeOffset leaseUntil, int maxEntries, CancellationToken cancellationToken)
        {
            var rows = await base.ClaimAsync(owner, latestHour, now, leaseUntil, maxEntries, cancellationToken);
            if (rows.Count > 0)
            {
                Claiming?.Invoke();
            }

            return rows;
        }
    }

    /// <summary>Holds every call until <see cref="Release"/>, then lets it through to the service.</summary>
    private sealed class HeldCalls() : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _waiting;

        public int Waiting => Volatile.Read(ref _waiting);

        public void Release() => _released.TrySetResult();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _waiting);
            await _released.Task.WaitAsync(cancellationToken);
            return await base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>A SQLite ledger that runs <see cref="DuringFirstSave"/> inside the first save of outcomes, before it writes them.</summary>
    private sealed class LeaseEndsDuringSave(string path) : DelegatingUsageLedger(path)
    {
        private int _saves;

        public Func<Task>? DuringFirstSave { get; set; }

        protected internal override async Task<int> CompleteAsync(IReadOnlyList<UsageOutcome> outcomes, DateTimeOffset now, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _saves) == 1 && DuringFirstSave is { } during)
            {
                await during();
            }

            return await base.CompleteAsync(outcomes, now, cancellationToken);
        }
    }
}
