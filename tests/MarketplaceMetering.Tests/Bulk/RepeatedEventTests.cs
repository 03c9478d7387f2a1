using MarketplaceMetering.Emulator;

namespace MarketplaceMetering.Tests.Bulk;

/// <summary>
/// The same event given more than once to one <c>SubmitUsageEventsAsync</c> call is recorded once by the service: the
/// repeats come back as Duplicates of the first one's usage event id, and are conflicts (not delivered), so the summary
/// counts what the service holds. A Duplicate of an event recorded by an earlier call is still a replay. Over real HTTP
/// against the emulator, which answers a batch Duplicate with the original's id in <c>acceptedMessage</c>.
/// </summary>
public class RepeatedEventTests
{
    [Fact]
    public async Task SubmitUsageEventsAsync_SameEventThreeTimesInOneList_OneDeliveredAndTwoConflicts()
    {
        await using var h = await Harness.StartAsync();
        var repeated = h.HourAgo(quantity: 5);
        var others = TestEvents.Distinct(h.Clock, 3, dimension: "dim2");
        List<UsageEvent> events = [repeated, others[0], repeated, others[1], repeated, others[2]];

        var bulk = await h.Client.SubmitUsageEventsAsync(events);

        AssertOneDeliveredTwoConflicts(h, bulk.Results, at: [0, 2, 4]);
        bulk.Summary.Delivered.Should().Be(4, "the repeated event once and the three others");
        bulk.Summary.Accepted.Should().Be(4);
        bulk.Summary.Replays.Should().Be(0);
        bulk.Summary.Conflicts.Should().Be(2);
        bulk.Summary.DeliveredQuantityByDimension["dim1"].Should().Be(5, "the service holds 5, not 15");
        bulk.Summary.NeedsAttention.Should().Equal(bulk.Results[2], bulk.Results[4]);
        bulk.Summary.AllDelivered.Should().BeFalse();
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_SameEventThreeTimesInARowInAStream_OneDeliveredAndTwoConflicts()
    {
        await using var h = await Harness.StartAsync();
        var repeated = h.HourAgo(quantity: 5);
        List<UsageEvent> events = [.. TestEvents.Distinct(h.Clock, 2, dimension: "dim2"), repeated, repeated, repeated];

        var results = new List<UsageEventResult>();
        await foreach (var result in h.Client.SubmitUsageEventsAsync(BulkSubmissionTests.Stream(events)))
        {
            results.Add(result);
        }

        AssertOneDeliveredTwoConflicts(h, results, at: [2, 3, 4]);
        var summary = UsageEventSummary.Create(results);
        summary.Delivered.Should().Be(3);
        summary.Conflicts.Should().Be(2);
        summary.DeliveredQuantityByDimension["dim1"].Should().Be(5);
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_SameEventFarApartInOneList_TheRepeatIsStillAConflict()
    {
        // One batch at a time: the first event's batch is answered and collected before the repeat is even planned.
        await using var h = await Harness.StartAsync(client: o => o.MaxConcurrency = 1);
        var repeated = h.HourAgo(quantity: 5);
        List<UsageEvent> events = [repeated, .. TestEvents.Distinct(h.Clock, 60, dimension: "dim2"), repeated];

        var bulk = await h.Client.SubmitUsageEventsAsync(events);

        var accepted = bulk.Results[0].Should().BeOfType<UsageEventResult.Accepted>().Subject;
        var repeat = bulk.Results[61].Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        repeat.Original!.UsageEventId.Should().Be(accepted.UsageEventId);
        repeat.IsReplay.Should().BeFalse("the list overload checks every repeat of the call, however far apart");
        bulk.Summary.Conflicts.Should().Be(1);
        bulk.Summary.DeliveredQuantityByDimension["dim1"].Should().Be(5);
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_SameEventFarApartInAStream_TheRepeatIsAReplayAsDocumented()
    {
        // What the stream overload's documentation says: with bounded memory it recognises only repeats read while the
        // earlier event's batch is unanswered; this repeat is read after it came back, as in a later call.
        await using var h = await Harness.StartAsync(client: o => o.MaxConcurrency = 1);
        var repeated = h.HourAgo(quantity: 5);
        List<UsageEvent> events = [repeated, .. TestEvents.Distinct(h.Clock, 60, dimension: "dim2"), repeated];

        var results = new List<UsageEventResult>();
        await foreach (var result in h.Client.SubmitUsageEventsAsync(BulkSubmissionTests.Stream(events)))
        {
            results.Add(result);
        }

        results[0].Should().BeOfType<UsageEventResult.Accepted>();
        results[61].Should().BeOfType<UsageEventResult.Duplicate>().Which.IsReplay.Should().BeTrue();
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_EventAcceptedByAnEarlierCall_IsStillAReplay()
    {
        await using var h = await Harness.StartAsync();
        var usage = h.HourAgo(quantity: 5);
        var first = await h.Client.SubmitUsageEventsAsync([usage, .. TestEvents.Distinct(h.Clock, 2, dimension: "dim2")]);
        var accepted = first.Results[0].Should().BeOfType<UsageEventResult.Accepted>().Subject;

        var again = await h.Client.SubmitUsageEventsAsync([usage]);
        var streamed = new List<UsageEventResult>();
        await foreach (var result in h.Client.SubmitUsageEventsAsync(BulkSubmissionTests.Stream([usage])))
        {
            streamed.Add(result);
        }

        foreach (var result in (UsageEventResult[])[again.Results[0], streamed.Single()])
        {
            var replay = result.Should().BeOfType<UsageEventResult.Duplicate>().Subject;
            replay.IsReplay.Should().BeTrue("the event was recorded by an earlier call, and nothing in this call delivered it");
            replay.Original!.UsageEventId.Should().Be(accepted.UsageEventId);
        }

        again.Summary.Delivered.Should().Be(1);
        again.Summary.DeliveredQuantityByDimension["dim1"].Should().Be(5);
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_EventAcceptedEarlierGivenTwiceInALaterCall_FirstIsAReplayTheSecondAConflict()
    {
        await using var h = await Harness.StartAsync();
        var usage = h.HourAgo(quantity: 5);
        var accepted = (await h.Client.SubmitUsageEventAsync(usage)).Should().BeOfType<UsageEventResult.Accepted>().Subject;

        var bulk = await h.Client.SubmitUsageEventsAsync([usage, usage]);

        var replay = bulk.Results[0].Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        replay.IsReplay.Should().BeTrue();
        var repeat = bulk.Results[1].Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        repeat.IsReplay.Should().BeFalse("the replay before it already stands for the one recorded event");
        repeat.Original!.UsageEventId.Should().Be(accepted.UsageEventId);
        bulk.Summary.Delivered.Should().Be(1);
        bulk.Summary.Replays.Should().Be(1);
        bulk.Summary.Conflicts.Should().Be(1);
        bulk.Summary.DeliveredQuantityByDimension["dim1"].Should().Be(5);
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_ManagedAppByUriAndByItsIdInBatchesAnsweredOutOfOrder_OneDeliveredOneConflict()
    {
        // By URI and by its resource usage id, one application is two keys to the client, so the two go in two batches at
        // once. Here the later input's batch is recorded first: the earlier input comes back as a Duplicate of it, which
        // matches it (the same application, plan, dimension, hour and quantity) but recorded nothing of its own.
        const string uri = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.Solutions/applications/app";
        var usageId = Guid.Parse("5d4c3b2a-0000-4000-8000-00000000a0a0");
        await using var h = await Harness.StartAsync(emulator: o => o.Resources.Add(
            new EmulatedResource { ResourceId = usageId, ResourceUri = uri, PlanId = TestEvents.Plan, Dimensions = [TestEvents.Dimension, .. Enumerable.Range(0, 25).Select(i => $"d{i}")] }));
        var at = h.Clock.GetUtcNow().AddHours(-1);
        List<UsageEvent> events =
        [
            UsageEvent.ForResourceUri(uri, TestEvents.Plan, TestEvents.Dimension, 5m, at),
            .. Enumerable.Range(0, 25).Select(i => UsageEvent.ForResourceId(usageId, TestEvents.Plan, $"d{i}", 1m, at)),
            UsageEvent.ForResourceId(usageId, TestEvents.Plan, TestEvents.Dimension, 5m, at),
        ];
        var options = new MeteringClientOptions { Endpoint = h.Emulator.Endpoint, TimeProvider = h.Clock };
        using var client = new MeteringClient(new HttpClient(new UriBatchAnsweredLast()), h.Emulator.Credential, options);

        var bulk = await client.SubmitUsageEventsAsync(events);

        var accepted = bulk.Results[26].Should().BeOfType<UsageEventResult.Accepted>("its batch reached the emulator first").Subject;
        var repeat = bulk.Results[0].Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        repeat.Original!.UsageEventId.Should().Be(accepted.UsageEventId);
        repeat.IsReplay.Should().BeFalse("the call's other input was accepted as this very record; this one's attempt recorded nothing");
        h.Emulator.Ledger.Entries.Count(e => e.Dimension == TestEvents.Dimension).Should().Be(1);
        bulk.Summary.Delivered.Should().Be(26, "the 25 others and the application's hour once");
        bulk.Summary.DeliveredQuantityByDimension[TestEvents.Dimension].Should().Be(5);
    }

    /// <summary>Holds the batch that names a resource by URI until another batch has been answered.</summary>
    private sealed class UriBatchAnsweredLast() : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly TaskCompletionSource _otherAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
            if (body.Contains("\"resourceUri\"", StringComparison.Ordinal))
            {
                await _otherAnswered.Task.WaitAsync(TimeSpan.FromMinutes(1), cancellationToken);
                return await base.SendAsync(request, cancellationToken);
            }

            var response = await base.SendAsync(request, cancellationToken);
            _otherAnswered.TrySetResult();
            return response;
        }
    }

    [Fact]
    public void TakeRepeatsAsConflicts_ErrorCopyThenReplayCopy_ErrorBecomesARepeatNotRetryable()
    {
        // The first copy's answer was lost (Error after the retries) though the service recorded it; the second copy
        // comes back as a replay of that record. Resubmitting the Error copy would come back as one more replay,
        // counted as delivered again, where the service holds the hour once.
        var usage = TestEvents.At(RepeatHour, quantity: 5);
        var original = MeteringModelFactory.AcceptedUsageEvent(usage);
        var results = new UsageEventResult[]
        {
            MeteringModelFactory.Error(usage, requestId: "lost"),
            MeteringModelFactory.Duplicate(usage, original),
        };

        BulkSubmission.TakeRepeatsAsConflicts(results);

        var repeat = results[0].Should().BeOfType<UsageEventResult.Duplicate>("the hour holds this very event, delivered by its copy").Subject;
        repeat.IsReplay.Should().BeFalse();
        repeat.Original.Should().Be(original);
        repeat.RequestId.Should().Be("lost");
        results[1].Should().BeOfType<UsageEventResult.Duplicate>().Which.IsReplay.Should().BeTrue();
        var summary = UsageEventSummary.Create(results);
        summary.Retryable.Should().BeEmpty("submitting it again could only come back as a replay of the one recorded event");
        summary.Delivered.Should().Be(1);
        summary.Conflicts.Should().Be(1);
    }

    [Fact]
    public void TakeRepeatsAsConflicts_AcceptedCopyThenErrorCopy_ErrorBecomesARepeatOfTheAcceptedId()
    {
        var usage = TestEvents.At(RepeatHour, quantity: 5);
        var other = TestEvents.At(RepeatHour, quantity: 5, resource: TestEvents.ResourceNumber(7));
        var accepted = MeteringModelFactory.Accepted(usage);
        var results = new UsageEventResult[]
        {
            accepted,
            MeteringModelFactory.Error(usage),
            MeteringModelFactory.Error(other),
        };

        BulkSubmission.TakeRepeatsAsConflicts(results);

        var repeat = results[1].Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        repeat.IsReplay.Should().BeFalse();
        repeat.Original!.UsageEventId.Should().Be(accepted.UsageEventId);
        repeat.Original.Quantity.Should().Be(5);
        results[2].Should().BeOfType<UsageEventResult.Error>("nothing in the call delivered its resource, dimension and hour");
        UsageEventSummary.Create(results).Retryable.Should().Equal(other);
    }

    private static readonly DateTimeOffset RepeatHour = new(2026, 11, 20, 9, 10, 0, TimeSpan.Zero);

    private static void AssertOneDeliveredTwoConflicts(Harness h, IReadOnlyList<UsageEventResult> results, int[] at)
    {
        var accepted = results[at[0]].Should().BeOfType<UsageEventResult.Accepted>("the first of the three is sent first").Subject;
        var recorded = h.Emulator.Ledger.Entries.Should().ContainSingle(e => e.Dimension == "dim1").Subject;
        recorded.Quantity.Should().Be(5);
        accepted.UsageEventId.Should().Be(recorded.UsageEventId);
        foreach (var i in at.Skip(1))
        {
            var repeat = results[i].Should().BeOfType<UsageEventResult.Duplicate>().Subject;
            repeat.Original.Should().NotBeNull("the emulator's Duplicate carries the original");
            repeat.Original!.UsageEventId.Should().Be(accepted.UsageEventId, "the emulator answers with the original's usage event id");
            repeat.IsReplay.Should().BeFalse("result {0} is a repeat of an event this very call delivered: its own attempt recorded nothing", i);
            repeat.IsConflict.Should().BeTrue();
            repeat.IsDelivered.Should().BeFalse();
        }

        h.Emulator.Requests.Should().HaveCount(3, "the three same-key events go in three batches, in input order");
    }
}
