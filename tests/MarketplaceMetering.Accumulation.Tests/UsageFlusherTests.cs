using System.Diagnostics.Metrics;
using Azure.Core;
using MarketplaceMetering.Emulator;
using MarketplaceMetering.Tests;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>
/// The flusher over the SQLite ledger; <see cref="PostgreSqlUsageFlusherTests"/> runs the same tests over PostgreSQL.
/// Some tests sum the process-wide accumulation meter, so these run alone (see <see cref="AccumulationTelemetryGroup"/>).
/// </summary>
[Collection(AccumulationTelemetryGroup.Name)]
public class UsageFlusherTests
{
    private static readonly Guid A = Guid.Parse("3f1c2b4a-0d5e-4b6f-8a7c-9e0d1f2a3b4c");
    private static readonly Guid B = Guid.Parse("7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d");

    [SkippableFact]
    public async Task FlushAsync_SendsHoursClosedLongerThanTheGrace_AndKeepsTheRest()
    {
        await using var h = await StartAsync(o => o.Grace = TimeSpan.FromMinutes(5));
        await h.Recorder.RecordAsync(A, "plan", "calls", 3m, h.HourAgo(2));
        await h.Recorder.RecordAsync(B, "plan", "calls", 4.5m, h.HourAgo(1));
        await h.Recorder.RecordAsync(A, "plan", "calls", 9m); // the current hour: not closed

        // 10:17 now: the hour 09:00 closed at 10:00, longer than 5 minutes ago; 08:00 too.
        var result = await h.Flusher.FlushAsync();

        result.Claimed.Should().Be(2);
        result.Delivered.Should().Be(2);
        var rows = await h.EntriesAsync();
        rows.Where(r => r.State == UsageLedgerState.Accepted).Select(r => (r.Hour, r.Quantity)).Should().BeEquivalentTo([(h.HourAgo(2), 3m), (h.HourAgo(1), 4.5m)]);
        rows.Single(r => r.State == UsageLedgerState.Open).Hour.Should().Be(h.HourAgo(0));
        h.Emulator.Ledger.Entries.Select(e => (e.ResourceId, e.EffectiveStartTime, e.Quantity)).Should().BeEquivalentTo([(A, h.HourAgo(2), 3m), (B, h.HourAgo(1), 4.5m)]);

        // The ledger keeps the service's own event ids.
        rows.Where(r => r.IsDelivered).Select(r => r.UsageEventId).Should().BeEquivalentTo(h.Emulator.Ledger.Entries.Select(e => (Guid?)e.UsageEventId));
    }

    [SkippableFact]
    public async Task FlushAsync_HourInsideTheGrace_NotSentUntilTheGracePasses()
    {
        await using var h = await StartAsync(o => o.Grace = TimeSpan.FromMinutes(30));
        await h.Recorder.RecordAsync(A, "plan", "calls", 1m, h.HourAgo(1)); // closed 17 minutes ago

        (await h.Flusher.FlushAsync()).Claimed.Should().Be(0);
        h.Emulator.Ledger.Count.Should().Be(0);

        h.Clock.Advance(TimeSpan.FromMinutes(14));
        (await h.Flusher.FlushAsync()).Delivered.Should().Be(1);
    }

    [SkippableFact]
    public async Task Record_ForAnHourAlreadySent_CarriedIntoTheCurrentHourAndVisible()
    {
        await using var h = await StartAsync();
        await h.Recorder.RecordAsync(A, "plan", "calls", 5m, h.HourAgo(1));
        await h.Flusher.FlushAsync();

        await h.Recorder.RecordAsync(A, "plan", "calls", 2m, h.HourAgo(1).AddMinutes(30));

        var rows = await h.EntriesAsync();
        rows.Single(r => r.Hour == h.HourAgo(1)).Quantity.Should().Be(5m, "what was sent is not changed");
        rows.Single(r => r.Hour == h.HourAgo(0)).Quantity.Should().Be(2m);
        var move = (await h.Ledger.GetCarryForwardsAsync(h.From, h.To)).Should().ContainSingle().Subject;
        (move.FromHour, move.IntoHour, move.Quantity, move.Dimension).Should().Be((h.HourAgo(1), h.HourAgo(0), 2m, "calls"));
        h.Emulator.Ledger.Count.Should().Be(1);

        // The carried usage is billed with the current hour once that one closes.
        h.Clock.Advance(TimeSpan.FromHours(1));
        await h.Flusher.FlushAsync();
        h.Emulator.Ledger.Entries.Select(e => (e.EffectiveStartTime, e.Quantity)).Should().BeEquivalentTo([(h.HourAgo(2), 5m), (h.HourAgo(1), 2m)]);
    }

    [SkippableFact]
    public async Task FlushAsync_AfterACrashBetweenClaimAndOutcome_ResendsAndTheReplayMarksItDelivered()
    {
        await using var h = await StartAsync(o => o.LeaseDuration = TimeSpan.FromMinutes(5));
        await h.Recorder.RecordAsync(A, "plan", "calls", 8m, h.HourAgo(2));
        await h.Recorder.RecordAsync(B, "plan", "calls", 1m, h.HourAgo(2));

        // An instance claims both rows, the service accepts A, and the instance dies before recording anything.
        var now = h.Clock.GetUtcNow();
        var claimed = await h.Ledger.ClaimAsync("dead", now - TimeSpan.FromHours(1), now, now + TimeSpan.FromMinutes(5), 10, CancellationToken.None);
        claimed.Should().HaveCount(2);
        await h.Client.SubmitUsageEventAsync(UsageEvent.ForResourceId(A, "plan", "calls", 8m, h.HourAgo(2)));

        (await h.Flusher.FlushAsync()).Claimed.Should().Be(0, "the dead instance's lease has not ended");
        h.Clock.Advance(TimeSpan.FromMinutes(5));
        var result = await h.Flusher.FlushAsync();

        result.Delivered.Should().Be(2);
        var rows = await h.EntriesAsync();
        rows.Single(r => r.Resource == A).State.Should().Be(UsageLedgerState.Replayed);
        rows.Single(r => r.Resource == B).State.Should().Be(UsageLedgerState.Accepted);
        rows.Should().OnlyContain(r => r.Attempts == 2);
        h.Emulator.Ledger.Entries.Should().HaveCount(2, "each hour billed once");
    }

    [SkippableFact]
    public async Task CompleteAsync_OutcomeFromALapsedClaim_IsIgnored()
    {
        await using var h = await StartAsync();
        await h.Recorder.RecordAsync(A, "plan", "calls", 1m, h.HourAgo(2));
        var now = h.Clock.GetUtcNow();
        var first = (await h.Ledger.ClaimAsync("slow", now - TimeSpan.FromHours(1), now, now + TimeSpan.FromSeconds(1), 10, CancellationToken.None)).Single();
        var second = (await h.Ledger.ClaimAsync("other", now - TimeSpan.FromHours(1), now + TimeSpan.FromSeconds(2), now + TimeSpan.FromMinutes(5), 10, CancellationToken.None)).Single();

        var changed = await h.Ledger.CompleteAsync([new UsageOutcome(first.Id, first.ClaimId!.Value, UsageLedgerState.Failed, null, "late")], now, CancellationToken.None);

        changed.Should().Be(0);
        second.ClaimId.Should().NotBe(first.ClaimId!.Value);
        (await h.EntriesAsync()).Single().State.Should().Be(UsageLedgerState.Submitting);
    }

    [SkippableTheory]
    [InlineData(2)] // the other instance takes both rows
    [InlineData(1)] // it takes one; the outcome of the other is still this instance's to record
    public async Task FlushAsync_LeaseEndsWhileSendingAndAnotherInstanceTakesRows_CountsOnlyTheRowsItRecorded(int takenByOther)
    {
        await using var h = await StartAsync(o => o.LeaseDuration = TimeSpan.FromMinutes(5));
        await h.Recorder.RecordAsync(A, "plan", "calls", 8m, h.HourAgo(2));
        await h.Recorder.RecordAsync(B, "plan", "calls", 1m, h.HourAgo(2));
        await using var otherLedger = OpenAgain(h);
        var otherDelivered = 0;

        // This instance's send is held up past its lease. Meanwhile another instance claims rows, sends them and records
        // them delivered; then this send goes through (a replay of what the other sent), and its outcomes find those
        // rows no longer its own. The slow client keeps its own clock, so moving the ledger's clock does not time it out;
        // and it does not stop when the flusher asks it to before the lease ends (the clock jumps past both at once), so
        // the send goes through after the lease ended.
        var clientOptions = new MeteringClientOptions { Endpoint = h.Emulator.Endpoint, TimeProvider = new MarketplaceMetering.Testing.TestClock(h.Clock.GetUtcNow()) };
        var slow = new BeforeFirstSend(async () =>
        {
            h.Clock.Advance(TimeSpan.FromMinutes(6));
            var now = h.Clock.GetUtcNow();
            var taken = await otherLedger.ClaimAsync("other", now - TimeSpan.FromHours(1), now, now + TimeSpan.FromMinutes(5), takenByOther, CancellationToken.None);
            foreach (var row in taken)
            {
                var sent = (UsageEventResult.Accepted)await h.Client.SubmitUsageEventAsync(UsageEvent.ForResourceId(row.Resource == A ? A : B, row.PlanId, row.Dimension, row.Quantity, row.Hour));
                otherDelivered += await otherLedger.CompleteAsync([new UsageOutcome(row.Id, row.ClaimId!.Value, UsageLedgerState.Accepted, sent.UsageEventId, null)], now, CancellationToken.None);
            }
        });
        using var client = new SendsThroughCancellation(new HttpClient(slow), h.Emulator.Credential, clientOptions);
        using var flusher = new UsageFlusher(h.Ledger, client, h.Options);

        var result = await flusher.FlushAsync();

        otherDelivered.Should().Be(takenByOther);
        result.Claimed.Should().Be(2);
        result.Superseded.Should().Be(takenByOther);
        result.Delivered.Should().Be(2 - takenByOther, "a row whose outcome another instance recorded is counted by that instance only");
        (result.Delivered + otherDelivered).Should().Be(2, "each row is counted as delivered once");
        (await h.EntriesAsync()).Should().OnlyContain(r => r.IsDelivered);
        h.Emulator.Ledger.Entries.Should().HaveCount(2, "each hour billed once");
        h.Logs.GetSnapshot().Should().Contain(r => r.Level == LogLevel.Warning && r.Id.Id == 111 && r.Message.Contains(takenByOther + " hours", StringComparison.Ordinal));
        h.Logs.GetSnapshot().Should().NotContain(r => r.Id.Id == 114, "the send was answered in full: the flusher's request to stop it stopped nothing");
    }

    [SkippableFact]
    public async Task FlushAsync_LeaseEndsWhileSendingAndAnotherInstanceTakesEveryRow_SummaryCountsThemAsTakenOver()
    {
        // Claimed 2, and none delivered, retrying, conflicting, refused or expired here: the summary must say where the
        // two went, or it reads as two hours claimed and nothing done with them.
        await using var h = await StartAsync(o => o.LeaseDuration = TimeSpan.FromMinutes(5));
        await h.Recorder.RecordAsync(A, "plan", "calls", 8m, h.HourAgo(2));
        await h.Recorder.RecordAsync(B, "plan", "calls", 1m, h.HourAgo(2));
        await using var otherLedger = OpenAgain(h);
        var clientOptions = new MeteringClientOptions { Endpoint = h.Emulator.Endpoint, TimeProvider = new MarketplaceMetering.Testing.TestClock(h.Clock.GetUtcNow()) };
        var slow = new BeforeFirstSend(async () =>
        {
            h.Clock.Advance(TimeSpan.FromMinutes(6));
            var now = h.Clock.GetUtcNow();
            (await otherLedger.ClaimAsync("other", now - TimeSpan.FromHours(1), now, now + TimeSpan.FromMinutes(5), 10, CancellationToken.None)).Should().HaveCount(2);
        });
        using var client = new SendsThroughCancellation(new HttpClient(slow), h.Emulator.Credential, clientOptions);
        using var flusher = new UsageFlusher(h.Ledger, client, h.Options);

        var result = await flusher.FlushAsync();

        result.Superseded.Should().Be(2);
        h.Logs.GetSnapshot().Where(r => r.Id.Id == 107).Should().ContainSingle().Which.Message.Should()
            .StartWith("Flushed 2 hours: 0 delivered").And.Contain("2 taken over by another instance");
    }

    [SkippableFact]
    public async Task FlushAsync_AnotherInstanceWhoseClockIsAheadTakesRowsDuringTheLease_WarnsThatTheClocksDiffer()
    {
        await using var h = await StartAsync(o => o.LeaseDuration = TimeSpan.FromMinutes(5));
        await h.Recorder.RecordAsync(A, "plan", "calls", 8m, h.HourAgo(2));
        await using var otherLedger = OpenAgain(h);

        // By this instance's clock its lease has not ended; the other instance's clock is 6 minutes ahead, so by its own
        // it has, and it takes the row. This instance cannot tell which of its outcomes were ignored, and says so.
        var clientOptions = new MeteringClientOptions { Endpoint = h.Emulator.Endpoint, TimeProvider = h.Clock };
        var slow = new BeforeFirstSend(async () =>
        {
            var ahead = h.Clock.GetUtcNow() + TimeSpan.FromMinutes(6);
            (await otherLedger.ClaimAsync("other", ahead - TimeSpan.FromHours(1), ahead, ahead + TimeSpan.FromMinutes(5), 10, CancellationToken.None)).Should().ContainSingle();
        });
        using var client = new MeteringClient(new HttpClient(slow), h.Emulator.Credential, clientOptions);
        using var flusher = new UsageFlusher(h.Ledger, client, h.Options);

        await flusher.FlushAsync();

        h.Logs.GetSnapshot().Should().Contain(r => r.Level == LogLevel.Warning && r.Id.Id == 112 && r.Message.Contains("1 hours", StringComparison.Ordinal));
        (await h.EntriesAsync()).Single().State.Should().Be(UsageLedgerState.Submitting, "the row is the other instance's now");
    }

    [SkippableFact]
    public async Task FlushAsync_ServiceHoldsTheHourWithAnotherQuantity_RecordsAConflictAndReportsIt()
    {
        await using var h = await StartAsync();
        using var metrics = new MetricCollector();
        await h.Client.SubmitUsageEventAsync(UsageEvent.ForResourceId(A, "plan", "calls", 100m, h.HourAgo(1)));
        await h.Recorder.RecordAsync(A, "plan", "calls", 3m, h.HourAgo(1));

        var result = await h.Flusher.FlushAsync();

        result.Conflicts.Should().Be(1);
        var row = (await h.EntriesAsync()).Single();
        row.State.Should().Be(UsageLedgerState.Conflict);
        row.Detail.Should().Contain("100").And.Contain("3");
        row.UsageEventId.Should().Be(h.Emulator.Ledger.Entries.Single().UsageEventId);
        h.Logs.GetSnapshot().Should().Contain(r => r.Level == LogLevel.Error && r.Id.Id == 105);
        metrics.Sum("marketplace_metering.accumulation.conflicts").Should().Be(1);
    }

    [SkippableFact]
    public async Task FlushAsync_ServiceRefusesTheResource_MarkedFailedNotRetried()
    {
        await using var h = await StartAsync();
        h.Emulator.SetResourceStatus(A, EmulatedResourceStatus.Unsubscribed);
        await h.Recorder.RecordAsync(A, "plan", "calls", 3m, h.HourAgo(1));

        var result = await h.Flusher.FlushAsync();

        result.Failed.Should().Be(1);
        var row = (await h.EntriesAsync()).Single();
        row.State.Should().Be(UsageLedgerState.Failed);
        row.Detail.Should().NotBeNullOrEmpty();
        (await h.Flusher.FlushAsync()).Claimed.Should().Be(0);
    }

    [SkippableFact]
    public async Task FlushAsync_ServiceDown_RowsGoBackToOpenAndAreSentByALaterFlush()
    {
        await using var h = await StartAsync();
        await h.Recorder.RecordAsync(A, "plan", "calls", 2m, h.HourAgo(1));
        h.Emulator.Faults.Settings.ServerErrorProbability = 1;

        var down = await h.Flusher.FlushAsync();

        down.Retrying.Should().Be(1);
        var row = (await h.EntriesAsync()).Single();
        (row.State, row.Attempts).Should().Be((UsageLedgerState.Open, 1));
        row.Detail.Should().NotBeNullOrEmpty();

        h.Emulator.Faults.Settings.ServerErrorProbability = 0;
        (await h.Flusher.FlushAsync()).Delivered.Should().Be(1);
        h.Emulator.Ledger.Entries.Single().Quantity.Should().Be(2m);
    }

    [SkippableFact]
    public async Task FlushAsync_ServiceDownPastTheDeadline_ExpiredReportedThreeWaysAndNothingSentLate()
    {
        await using var h = await StartAsync();
        using var metrics = new MetricCollector();
        await h.Recorder.RecordAsync(A, "plan", "calls", 2.5m, h.HourAgo(3));
        await h.Recorder.RecordAsync(B, "plan", "calls", 1m, h.HourAgo(3));
        h.Emulator.Faults.Settings.ServerErrorProbability = 1;
        await h.Flusher.FlushAsync();

        // The service stays down until after the hour's deadline (24 hours after it began, less 2 minutes).
        h.Clock.Advance(h.HourAgo(3).AddHours(24) - h.Clock.GetUtcNow());
        h.Emulator.Faults.Settings.ServerErrorProbability = 0;
        h.Emulator.ClearRequests();
        var result = await h.Flusher.FlushAsync();

        result.Expired.Should().Be(2);
        (await h.Ledger.GetExpiredAsync(h.From, h.To)).Select(e => (e.Resource, e.Quantity)).Should().BeEquivalentTo([((UsageResource)A, 2.5m), ((UsageResource)B, 1m)]);
        h.Logs.GetSnapshot().Where(r => r.Level == LogLevel.Error && r.Id.Id == 103).Should().HaveCount(2);
        metrics.Sum("marketplace_metering.accumulation.expired").Should().Be(2);
        metrics.Sum("marketplace_metering.accumulation.expired.quantity").Should().Be(3.5);
        h.Emulator.Requests.Should().BeEmpty("nothing is sent after its deadline");
        h.Emulator.Ledger.Count.Should().Be(0);
    }

    [SkippableFact]
    public async Task FlushAsync_UnsentUsageNearItsDeadline_WarnsOncePerRow()
    {
        await using var h = await StartAsync(o => o.DeadlineWarningMargin = TimeSpan.FromHours(2));
        using var metrics = new MetricCollector();
        await h.Recorder.RecordAsync(A, "plan", "calls", 1m, h.HourAgo(1));
        h.Emulator.Faults.Settings.ServerErrorProbability = 1;

        // 21 hours later the hour (deadline 08:58 tomorrow) is 1 h 41 min from its deadline.
        h.Clock.Advance(TimeSpan.FromHours(21));
        var first = await h.Flusher.FlushAsync();
        var second = await h.Flusher.FlushAsync();

        (first.NearDeadline, second.NearDeadline).Should().Be((1, 1));
        h.Logs.GetSnapshot().Where(r => r.Level == LogLevel.Warning && r.Id.Id == 104).Should().ContainSingle();
        metrics.Sum("marketplace_metering.accumulation.deadline_warnings").Should().Be(1);
    }

    [SkippableFact]
    public async Task FlushAsync_WarnedRowSentOrExpiredLater_IsForgotten()
    {
        await using var h = await StartAsync(o => o.DeadlineWarningMargin = TimeSpan.FromHours(2));
        await h.Recorder.RecordAsync(A, "plan", "calls", 1m, h.HourAgo(1));
        await h.Recorder.RecordAsync(B, "plan", "calls", 2m, h.HourAgo(1));
        h.Emulator.Faults.Settings.ServerErrorProbability = 1;
        h.Clock.Advance(TimeSpan.FromHours(21));
        (await h.Flusher.FlushAsync()).NearDeadline.Should().Be(2);
        h.Flusher.WarnedCount.Should().Be(2);

        // The service comes back: both rows are sent, and leave the window.
        h.Emulator.Faults.Settings.ServerErrorProbability = 0;
        (await h.Flusher.FlushAsync()).Delivered.Should().Be(2);
        await h.Flusher.FlushAsync();

        h.Flusher.WarnedCount.Should().Be(0, "a flusher that runs for months must not remember every row it warned about");
        h.Logs.GetSnapshot().Where(r => r.Level == LogLevel.Warning && r.Id.Id == 104).Should().HaveCount(2, "each row was warned about once");
    }

    [SkippableFact]
    public async Task FlushAsync_BatchWhoseEarliestEventReachesItsDeadlineWhileRetrying_OthersArePlannedAgain()
    {
        await using var h = await StartAsync();
        await h.Recorder.RecordAsync(A, "plan", "calls", 1m, h.HourAgo(3));
        await h.Recorder.RecordAsync(B, "plan", "calls", 2m, h.HourAgo(1));
        h.Emulator.Faults.Settings.ServerErrorProbability = 1;

        // Just before the older hour's deadline: its retries stop there, and the batch fails as a whole.
        h.Clock.Advance(h.HourAgo(3).AddHours(24).AddMinutes(-3) - h.Clock.GetUtcNow());
        var failed = await h.Flusher.FlushAsync();
        failed.Retrying.Should().Be(2);

        h.Clock.Advance(TimeSpan.FromMinutes(2));
        h.Emulator.Faults.Settings.ServerErrorProbability = 0;
        var result = await h.Flusher.FlushAsync();

        (result.Expired, result.Delivered).Should().Be((1, 1));
        h.Emulator.Ledger.Entries.Should().ContainSingle().Which.ResourceId.Should().Be(B);
    }

    [SkippableFact]
    public async Task FlushAsync_OneRowTheServiceAlwaysFailsWithItsBatch_TheRowsPlannedWithItAreStillDelivered()
    {
        // A poison row: every call that carries it gets a 500, whatever else is in the batch.
        await using var h = await StartAsync();
        var poison = Guid.Parse("00000000-0000-4000-8000-0000000000ff");
        var others = Enumerable.Range(1, 40).Select(i => Guid.Parse($"00000000-0000-4000-8000-{i:D12}")).ToList();
        await h.Recorder.RecordAsync(poison, "plan", "calls", 1m, h.HourAgo(3));
        foreach (var other in others)
        {
            await h.Recorder.RecordAsync(other, "plan", "calls", 2m, h.HourAgo(3));
        }

        var clientOptions = new MeteringClientOptions { Endpoint = h.Emulator.Endpoint, TimeProvider = h.Clock };
        clientOptions.Retry.Delay = TimeSpan.Zero;
        var handler = new FailCallsCarrying(poison);
        using var failing = new MeteringClient(new HttpClient(handler), h.Emulator.Credential, clientOptions);
        using var flusher = new UsageFlusher(h.Ledger, failing, h.Options);

        var result = await flusher.FlushAsync();

        result.Delivered.Should().Be(40, "the poison row's batch-mates are sent again in smaller batches until they are free of it");
        h.Emulator.Ledger.Entries.Select(e => e.ResourceId).Should().BeEquivalentTo(others);
        var row = (await h.EntriesAsync()).Single(r => r.Resource == poison);
        row.State.Should().Be(UsageLedgerState.Open, "it may still pass, and is tried again by the next flush");

        // Within the one flush it ended up alone in its batch: the last call that carried it carried nothing else.
        EventsIn(handler.LastFailedBody!).Should().Be(1);
        (await flusher.FlushAsync()).Claimed.Should().Be(1, "only the poison row is left to send");
    }

    [SkippableFact]
    public async Task FlushAsync_AfterAnOutageOfSeveralFlushes_RowsGoInFullBatchesAgain()
    {
        // Failing together with everything else (an outage) says nothing against a row: no smaller batches afterwards.
        await using var h = await StartAsync();
        for (var i = 1; i <= 50; i++)
        {
            await h.Recorder.RecordAsync(Guid.Parse($"00000000-0000-4000-8000-{i:D12}"), "plan", "calls", i, h.HourAgo(2));
        }

        h.Emulator.Faults.Settings.ServerErrorProbability = 1;
        for (var flush = 0; flush < 3; flush++)
        {
            (await h.Flusher.FlushAsync()).Retrying.Should().Be(50);
        }

        h.Emulator.Faults.Settings.ServerErrorProbability = 0;
        h.Emulator.ClearRequests();
        var result = await h.Flusher.FlushAsync();

        result.Delivered.Should().Be(50);
        h.Emulator.Requests.Select(EventsIn).Should().Equal(25, 25);
        (await h.EntriesAsync()).Should().OnlyContain(r => r.Attempts == 4);
    }

    [SkippableFact]
    public async Task FlushAsync_TwoFlushersOnOneLedger_EachRowSentOnce()
    {
        await using var h = await StartAsync(o => o.MaxRowsPerClaim = 7);
        for (var i = 0; i < 60; i++)
        {
            await h.Recorder.RecordAsync(Guid.NewGuid(), "plan", "calls", i + 1, h.HourAgo(1 + (i % 3)));
        }

        var secondOptions = new UsageAccumulationOptions { TimeProvider = h.Clock, InstanceName = "second", MaxRowsPerClaim = 7 };
        using var second = new UsageFlusher(OpenAgain(h), h.Client, secondOptions);

        var results = await Task.WhenAll(Task.Run(() => h.Flusher.FlushAsync()), Task.Run(() => second.FlushAsync()));

        results.Sum(r => r.Claimed).Should().Be(60);
        h.Emulator.Ledger.Count.Should().Be(60);
        h.Emulator.Requests.Sum(EventsIn).Should().Be(60, "no row is sent twice");
        (await h.EntriesAsync(UsageLedgerState.Accepted)).Sum(e => e.Quantity).Should().Be(Enumerable.Range(1, 60).Sum());
    }

    [SkippableFact]
    public async Task FlushAsync_Cancelled_RowsGoBackToOpenAtOnce()
    {
        await using var h = await StartAsync();
        await h.Recorder.RecordAsync(A, "plan", "calls", 1m, h.HourAgo(1));
        h.Emulator.Faults.Enqueue(EmulatorFault.Latency(TimeSpan.FromMinutes(1)));
        using var cancel = new CancellationTokenSource();

        var flush = h.Flusher.FlushAsync(cancel.Token);
        await Eventually.HoldsAsync(() => h.Emulator.Requests.Count > 0, "the batch reaches the service");
        await cancel.CancelAsync();

        await flush.Invoking(f => f).Should().ThrowAsync<OperationCanceledException>();
        (await h.EntriesAsync()).Single().State.Should().Be(UsageLedgerState.Open);
    }


    [SkippableFact]
    public async Task FlushAsync_CancelledAfterSomeRowsWereAnswered_ReportsTheirOutcomesAsAFinishedFlushDoes()
    {
        // A row the service fails with its batch while another row gets through is sent afterwards in a batch of its own.
        // The flush is cancelled (the host stopping) while that batch is in flight, after the service answered the others
        // with a conflict: the conflict is recorded, and must be reported too (log 105, the metrics), not only written.
        await using var h = await StartAsync();
        using var metrics = new MetricCollector();
        var poison = Guid.Parse("00000000-0000-4000-8000-0000000000ff");
        await h.Recorder.RecordAsync(poison, "plan", "calls", 1m, h.HourAgo(3));
        foreach (var other in Enumerable.Range(1, 25).Select(i => Guid.Parse($"00000000-0000-4000-8000-{i:D12}")))
        {
            await h.Recorder.RecordAsync(other, "plan", "calls", 2m, h.HourAgo(3));
        }

        var clientOptions = new MeteringClientOptions { Endpoint = h.Emulator.Endpoint, TimeProvider = h.Clock };
        clientOptions.Retry.MaxRetries = 0;
        using var cancel = new CancellationTokenSource();
        var handler = new PoisonCalls(poison);
        using var client = new MeteringClient(new HttpClient(handler), h.Emulator.Credential, clientOptions);
        using var flusher = new UsageFlusher(h.Ledger, client, h.Options);
        (await flusher.FlushAsync()).Delivered.Should().Be(25, "the others got through; the poison row stays open, suspected");

        await h.Client.SubmitUsageEventAsync(UsageEvent.ForResourceId(A, "plan", "calls", 100m, h.HourAgo(2)));
        await h.Recorder.RecordAsync(A, "plan", "calls", 3m, h.HourAgo(2));
        handler.OnPoison = async token =>
        {
            await cancel.CancelAsync();
            await Task.Delay(Timeout.InfiniteTimeSpan, token);
        };

        var flush = () => flusher.FlushAsync(cancel.Token).WaitAsync(TimeSpan.FromSeconds(60));

        await flush.Should().ThrowAsync<OperationCanceledException>();
        var rows = await h.EntriesAsync();
        rows.Single(r => r.Resource == A).State.Should().Be(UsageLedgerState.Conflict);
        rows.Single(r => r.Resource == poison).State.Should().Be(UsageLedgerState.Open, "nothing is known of it: it goes back to open at once");
        h.Logs.GetSnapshot().Should().Contain(r => r.Level == LogLevel.Error && r.Id.Id == 105, "a conflict is reported however the flush ends");
        metrics.Sum("marketplace_metering.accumulation.conflicts").Should().Be(1);
        h.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 109 && r.Message.StartsWith("Sending 1 hours did not complete", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task FlushAsync_UsageRecordedForAnHourWhoseAnswerWasLost_CarriedForwardNotLostInAConflict()
    {
        // The service records the hour but every answer is lost: the flusher cannot know, and the row goes back to open.
        await using var h = await StartAsync();
        await h.Recorder.RecordAsync(A, "plan", "calls", 2m, h.HourAgo(1));
        h.Emulator.Faults.Settings.DropAfterAcceptProbability = 1;
        (await h.Flusher.FlushAsync()).Retrying.Should().Be(1);

        h.Emulator.Ledger.Entries.Should().ContainSingle().Which.Quantity.Should().Be(2m, "the service holds the hour");
        (await h.EntriesAsync()).Single().State.Should().Be(UsageLedgerState.Open);

        // Late usage for that hour arrives before the row is sent again.
        await h.Recorder.RecordAsync(A, "plan", "calls", 3m, h.HourAgo(1).AddMinutes(30));
        h.Emulator.Faults.Settings.DropAfterAcceptProbability = 0;
        var resent = await h.Flusher.FlushAsync();
        h.Clock.Advance(TimeSpan.FromHours(1));
        await h.Flusher.FlushAsync();

        resent.Conflicts.Should().Be(0, "the hour the service holds is exactly what was sent for it");
        h.Emulator.Ledger.Entries.Sum(e => e.Quantity).Should().Be(5m, "the late 3 is billed in a later hour, not lost");
        (await h.EntriesAsync()).Should().NotContain(r => r.State == UsageLedgerState.Conflict);
    }

    [SkippableFact]
    public async Task FlushAsync_DuplicateWhoseOriginalNamesAnotherResource_ConflictReconciledUnderItsOwnResource()
    {
        // A hostile answer: the item for A is a Duplicate whose "original" is B's event. C's item is an honest replay.
        await using var h = await StartAsync();
        var c = Guid.Parse("0e1d2c3b-4a59-4687-9a6b-5c4d3e2f1a0b");
        var hour = h.HourAgo(1);
        await h.Recorder.RecordAsync(A, "plan", "calls", 3m, hour);
        await h.Recorder.RecordAsync(c, "plan", "calls", 2m, hour);
        string Item(Guid sent, decimal quantity, Guid original, decimal originalQuantity) => $$"""
            {"status":"Duplicate","messageTime":"{{h.Clock.GetUtcNow():o}}","resourceId":"{{sent}}","quantity":{{quantity}},"dimension":"calls","effectiveStartTime":"{{hour:o}}","planId":"plan",
             "error":{"code":"Conflict","message":"This usage event already exist.","additionalInfo":{"acceptedMessage":{"usageEventId":"{{Guid.NewGuid()}}","status":"Duplicate","messageTime":"{{h.Clock.GetUtcNow():o}}",
             "resourceId":"{{original}}","quantity":{{originalQuantity}},"dimension":"calls","effectiveStartTime":"{{hour:o}}","planId":"plan"} } } }
            """;
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, "{\"count\":2,\"result\":[" + Item(A, 3m, B, 9m) + "," + Item(c, 2m, c, 2m) + "]}"));

        var result = await h.Flusher.FlushAsync();

        (result.Conflicts, result.Delivered).Should().Be((1, 1));
        var row = (await h.EntriesAsync()).Single(r => r.Resource == A);
        row.State.Should().Be(UsageLedgerState.Conflict);
        row.ResourceUsageId.Should().NotBe(B, "an answer about another resource says nothing of the id A is reported under");
        var sent = await h.Ledger.GetSentUsageAsync(hour, hour.AddHours(1)).ToListAsync();
        sent.Single(s => s.ResourceId == A).ReportedResourceId.Should().Be(A);
    }

    [SkippableFact]
    public async Task FlushAsync_OneResourceDimensionAndHourUnderTwoPlans_BothBilledNotOneLostAsAConflict()
    {
        // A subscription changes plan mid-hour. The ledger keeps a row per plan, but the service keeps one event per
        // resource, dimension and hour whatever the plan: the second row sent comes back as a Duplicate of the first.
        await using var h = await StartAsync();
        await h.Recorder.RecordAsync(A, "silver", "calls", 3m, h.HourAgo(2));
        await h.Recorder.RecordAsync(A, "gold", "calls", 4m, h.HourAgo(2).AddMinutes(40));

        var result = await h.Flusher.FlushAsync();
        h.Clock.Advance(TimeSpan.FromHours(2));
        await h.Flusher.FlushAsync();

        result.Conflicts.Should().Be(0, "neither plan's usage was billed by another event");
        h.Emulator.Ledger.Entries.Sum(e => e.Quantity).Should().Be(7m, "the gold usage goes into a later hour rather than being lost");
    }

    /// <summary>Starts the harness over this class's kind of ledger.</summary>
    private protected virtual Task<AccumulationHarness> StartAsync(Action<UsageAccumulationOptions>? configure = null) => AccumulationHarness.StartAsync(configure);

    /// <summary>A second instance over the same store, as another process would open it.</summary>
    private protected virtual UsageLedger OpenAgain(AccumulationHarness h) => new SqliteUsageLedger(h.SqlitePath);

    private static int EventsIn(RecordedRequest request) => EventsIn(request.Body);

    private static int EventsIn(string json)
    {
        using var body = System.Text.Json.JsonDocument.Parse(json);
        return body.RootElement.TryGetProperty("request", out var batch) ? batch.GetArrayLength() : 1;
    }

    /// <summary>
    /// A client whose bulk sends do not stop when cancelled: they run to their answer. The flusher stops sending a claim
    /// shortly before its lease ends, so a send outlasts the lease only when it does not stop, or when the clock jumps
    /// past both points at once while the answer is on its way (a paused VM); this one stands for either.
    /// </summary>
    private sealed class SendsThroughCancellation(HttpClient httpClient, TokenCredential credential, MeteringClientOptions options) : MeteringClient(httpClient, credential, options)
    {
        public override Task<BulkUsageEventResult> SubmitUsageEventsAsync(IEnumerable<UsageEvent> usageEvents, CancellationToken cancellationToken = default) =>
            base.SubmitUsageEventsAsync(usageEvents, CancellationToken.None);
    }

    /// <summary>Runs <paramref name="before"/> once, before the first call goes to the service.</summary>
    private sealed class BeforeFirstSend(Func<Task> before) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _calls;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                await before();
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Answers 500, without asking the service, to every call whose body names <paramref name="resource"/>, or runs <see cref="OnPoison"/> instead once set.</summary>
    private sealed class PoisonCalls(Guid resource) : DelegatingHandler(new SocketsHttpHandler())
    {
        public Func<CancellationToken, Task>? OnPoison { get; set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
            if (!body.Contains(resource.ToString("D"), StringComparison.OrdinalIgnoreCase))
            {
                return await base.SendAsync(request, cancellationToken);
            }

            if (OnPoison is { } hook)
            {
                await hook(cancellationToken);
            }

            return new HttpResponseMessage(System.Net.HttpStatusCode.InternalServerError) { RequestMessage = request, Content = new StringContent("{}") };
        }
    }

    /// <summary>Answers 500, without asking the service, to every call whose body names <paramref name="resource"/>.</summary>
    private sealed class FailCallsCarrying(Guid resource) : DelegatingHandler(new SocketsHttpHandler())
    {
        public string? LastFailedBody { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
            if (!body.Contains(resource.ToString("D"), StringComparison.OrdinalIgnoreCase))
            {
                return await base.SendAsync(request, cancellationToken);
            }

            LastFailedBody = body;
            return new HttpResponseMessage(System.Net.HttpStatusCode.InternalServerError) { RequestMessage = request, Content = new StringContent("{}") };
        }
    }

    /// <summary>Sums what the accumulation meter's instruments record while it lives.</summary>
    private sealed class MetricCollector : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Dictionary<string, double> _sums = [];

        public MetricCollector()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "MarketplaceMetering.Accumulation")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, _, _) => Add(i.Name, v));
            _listener.SetMeasurementEventCallback<double>((i, v, _, _) => Add(i.Name, v));
            _listener.Start();
        }

        public double Sum(string name)
        {
            lock (_sums)
            {
                return _sums.GetValueOrDefault(name);
            }
        }

        public void Dispose() => _listener.Dispose();

        private void Add(string name, double value)
        {
            lock (_sums)
            {
                _sums[name] = _sums.GetValueOrDefault(name) + value;
            }
        }
    }
}

/// <summary>
/// Tests that sum the process-wide <c>MarketplaceMetering.Accumulation</c> meter run alone, after the parallel ones: the
/// same flusher test over SQLite and over PostgreSQL, run side by side, once counted each other's expired hours.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AccumulationTelemetryGroup
{
    public const string Name = "AccumulationTelemetry";
}
