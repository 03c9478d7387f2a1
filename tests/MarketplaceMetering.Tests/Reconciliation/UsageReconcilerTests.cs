using System.Globalization;
using MarketplaceMetering.Emulator;
using MarketplaceMetering.Testing;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace MarketplaceMetering.Tests.Reconciliation;

/// <summary>
/// <see cref="UsageReconciler"/>: each planted difference is found, on the row it was planted in, and nothing else is
/// flagged. Against the emulator for what it can record; with rows built by <see cref="MeteringModelFactory"/> for the
/// reconciliation statuses only the real marketplace reports (Submitted, Rejected, Mismatch).
/// </summary>
public class UsageReconcilerTests
{
    private static readonly Guid Agreeing = Guid.Parse("00000000-0000-4000-8000-00000000000a");
    private static readonly Guid NeverArrived = Guid.Parse("00000000-0000-4000-8000-00000000000b");
    private static readonly Guid SentElsewhere = Guid.Parse("00000000-0000-4000-8000-00000000000c");
    private static readonly Guid LostHour = Guid.Parse("00000000-0000-4000-8000-00000000000d");
    private static readonly Guid Suspended = Guid.Parse("00000000-0000-4000-8000-00000000000e");
    private static readonly Guid Failing = Guid.Parse("00000000-0000-4000-8000-00000000000f");
    private static readonly DateTimeOffset Day = new(2026, 11, 19, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ReconcileAsync_AgainstTheEmulator_FindsEachPlantedDifferenceAndNothingElse()
    {
        await using var h = await Harness.StartAsync(emulator: o =>
        {
            foreach (var resource in new[] { Agreeing, NeverArrived, SentElsewhere, LostHour, Suspended, Failing })
            {
                o.Resources.Add(new EmulatedResource
                {
                    ResourceId = resource,
                    PlanId = TestEvents.Plan,
                    Dimensions = ["dim1", "dim2"],
                    Status = resource == Suspended ? EmulatedResourceStatus.Suspended : EmulatedResourceStatus.Subscribed,
                });
            }
        });
        var now = h.Clock.GetUtcNow();
        var sent = new List<SentUsage>();
        async Task SendAsync(UsageEvent usage, bool keep = true)
        {
            var result = await h.Client.SubmitUsageEventAsync(usage);
            if (keep)
            {
                sent.Add(SentUsage.FromResult(result));
            }
        }

        // Agreeing: three hours sent, each accepted; a retry of the last comes back as a replayed Duplicate.
        await SendAsync(TestEvents.At(now.AddHours(-3), 1m, Agreeing));
        await SendAsync(TestEvents.At(now.AddHours(-2), 2m, Agreeing));
        await SendAsync(TestEvents.At(now.AddHours(-1), 3m, Agreeing));
        await SendAsync(TestEvents.At(now.AddHours(-1), 3m, Agreeing));

        // Missing there: the sender believes an hour accepted that the marketplace never received.
        sent.Add(SentUsage.FromResult(MeteringModelFactory.Accepted(TestEvents.At(now.AddHours(-2), 4m, NeverArrived))));

        // Missing here: usage the marketplace holds that this sender has no record of.
        await SendAsync(TestEvents.At(now.AddHours(-2), 6m, SentElsewhere), keep: false);

        // A lost hour: two hours believed accepted, one of them never arrived; and a conflicting quantity in the other dimension.
        await SendAsync(TestEvents.At(now.AddHours(-3), 1m, LostHour));
        sent.Add(SentUsage.FromResult(MeteringModelFactory.Accepted(TestEvents.At(now.AddHours(-2), 1m, LostHour))));
        await SendAsync(TestEvents.At(now.AddHours(-4), 5m, LostHour, dimension: "dim2"), keep: false);
        await SendAsync(TestEvents.At(now.AddHours(-4), 7m, LostHour, dimension: "dim2"));

        // Rejected: a suspended subscription.
        await SendAsync(TestEvents.At(now.AddHours(-2), 1m, Suspended));

        // Undelivered: a batch that failed after its retries.
        h.Emulator.Faults.Enqueue(Enumerable.Repeat(EmulatorFault.ServerError(500), 10).ToArray());
        var failed = await h.Client.SubmitUsageEventsAsync([TestEvents.At(now.AddHours(-2), 1m, Failing)]);
        sent.Add(SentUsage.FromResult(failed.Results[0]));
        h.Emulator.Faults.Reset();
        sent.Last().Status.Should().Be(UsageEventStatus.Error);

        var report = await new UsageReconciler(h.Client).ReconcileAsync(sent, now.AddDays(-1), now);

        report.Rows.ToDictionary(r => (r.ResourceId!.Value, r.Dimension), r => r.Differences).Should().Equal(new Dictionary<(Guid, string), UsageDifferences>
        {
            [(Agreeing, "dim1")] = UsageDifferences.None,
            [(NeverArrived, "dim1")] = UsageDifferences.MissingThere,
            [(SentElsewhere, "dim1")] = UsageDifferences.MissingHere,
            [(LostHour, "dim1")] = UsageDifferences.QuantityMismatch,
            [(LostHour, "dim2")] = UsageDifferences.QuantityMismatch,
            [(Suspended, "dim1")] = UsageDifferences.Rejected,
            [(Failing, "dim1")] = UsageDifferences.Undelivered,
        });
        var agreeing = report.Rows.Single(r => r.ResourceId == Agreeing);
        agreeing.SentQuantity.Should().Be(6m);
        agreeing.DeliveredQuantity.Should().Be(6m);
        agreeing.Recorded!.SubmittedQuantity.Should().Be(6m);
        var lost = report.Rows.Single(r => r.ResourceId == LostHour && r.Dimension == "dim1");
        (lost.DeliveredQuantity, lost.Recorded!.SubmittedQuantity).Should().Be((2m, 1m));
        report.Rows.Single(r => r.ResourceId == Suspended).RejectedEvents.Should().Be(1);
        report.HasDifferences.Should().BeTrue();
        report.Differences.Should().HaveCount(6);
    }

    [Fact]
    public async Task ReconcileAsync_EverythingAgrees_ReportsNoDifferences()
    {
        await using var h = await Harness.StartAsync();
        var bulk = await h.Client.SubmitUsageEventsAsync(TestEvents.Distinct(h.Clock, 30));

        var report = await new UsageReconciler(h.Client).ReconcileAsync(bulk.Results.Select(SentUsage.FromResult), h.Clock.GetUtcNow().AddDays(-1), h.Clock.GetUtcNow());

        report.Rows.Should().HaveCount(30);
        report.HasDifferences.Should().BeFalse();
    }

    [Fact]
    public async Task ReconcileAsync_ManagedApplicationsSentByUri_MatchTheRowsRecordedUnderTheirUsageIds()
    {
        await using var h = await Harness.StartAsync();
        const string Uri = "/subscriptions/0f0e0d0c-0b0a-0908-0706-050403020100/resourceGroups/rg/providers/Microsoft.Solutions/applications/app";
        var events = new[]
        {
            UsageEvent.ForResourceUri(Uri + "1", "plan1", "dim1", 2m, h.Clock.GetUtcNow().AddHours(-2)),
            UsageEvent.ForResourceUri(Uri + "1", "plan1", "dim1", 3m, h.Clock.GetUtcNow().AddHours(-1)),
            UsageEvent.ForResourceUri(Uri + "2", "plan1", "dim1", 4m, h.Clock.GetUtcNow().AddHours(-1)),
        };
        var bulk = await h.Client.SubmitUsageEventsAsync(events);

        var rows = await h.Client.GetUsageEventsAsync(new UsageEventQuery(h.Clock.GetUtcNow().AddDays(-1)));
        var report = await new UsageReconciler(h.Client).ReconcileAsync(bulk.Results.Select(SentUsage.FromResult), h.Clock.GetUtcNow().AddDays(-1), h.Clock.GetUtcNow());

        var usageIds = bulk.Results.Cast<UsageEventResult.Accepted>().Select(a => a.ResourceUsageId!.Value).Distinct().ToList();
        usageIds.Should().HaveCount(2);
        rows.Select(r => (r.UsageResourceId, r.SubmittedQuantity, r.OfferType, r.AzureSubscriptionId))
            .Should().BeEquivalentTo([(usageIds[0], 5m, "ManagedApplication", (Guid?)Guid.Parse("0f0e0d0c-0b0a-0908-0706-050403020100")), (usageIds[1], 4m, "ManagedApplication", Guid.Parse("0f0e0d0c-0b0a-0908-0706-050403020100"))]);
        report.Rows.Should().HaveCount(2).And.OnlyContain(r => r.Differences == UsageDifferences.None);
    }

    [Fact]
    public async Task ReconcileAsync_AsyncSource_ReadsTheStreamAndQueriesWholeDays()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.Client.SubmitUsageEventAsync(h.HourAgo());

        var report = await new UsageReconciler(h.Client).ReconcileAsync(Stream(SentUsage.FromResult(result)), h.Clock.GetUtcNow().AddHours(-2), h.Clock.GetUtcNow());

        report.HasDifferences.Should().BeFalse();
        report.Rows.Should().ContainSingle();
        var query = h.Emulator.Requests[^1].QueryString;
        query.Should().Contain("usageStartDate=2026-11-20T00%3A00%3A00Z").And.Contain("UsageEndDate=2026-11-21T00%3A00%3A00Z");
    }

    [Fact]
    public void Reconcile_MarketplaceStillProcessingRejectedOrMismatched_FlagsEachOnItsRow()
    {
        var sent = new[] { Sent(Agreeing, 5m), Sent(NeverArrived, 5m), Sent(LostHour, 5m) };
        var recorded = new[]
        {
            MeteringModelFactory.RecordedUsage(Day, Agreeing, "dim1", 5m, processedQuantity: null, reconStatus: ReconStatus.Submitted),
            MeteringModelFactory.RecordedUsage(Day, NeverArrived, "dim1", 5m, processedQuantity: 0m, reconStatus: ReconStatus.Rejected),
            MeteringModelFactory.RecordedUsage(Day, LostHour, "dim1", 5m, processedQuantity: 4m, reconStatus: ReconStatus.Mismatch),
        };

        var report = UsageReconciler.Reconcile(sent, recorded, Day, Day.AddDays(1));

        report.Rows.Select(r => (r.ResourceId, r.Differences)).Should().Equal(
            (Agreeing, UsageDifferences.StillProcessing),
            (NeverArrived, UsageDifferences.Rejected),
            (LostHour, UsageDifferences.QuantityMismatch));
    }

    [Fact]
    public async Task ReconcileAsync_EmulatorReportsStillProcessingRejectedOrMismatched_FlagsEachOnItsRow()
    {
        // The same three states over real HTTP: the emulator reports them as the marketplace would, on request.
        await using var h = await Harness.StartAsync();
        var now = h.Clock.GetUtcNow();
        var hour = now.AddHours(-2);
        var sent = new List<SentUsage>();
        foreach (var resource in new[] { Agreeing, NeverArrived, LostHour, SentElsewhere })
        {
            sent.Add(SentUsage.FromResult(await h.Client.SubmitUsageEventAsync(TestEvents.At(hour, 5m, resource))));
        }

        h.Emulator.SetReconciliation(Agreeing, "dim1", hour, "Submitted");
        h.Emulator.SetReconciliation(NeverArrived, "dim1", hour, "Rejected");
        h.Emulator.SetReconciliation(LostHour, "dim1", hour, "Mismatch", processedQuantity: 4m);

        var report = await new UsageReconciler(h.Client).ReconcileAsync(sent, hour, hour.AddHours(1));

        report.Rows.ToDictionary(r => r.ResourceId!.Value, r => r.Differences).Should().Equal(new Dictionary<Guid, UsageDifferences>
        {
            [Agreeing] = UsageDifferences.StillProcessing,
            [NeverArrived] = UsageDifferences.Rejected,
            [LostHour] = UsageDifferences.QuantityMismatch,
            [SentElsewhere] = UsageDifferences.None,
        });
        report.Rows.Single(r => r.ResourceId == LostHour).Recorded!.ProcessedQuantity.Should().Be(4m);
    }

    [Fact]
    public void Reconcile_ManagedApplicationSentByUri_MatchesTheRowByItsResourceUsageId()
    {
        const string Uri = "/subscriptions/0f0e0d0c-0b0a-0908-0706-050403020100/resourceGroups/rg/providers/Microsoft.Solutions/applications/app1";
        var usageId = Guid.Parse("11111111-2222-4333-8444-555555555555");
        var accepted = new SentUsage(null, Uri, "plan1", "dim1", Day.AddHours(1), 2m, UsageEventStatus.Accepted, usageId);
        var retryLater = new SentUsage(null, Uri, "plan1", "dim1", Day.AddHours(2), 3m, UsageEventStatus.Accepted);

        var report = UsageReconciler.Reconcile([accepted, retryLater], [MeteringModelFactory.RecordedUsage(Day, usageId, "DIM1", 5m, 5m)], Day, Day.AddDays(1));

        report.Rows.Should().ContainSingle().Which.Differences.Should().Be(UsageDifferences.None);
    }

    [Fact]
    public void Reconcile_HourSentTwice_CountsTheDeliveredOneOnce()
    {
        var first = Sent(Agreeing, 5m, UsageEventStatus.Error);
        var retry = Sent(Agreeing, 5m, UsageEventStatus.Accepted);
        var replay = Sent(Agreeing, 5m, UsageEventStatus.Duplicate);

        var report = UsageReconciler.Reconcile([first, retry, replay], [MeteringModelFactory.RecordedUsage(Day, Agreeing, "dim1", 5m, 5m)], Day, Day.AddDays(1));

        var row = report.Rows.Should().ContainSingle().Subject;
        (row.SentQuantity, row.DeliveredQuantity, row.UndeliveredEvents, row.Differences).Should().Be((5m, 5m, 0, UsageDifferences.None));
    }

    [Fact]
    public void Reconcile_HourAcceptedThenAConflictingDuplicateWithAnotherQuantity_FlagsQuantityMismatch()
    {
        // 03:00 was accepted with 5; a second event for the same hour with 7 came back Duplicate (a conflict: the first
        // write of the hour won). Those 7 were not billed: docs/reconciliation.md says a conflicting Duplicate is a
        // QuantityMismatch, and it must not vanish because an earlier event of its hour was delivered.
        var accepted = Sent(Agreeing, 5m, UsageEventStatus.Accepted, Day.AddHours(3));
        var conflict = Sent(Agreeing, 7m, UsageEventStatus.Duplicate, Day.AddHours(3).AddMinutes(30));

        var report = UsageReconciler.Reconcile([accepted, conflict], [MeteringModelFactory.RecordedUsage(Day, Agreeing, "dim1", 5m, 5m, ReconStatus.Accepted)], Day, Day.AddDays(1));

        report.Rows.Should().ContainSingle().Which.Differences.Should().HaveFlag(UsageDifferences.QuantityMismatch);
    }

    [Fact]
    public void Reconcile_PlanChangedDuringTheDay_TheMarketplacesRowPerPlanCountsAsOneSummedRow()
    {
        // The subscription moved from plan1 to plan2 at noon: the marketplace reports one row per plan for the day.
        SentUsage[] sent =
        [
            new(Agreeing, null, "plan1", "dim1", Day.AddHours(3), 5m, UsageEventStatus.Accepted),
            new(Agreeing, null, "plan2", "dim1", Day.AddHours(15), 7m, UsageEventStatus.Accepted),
        ];
        RecordedUsage[] recorded =
        [
            MeteringModelFactory.RecordedUsage(Day, Agreeing, "dim1", 5m, 5m, ReconStatus.Accepted, planId: "plan1", submittedCount: 1),
            MeteringModelFactory.RecordedUsage(Day, Agreeing, "dim1", 7m, 7m, ReconStatus.Accepted, planId: "plan2", submittedCount: 1),
        ];

        var report = UsageReconciler.Reconcile(sent, recorded, Day, Day.AddDays(1));

        var row = report.Rows.Should().ContainSingle().Subject;
        (row.SentQuantity, row.DeliveredQuantity, row.Differences).Should().Be((12m, 12m, UsageDifferences.None));
        (row.Recorded!.SubmittedQuantity, row.Recorded.ProcessedQuantity, row.Recorded.SubmittedCount, row.Recorded.ReconStatus).Should().Be((12m, (decimal?)12m, (int?)2, ReconStatus.Accepted));
    }

    [Theory]
    [InlineData("Rejected", 0, UsageDifferences.Rejected)]
    [InlineData("Mismatch", 6, UsageDifferences.QuantityMismatch)]
    [InlineData("Submitted", null, UsageDifferences.StillProcessing)]
    public void Reconcile_PlanChangedDuringTheDayAndOnePlansRowIsNotAccepted_TheMergedRowShowsIt(string status, int? processed, UsageDifferences expected)
    {
        SentUsage[] sent =
        [
            new(Agreeing, null, "plan1", "dim1", Day.AddHours(3), 5m, UsageEventStatus.Accepted),
            new(Agreeing, null, "plan2", "dim1", Day.AddHours(15), 7m, UsageEventStatus.Accepted),
        ];
        RecordedUsage[] recorded =
        [
            MeteringModelFactory.RecordedUsage(Day, Agreeing, "dim1", 5m, 5m, ReconStatus.Accepted, planId: "plan1"),
            MeteringModelFactory.RecordedUsage(Day, Agreeing, "dim1", 7m, processed, new ReconStatus(status), planId: "plan2"),
        ];

        var report = UsageReconciler.Reconcile(sent, recorded, Day, Day.AddDays(1));

        var row = report.Rows.Should().ContainSingle().Subject;
        row.Differences.Should().HaveFlag(expected);
        row.Recorded!.ReconStatus.Should().Be(new ReconStatus(status), "the status that needs attention wins over Accepted");
        row.Recorded.ProcessedQuantity.Should().Be(processed is null ? null : 5m + processed.Value);
    }

    [Fact]
    public void Reconcile_OutsideTheRange_IsIgnoredOnBothSides()
    {
        var report = UsageReconciler.Reconcile(
            [Sent(Agreeing, 5m, at: Day.AddDays(-1))],
            [MeteringModelFactory.RecordedUsage(Day.AddDays(1), Agreeing, "dim1", 5m, 5m)],
            Day,
            Day.AddDays(1));

        report.Rows.Should().BeEmpty();
        (report.From, report.To).Should().Be((Day, Day.AddDays(1)));
    }

    [Theory]
    [InlineData("2026-11-19T00:00:00Z", "2026-11-20T00:00:00Z", "2026-11-19", "2026-11-20")] // whole days stay as they are
    [InlineData("2026-11-19T13:45:00Z", "2026-11-19T13:46:00Z", "2026-11-19", "2026-11-20")] // a minute becomes its day
    [InlineData("2026-11-19T23:30:00-02:00", "2026-11-21T00:30:00+01:00", "2026-11-20", "2026-11-21")] // by UTC, not by offset
    public void WidenToDays_AnyRange_WholeUtcDaysAroundIt(string from, string to, string start, string end)
    {
        var range = UsageReconciler.WidenToDays(DateTimeOffset.Parse(from, CultureInfo.InvariantCulture), DateTimeOffset.Parse(to, CultureInfo.InvariantCulture));

        range.Should().Be((DateTimeOffset.Parse(start + "T00:00:00Z", CultureInfo.InvariantCulture), DateTimeOffset.Parse(end + "T00:00:00Z", CultureInfo.InvariantCulture)));
        UsageReconciler.Reconcile([], [], DateTimeOffset.Parse(from, CultureInfo.InvariantCulture), DateTimeOffset.Parse(to, CultureInfo.InvariantCulture))
            .Should().Match<UsageReconciliationReport>(r => r.From == range.Start && r.To == range.End, "every method widens its range the same way");
    }

    [Fact]
    public void Reconcile_EndNotAfterStart_ThrowsArgumentException()
    {
        var act = () => UsageReconciler.Reconcile([], [], Day, Day);

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("endDate");
    }

    [Fact]
    public void Reconcile_EndAfterTheLastRepresentableMidnight_ThrowsArgumentExceptionNamingEndDate()
    {
        // "--to 9999-12-31T12:00:00Z": the range widens to the next midnight, which a DateTimeOffset cannot hold.
        var act = () => UsageReconciler.Reconcile([], [], Day, new DateTimeOffset(9999, 12, 31, 12, 0, 0, TimeSpan.Zero));

        var thrown = act.Should().Throw<ArgumentException>().Which;
        thrown.ParamName.Should().Be("endDate");
        thrown.Message.Should().Contain("endDate").And.Contain("9999-12-31");
    }

    [Fact]
    public void Reconcile_EntryWithoutResource_ThrowsArgumentExceptionNamingItsIndex()
    {
        var act = () => UsageReconciler.Reconcile([Sent(Agreeing, 1m), new SentUsage(null, null, "p", "d", Day, 1m, UsageEventStatus.Accepted)], [], Day, Day.AddDays(1));

        act.Should().Throw<ArgumentException>().WithMessage("sent[1] names no resource*");
    }

    [Fact]
    public void Reconcile_SentQuantitiesOfADayAddUpPastDecimalMaxValue_ThrowsArgumentExceptionNamingTheRow()
    {
        SentUsage[] sent = [Sent(Agreeing, 5e28m, at: Day.AddHours(1)), Sent(Agreeing, 5e28m, at: Day.AddHours(2))];

        var act = () => UsageReconciler.Reconcile(sent, [], Day, Day.AddDays(1));

        var thrown = act.Should().ThrowExactly<ArgumentException>().Which;
        thrown.ParamName.Should().Be("sent");
        thrown.Message.Should().Contain(Agreeing.ToString("D")).And.Contain("'" + TestEvents.Dimension + "'").And.Contain("2026-11-19");
    }

    [Fact]
    public void Reconcile_RecordedRowsOfADayAddUpPastDecimalMaxValue_ThrowsArgumentExceptionNamingTheRow()
    {
        // One row per plan (the plan changed during the day), each within a decimal; their sum is not.
        RecordedUsage[] recorded =
        [
            MeteringModelFactory.RecordedUsage(Day, Agreeing, "dim1", 5e28m, planId: "plan1"),
            MeteringModelFactory.RecordedUsage(Day, Agreeing, "dim1", 5e28m, planId: "plan2"),
        ];

        var act = () => UsageReconciler.Reconcile([], recorded, Day, Day.AddDays(1));

        var thrown = act.Should().ThrowExactly<ArgumentException>().Which;
        thrown.ParamName.Should().Be("recorded");
        thrown.Message.Should().Contain(Agreeing.ToString("D")).And.Contain("2026-11-19");
    }

    [Fact]
    public async Task ReconcileAsync_MarketplaceRowsOfADayAddUpPastDecimalMaxValue_ThrowsMeteringExceptionNotOverflowException()
    {
        // A hostile or broken answer: every row is a valid quantity, but two rows of one resource, dimension and day
        // (one per plan) cannot be summed.
        const string Row = """{"usageDate":"2026-11-19T00:00:00Z","usageResourceId":"00000000-0000-4000-8000-00000000000a","dimension":"dim1","planId":"PLAN","reconStatus":"Accepted","submittedQuantity":5e28}""";
        using var server = WireMockLoopback.Start();
        server.Given(Request.Create().WithPath("/api/usageEvents").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody("[" + Row.Replace("PLAN", "plan1", StringComparison.Ordinal) + "," + Row.Replace("PLAN", "plan2", StringComparison.Ordinal) + "]"));
        var clock = new TestClock();
        var options = new MeteringClientOptions { Endpoint = new Uri(server.Url!), TimeProvider = clock };
        options.Retry.MaxRetries = 0;
        using var client = new MeteringClient(new ScriptedCredential(clock), options);

        var act = () => new UsageReconciler(client).ReconcileAsync([Sent(Agreeing, 5m)], Day, Day.AddDays(1));

        var thrown = (await act.Should().ThrowExactlyAsync<MeteringException>()).Which;
        thrown.Message.Should().Contain("GET /api/usageEvents").And.Contain(Agreeing.ToString("D")).And.Contain("2026-11-19");
        thrown.IsRetryable.Should().BeFalse();
    }

    [Fact]
    public async Task ReconciliationSnippets_AgainstTheEmulator_ReadRowsAndReportNoDifference()
    {
        await using var h = await Harness.StartAsync();
        var now = h.Clock.GetUtcNow();

        var report = await Docs.ReconciliationSnippets.ReconcileAsync(h.Client, TestEvents.Distinct(h.Clock, 3, dimension: "emails"), now.AddDays(-1), now);
        var rows = await Docs.ReconciliationSnippets.RecordedAsync(h.Client);

        report.Rows.Should().HaveCount(3);
        report.HasDifferences.Should().BeFalse();
        rows.Should().HaveCount(3, "the snippet asks for 2026-11-19 and 2026-11-20, the test clock's day");
    }

    private static SentUsage Sent(Guid resource, decimal quantity, UsageEventStatus status = UsageEventStatus.Accepted, DateTimeOffset? at = null) =>
        new(resource, null, TestEvents.Plan, TestEvents.Dimension, at ?? Day.AddHours(3), quantity, status);

#pragma warning disable CS1998 // an iterator over values: nothing to await
    private static async IAsyncEnumerable<SentUsage> Stream(params SentUsage[] items)
#pragma warning restore CS1998
    {
        foreach (var item in items)
        {
            yield return item;
        }
    }
}
