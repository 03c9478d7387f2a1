using MarketplaceMetering.Emulator;
using MarketplaceMetering.Testing;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>
/// <see cref="UsageLedger.GetSentUsageAsync"/> feeding <see cref="UsageReconciler"/>, over a SQLite ledger filled by
/// the real recorder and flusher against the emulator; <see cref="PostgreSqlLedgerReconciliationTests"/> runs the
/// same tests over PostgreSQL.
/// </summary>
public class LedgerReconciliationTests
{
    private static readonly Guid A = Guid.Parse("3f1c2b4a-0d5e-4b6f-8a7c-9e0d1f2a3b4c");

    [SkippableFact]
    public async Task ReconcileAsync_LedgerWithPlantedDifferences_FindsEachOnItsRowAndNothingElse()
    {
        await using var h = await StartAsync();
        await PlantedLedger.PlantAsync(h);

        var report = await new UsageReconciler(h.Client).ReconcileAsync(h.Ledger.GetSentUsageAsync(PlantedLedger.From, PlantedLedger.To), PlantedLedger.From, PlantedLedger.To);

        report.Rows.ToDictionary(r => r.ResourceId!.Value, r => r.Differences).Should().Equal(PlantedLedger.Expected);
        var rows = report.Rows.ToDictionary(r => r.ResourceId!.Value);
        var day2 = PlantedLedger.From.AddDays(1);

        var agrees = rows[PlantedLedger.Agrees];
        (agrees.Day, agrees.SentQuantity, agrees.DeliveredQuantity, agrees.Recorded!.SubmittedQuantity).Should().Be((day2, 3m, 3m, 3m), "the carried 1 is billed in 11:00 of the same day");

        var lost = rows[PlantedLedger.LostThere];
        (lost.DeliveredQuantity, lost.Recorded).Should().Be((4m, null));

        var conflict = rows[PlantedLedger.Conflict];
        (conflict.DeliveredQuantity, conflict.Recorded!.SubmittedQuantity).Should().Be((5m, 7m), "the service kept the first write of the hour");

        var expired = rows[PlantedLedger.Expired];
        (expired.Day, expired.SentQuantity, expired.DeliveredQuantity, expired.RejectedEvents, expired.Recorded).Should().Be((PlantedLedger.From, 3m, 0m, 1, null));

        var open = rows[PlantedLedger.StillOpen];
        (open.SentQuantity, open.DeliveredQuantity, open.UndeliveredEvents).Should().Be((6m, 0m, 1));
    }

    [SkippableFact]
    public async Task ReconcileAsync_ManagedApplicationRecordedByUri_MatchedByTheResourceUsageIdTheServiceAnswered()
    {
        // The marketplace reports a managed application's usage under the resource usage id it answers with, never
        // under the URI the usage was sent with: the ledger keeps that id, so the two sides meet on one row.
        const string Application = "/subscriptions/0c6f3a5e-1b2d-4e8f-9a0b-1c2d3e4f5a6b/resourceGroups/rg/providers/Microsoft.Solutions/applications/app1";
        var usageId = Guid.Parse("9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a");
        await using var h = await StartAsync(emulatorOptions: o => o.Resources.Add(new EmulatedResource
        {
            ResourceId = usageId,
            ResourceUri = Application,
            PlanId = "plan",
            Dimensions = ["calls"],
        }));
        await h.Recorder.RecordAsync(UsageResource.FromUri(Application), "plan", "calls", 3m, h.HourAgo(2));
        await h.Recorder.RecordAsync(UsageResource.FromUri(Application), "plan", "calls", 2m, h.HourAgo(1));
        (await h.Flusher.FlushAsync()).Delivered.Should().Be(2);

        (await h.EntriesAsync()).Select(e => e.ResourceUsageId).Should().Equal(usageId, usageId);
        var report = await new UsageReconciler(h.Client).ReconcileAsync(h.Ledger.GetSentUsageAsync(h.From, h.To), h.From, h.To);

        report.HasDifferences.Should().BeFalse();
        var row = report.Rows.Should().ContainSingle().Subject;
        (row.ResourceId, row.SentQuantity, row.DeliveredQuantity, row.Recorded!.SubmittedQuantity).Should().Be((usageId, 5m, 5m, 5m));
    }

    [SkippableFact]
    public async Task GetSentUsageAsync_EachLedgerState_MapsToWhatTheReconcilerCounts()
    {
        await using var h = await StartAsync();
        await PlantedLedger.PlantAsync(h);

        var sent = await h.Ledger.GetSentUsageAsync(PlantedLedger.From, PlantedLedger.To).ToListAsync();

        sent.Select(s => (s.ResourceId!.Value, s.EffectiveStartTime, s.Quantity, s.Status)).Should().BeEquivalentTo(
        [
            (PlantedLedger.Expired, PlantedLedger.From.AddHours(9), 3m, UsageEventStatus.Expired),
            (PlantedLedger.LostThere, PlantedLedger.From.AddHours(33), 4m, UsageEventStatus.Accepted),
            (PlantedLedger.Conflict, PlantedLedger.From.AddHours(33), 5m, UsageEventStatus.Duplicate),
            (PlantedLedger.Agrees, PlantedLedger.From.AddHours(33), 2m, UsageEventStatus.Accepted),
            (PlantedLedger.Agrees, PlantedLedger.From.AddHours(35), 1m, UsageEventStatus.Accepted),
            (PlantedLedger.StillOpen, PlantedLedger.From.AddHours(36), 6m, UsageEventStatus.Unknown),
        ]);

        // Delivered rows carry the service's event id; a conflict carries the id of the event the service kept.
        var held = h.Emulator.Ledger.Entries.ToDictionary(e => (e.ResourceId, e.EffectiveStartTime), e => e.UsageEventId);
        var delivered = sent.Where(s => s.ResourceId != PlantedLedger.LostThere && s.IsDelivered).ToList();
        delivered.Should().HaveCount(3);
        delivered.Select(s => s.UsageEventId).Should().Equal(delivered.Select(s => (Guid?)held[(s.ResourceId!.Value, s.EffectiveStartTime)]));
        sent.Where(s => !s.IsDelivered).Should().OnlyContain(s => s.UsageEventId == null);
    }

    [SkippableFact]
    public async Task GetSentUsageAsync_FailedRow_ReadAsItsRefusalAndReplayAsDuplicate()
    {
        await using var h = await StartAsync();
        var hour = h.HourAgo(2);
        await h.Ledger.AddAsync(
            [
                new UsageDelta(A, "plan", "refused", hour, 1m),
                new UsageDelta(A, "plan", "edited", hour, 2m),
                new UsageDelta(A, "plan", "replayed", hour, 3m),
            ],
            h.Clock.GetUtcNow(),
            CancellationToken.None);
        var now = h.Clock.GetUtcNow();
        var claimed = await h.Ledger.ClaimAsync("test", now, now, now.AddMinutes(5), 10, CancellationToken.None);
        var replayId = Guid.NewGuid();
        await h.Ledger.CompleteAsync(
            claimed.Select(r => r.Dimension switch
            {
                "refused" => new UsageOutcome(r.Id, r.ClaimId!.Value, UsageLedgerState.Failed, null, "InvalidDimension: The dimension is not part of the plan."),
                "edited" => new UsageOutcome(r.Id, r.ClaimId!.Value, UsageLedgerState.Failed, null, "InvalidRow: the plan id is too long."),
                _ => new UsageOutcome(r.Id, r.ClaimId!.Value, UsageLedgerState.Replayed, replayId, null),
            }).ToList(),
            now,
            CancellationToken.None);

        var sent = await h.Ledger.GetSentUsageAsync(hour, hour.AddHours(1)).ToListAsync();

        sent.Select(s => (s.Dimension, s.Status, s.IsRejected, s.UsageEventId)).Should().BeEquivalentTo(
        [
            ("refused", UsageEventStatus.InvalidDimension, true, (Guid?)null),
            ("edited", UsageEventStatus.BadArgument, true, null),
            ("replayed", UsageEventStatus.Duplicate, false, replayId),
        ]);
    }

    [SkippableFact]
    public async Task ReconcileAsync_UsageCarriedPastMidnight_CountedInTheDayItWasBilledAndDayTotalsAgree()
    {
        // 2026-11-20 23:20: 22:00 is sent; 23:00 fills up.
        await using var h = await StartAsync(new TestClock(new DateTimeOffset(2026, 11, 20, 23, 20, 0, TimeSpan.Zero)));
        var day1 = new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);
        await h.Recorder.RecordAsync(A, "plan", "calls", 5m, day1.AddHours(22));
        await h.Recorder.RecordAsync(A, "plan", "calls", 4m, day1.AddHours(23));
        await h.Flusher.FlushAsync();

        // 11-21 00:20: 23:00 is sent; usage for 23:30 reported late goes into 00:00 of the next day, with 1 of its own.
        h.Clock.Advance(TimeSpan.FromHours(1));
        (await h.Flusher.FlushAsync()).Delivered.Should().Be(1);
        await h.Recorder.RecordAsync(A, "plan", "calls", 2m, day1.AddHours(23).AddMinutes(30));
        await h.Recorder.RecordAsync(A, "plan", "calls", 1m);
        h.Clock.Advance(TimeSpan.FromHours(1));
        (await h.Flusher.FlushAsync()).Delivered.Should().Be(1);
        var move = (await h.Ledger.GetCarryForwardsAsync(day1, day1.AddDays(2))).Should().ContainSingle().Subject;
        (move.FromHour, move.IntoHour, move.Quantity).Should().Be((day1.AddHours(23), day1.AddDays(1), 2m));

        var report = await new UsageReconciler(h.Client).ReconcileAsync(h.Ledger.GetSentUsageAsync(day1, day1.AddDays(2)), day1, day1.AddDays(2));

        report.HasDifferences.Should().BeFalse();
        report.Rows.Select(r => (r.Day, r.SentQuantity, r.DeliveredQuantity, r.Recorded!.SubmittedQuantity)).Should().Equal(
            (day1, 9m, 9m, 9m),
            (day1.AddDays(1), 3m, 3m, 3m));
    }

    [SkippableFact]
    public async Task GetSentUsageAsync_RangeInsideADay_WidenedToTheWholeUtcDayAsTheReconcilerDoes()
    {
        await using var h = await StartAsync();
        await h.Recorder.RecordAsync(A, "plan", "calls", 1m, h.HourAgo(9)); // 01:00
        await h.Recorder.RecordAsync(A, "plan", "calls", 2m, h.HourAgo(1)); // 09:00

        var sent = await h.Ledger.GetSentUsageAsync(h.HourAgo(1), h.HourAgo(0)).ToListAsync();

        sent.Select(s => s.Quantity).Should().BeEquivalentTo([1m, 2m]);
    }

    [SkippableFact]
    public async Task GetSentUsageAsync_EndNotAfterStart_ThrowsNamingEndDateBeforeReading()
    {
        await using var h = await StartAsync();
        var day = PlantedLedger.From;

        var act = () => h.Ledger.GetSentUsageAsync(day.AddDays(1), day);

        act.Should().Throw<ArgumentException>().WithParameterName("endDate");
    }

    /// <summary>Starts the harness over this class's kind of ledger.</summary>
    private protected virtual Task<AccumulationHarness> StartAsync(TestClock? clock = null, Action<MeteringEmulatorOptions>? emulatorOptions = null) =>
        AccumulationHarness.StartAsync(clock: clock, emulatorOptions: emulatorOptions);
}
