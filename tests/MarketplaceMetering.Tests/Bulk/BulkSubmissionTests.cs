using System.Text.Json;
using MarketplaceMetering.Emulator;

namespace MarketplaceMetering.Tests.Bulk;

/// <summary>SubmitUsageEventsAsync over real HTTP against the emulator.</summary>
public class BulkSubmissionTests
{
    private static List<JsonElement> SentEvents(RecordedRequest request)
    {
        using var body = JsonDocument.Parse(request.Body);
        return body.RootElement.GetProperty("request").EnumerateArray().Select(e => e.Clone()).ToList();
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_60Events_SendsBatchesOfAtMost25AndAnswersInInputOrder()
    {
        await using var h = await Harness.StartAsync(emulator: o => o.ShuffleBatchResults = true);
        var events = TestEvents.Distinct(h.Clock, 60);

        var bulk = await h.Client.SubmitUsageEventsAsync(events);

        bulk.Results.Select(r => r.Event).Should().Equal(events);
        bulk.Results.Should().AllBeOfType<UsageEventResult.Accepted>();
        bulk.Summary.AllDelivered.Should().BeTrue();
        bulk.Summary.DeliveredQuantityByDimension["dim1"].Should().Be(events.Sum(e => e.Quantity));
        var requests = h.Emulator.Requests;
        requests.Should().HaveCount(3).And.OnlyContain(r => r.Path == "/api/batchUsageEvent");
        requests.Select(r => SentEvents(r).Count).Should().OnlyContain(n => n <= 25).And.Subject.Sum().Should().Be(60);
        requests.Select(r => r.Headers["x-ms-correlationid"]).Distinct().Should().ContainSingle("one bulk submission is one client operation");
        var byId = h.Emulator.Ledger.Entries.ToDictionary(e => e.UsageEventId);
        bulk.Results.Cast<UsageEventResult.Accepted>().Should().OnlyContain(a => byId[a.UsageEventId].ResourceId == a.Event.ResourceId);
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_FirstBatchAnsweredLast_ResultsStillInInputOrder()
    {
        // The first request to arrive (the first batch's, which is sent first) waits; the other two batches are answered
        // before it, so their results are filed first, at their own positions.
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.Latency(TimeSpan.FromMilliseconds(500)));
        var events = TestEvents.Distinct(h.Clock, 75);

        var bulk = await h.Client.SubmitUsageEventsAsync(events);

        bulk.Results.Select(r => r.Event).Should().Equal(events);
        bulk.Results.Should().AllBeOfType<UsageEventResult.Accepted>();
        var byId = h.Emulator.Ledger.Entries.ToDictionary(e => e.UsageEventId);
        bulk.Results.Cast<UsageEventResult.Accepted>().Should().OnlyContain(a => byId[a.UsageEventId].ResourceId == a.Event.ResourceId);
        h.Emulator.Requests.Should().HaveCount(3);
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_SameKeyTwice_NeverInOneBatchAndSentInInputOrder()
    {
        await using var h = await Harness.StartAsync(client: o => o.MaxConcurrency = 4);
        var first = h.HourAgo(quantity: 5);
        var events = new List<UsageEvent> { first };
        events.AddRange(TestEvents.Distinct(h.Clock, 30, dimension: "dim2"));
        events.Add(h.HourAgo(quantity: 5));   // the same event again: recorded once, so a conflict (RepeatedEventTests)
        events.Add(h.HourAgo(quantity: 8));   // the same hour, another quantity: a conflict

        var bulk = await h.Client.SubmitUsageEventsAsync(events);

        bulk.Results[0].Should().BeOfType<UsageEventResult.Accepted>("it comes first in the input");
        var repeat = bulk.Results[31].Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        repeat.IsConflict.Should().BeTrue("the first of the two was the one recorded");
        repeat.Original!.UsageEventId.Should().Be(((UsageEventResult.Accepted)bulk.Results[0]).UsageEventId);
        bulk.Results[32].Should().BeOfType<UsageEventResult.Duplicate>().Which.IsConflict.Should().BeTrue();
        foreach (var request in h.Emulator.Requests)
        {
            var keys = SentEvents(request).Select(e => (e.GetProperty("resourceId").GetString(), e.GetProperty("dimension").GetString(), e.GetProperty("effectiveStartTime").GetString()![..13])).ToList();
            keys.Should().OnlyHaveUniqueItems("a batch never holds two events for one resource, dimension and hour");
        }

        h.Emulator.Ledger.Entries.Single(e => e.Dimension == "dim1").Quantity.Should().Be(5);
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_ManyBatches_KeepsAtMostMaxConcurrencyInFlight()
    {
        var counter = new ConcurrencyCountingHandler();
        await using var h = await Harness.StartAsync(client: o => o.MaxConcurrency = 3);
        h.Emulator.Faults.Settings.MinLatency = TimeSpan.FromMilliseconds(30);
        h.Emulator.Faults.Settings.MaxLatency = TimeSpan.FromMilliseconds(60);
        using var http = new HttpClient(counter);
        var options = new MeteringClientOptions { Endpoint = h.Emulator.Endpoint, TimeProvider = h.Clock, MaxConcurrency = 3 };
        using var client = new MeteringClient(http, h.Emulator.Credential, options);

        var bulk = await client.SubmitUsageEventsAsync(TestEvents.Distinct(h.Clock, 250));

        bulk.Summary.Delivered.Should().Be(250);
        counter.Total.Should().Be(10);
        counter.Peak.Should().BeLessThanOrEqualTo(3).And.BeGreaterThan(1, "batches do go out in parallel");
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_EventsOutsideTheWindow_AreReportedAndNotSent()
    {
        await using var h = await Harness.StartAsync();
        var old = TestEvents.At(h.Clock.GetUtcNow().AddHours(-25), resource: TestEvents.ResourceNumber(1));
        var future = TestEvents.At(h.Clock.GetUtcNow().AddHours(2), resource: TestEvents.ResourceNumber(2));
        var fine = TestEvents.At(h.Clock.GetUtcNow().AddHours(-2), resource: TestEvents.ResourceNumber(3));

        var bulk = await h.Client.SubmitUsageEventsAsync([old, future, fine]);

        bulk.Results[0].Should().BeOfType<UsageEventResult.Expired>().Which.Message.Should().StartWith("Not sent");
        bulk.Results[1].Should().BeOfType<UsageEventResult.BadArgument>().Which.Target.Should().Be("effectiveStartTime");
        bulk.Results[2].Should().BeOfType<UsageEventResult.Accepted>();
        SentEvents(h.Emulator.Requests.Single()).Should().ContainSingle();
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_OneBatchFailsAfterRetries_ItsEventsAreErrorsAndTheOthersGoOn()
    {
        await using var h = await Harness.StartAsync(client: o =>
        {
            o.MaxConcurrency = 1;
            o.Retry.MaxRetries = 2;
        });
        h.Emulator.Faults.Enqueue(EmulatorFault.ServerError(503), EmulatorFault.ServerError(500), EmulatorFault.ServerError(503));
        var events = TestEvents.Distinct(h.Clock, 40);

        var bulk = await h.Client.SubmitUsageEventsAsync(events);

        var failed = bulk.Results.Take(25).Should().AllBeOfType<UsageEventResult.Error>().Subject.ToList();
        failed.Should().OnlyContain(e => e.Code == "ServiceUnavailable" && e.Message.Contains("HTTP 503") && e.Message.Contains("outlasted the retries") && e.RequestId != null);
        failed.Should().OnlyContain(e => e.StatusCode == 503, "the call's last answer was a 503");
        bulk.Results.Skip(25).Should().AllBeOfType<UsageEventResult.Accepted>();
        bulk.Summary.Retryable.Should().Equal(events.Take(25));
        h.Emulator.Requests.Should().HaveCount(4);
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_ServiceRefusesTheCaller_ReportsEveryEventAndStopsSending()
    {
        await using var h = await Harness.StartAsync(client: o => o.MaxConcurrency = 1, credential: _ => new CountingCredential("wrong", TimeProvider.System));

        var bulk = await h.Client.SubmitUsageEventsAsync(TestEvents.Distinct(h.Clock, 100));

        bulk.Results.Should().HaveCount(100).And.AllBeOfType<UsageEventResult.Error>();
        bulk.Results.Cast<UsageEventResult.Error>().Should().OnlyContain(e => e.Message.Contains("403") || e.Message.Contains("refused"));
        h.Emulator.Requests.Should().ContainSingle("after a 403 nothing more is sent");
        var errors = bulk.Results.Cast<UsageEventResult.Error>().ToList();
        errors.Take(25).Should().OnlyContain(e => e.StatusCode == 403, "the refused batch's events carry the refusal's status");
        errors.Skip(25).Should().OnlyContain(e => e.StatusCode == null && e.Code == "NotSent", "the events never sent had no call of their own");
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_BatchGetsNoAnswer_ItsErrorsCarryNoStatusCode()
    {
        await using var h = await Harness.StartAsync(client: o =>
        {
            o.MaxConcurrency = 1;
            o.Retry.MaxRetries = 0;
        });
        h.Emulator.Faults.Enqueue(EmulatorFault.DropAfterAccept());

        var bulk = await h.Client.SubmitUsageEventsAsync(TestEvents.Distinct(h.Clock, 30));

        bulk.Results.Take(25).Should().AllBeOfType<UsageEventResult.Error>()
            .And.OnlyContain(r => ((UsageEventResult.Error)r).StatusCode == null, "no answer came, so there is no status to report");
        bulk.Results.Skip(25).Should().AllBeOfType<UsageEventResult.Accepted>();
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_AnswerOmitsTheBatchsItems_ItsErrorsCarryNoStatusCode()
    {
        await using var h = await Harness.StartAsync(client: o => o.MaxConcurrency = 1);
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, """{"count":0,"result":[]}"""));

        var bulk = await h.Client.SubmitUsageEventsAsync(TestEvents.Distinct(h.Clock, 3));

        bulk.Results.Should().AllBeOfType<UsageEventResult.Error>()
            .And.OnlyContain(r => ((UsageEventResult.Error)r).Code == "MissingFromResponse" && ((UsageEventResult.Error)r).StatusCode == null, "the call itself succeeded");
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_NullEvent_ThrowsBeforeSendingAnything()
    {
        await using var h = await Harness.StartAsync();
        var events = new List<UsageEvent> { h.HourAgo(), null! };

        var act = () => h.Client.SubmitUsageEventsAsync(events);

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("usageEvents[1] is null");
        h.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_Stream_YieldsInInputOrderAndSummarises()
    {
        await using var h = await Harness.StartAsync(emulator: o => o.ShuffleBatchResults = true);
        var events = TestEvents.Distinct(h.Clock, 80);

        var results = new List<UsageEventResult>();
        await foreach (var result in h.Client.SubmitUsageEventsAsync(Stream(events)))
        {
            results.Add(result);
        }

        results.Select(r => r.Event).Should().Equal(events);
        results.Should().AllBeOfType<UsageEventResult.Accepted>();
        var summary = await UsageEventSummary.CreateAsync(h.Client.SubmitUsageEventsAsync(Stream(events)));
        summary.Replays.Should().Be(80, "the second submission of the same events replays them all");
        summary.AllDelivered.Should().BeTrue();
        h.Emulator.Ledger.Count.Should().Be(80);
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_StreamCancelled_Throws()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.Latency(TimeSpan.FromMinutes(5)));
        using var cts = new CancellationTokenSource();

        var act = async () =>
        {
            await foreach (var _ in h.Client.SubmitUsageEventsAsync(Stream(TestEvents.Distinct(h.Clock, 10)), cts.Token))
            {
            }
        };
        cts.CancelAfter(TimeSpan.FromMilliseconds(300));

        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SubmitUsageEventsAsync_OneEventOfABatchLeavesTheWindowWhileItWaits_TheRestAreSentAndEachResultKeepsItsPlace(bool restFails)
    {
        await using var h = await Harness.StartAsync(client: o =>
        {
            o.Retry.MaxRetries = 0;
            o.NetworkTimeout = TimeSpan.FromMinutes(10); // the clock moves 2 minutes while batch A is in flight
        });
        var first = TestEvents.Distinct(h.Clock, 25); // batch A
        var closing = TestEvents.At(h.Clock.GetUtcNow() - TimeSpan.FromHours(24) + TimeSpan.FromSeconds(60), resource: TestEvents.ResourceNumber(100));
        var others = Enumerable.Range(101, 3).Select(i => TestEvents.HourAgo(h.Clock, resource: TestEvents.ResourceNumber(i))).ToList();

        // Batch B starts with a repeat of A's first event, so it waits for A; while it waits, its third event leaves the
        // service's 24-hour window. The other four are still sent, and every result lands at its own event's position.
        List<UsageEvent> events = [.. first, first[0], others[0], closing, others[1], others[2]];
        h.Emulator.Faults.Enqueue(EmulatorFault.Latency(TimeSpan.FromSeconds(2)));
        if (restFails)
        {
            h.Emulator.Faults.Enqueue(EmulatorFault.ServerError(503));
        }

        var call = h.Client.SubmitUsageEventsAsync(events);
        await Eventually.HoldsAsync(() => h.Emulator.Requests.Count == 1, "batch A reaches the emulator, which holds its answer");
        h.Clock.Advance(TimeSpan.FromMinutes(2));
        var bulk = await call.WaitAsync(TimeSpan.FromSeconds(20));

        bulk.Results.Select(r => r.Event).Should().Equal(events);
        bulk.Results.Take(25).Should().AllBeOfType<UsageEventResult.Accepted>();
        bulk.Results[27].Should().BeOfType<UsageEventResult.Expired>().Which.Code.Should().Be("DeadlinePassed");
        int[] sent = [25, 26, 28, 29];
        if (restFails)
        {
            new[] { 26, 28, 29 }.Select(i => bulk.Results[i]).Should().AllBeOfType<UsageEventResult.Error>().And.OnlyContain(r => ((UsageEventResult.Error)r).Message.Contains("503"));
            bulk.Results[25].Should().BeOfType<UsageEventResult.Duplicate>()
                .Which.IsConflict.Should().BeTrue("its batch failed, but it repeats A's first event, which was recorded: sent again it could only be a replay");
        }
        else
        {
            bulk.Results[25].Should().BeOfType<UsageEventResult.Duplicate>().Which.IsConflict.Should().BeTrue("A's first event was recorded, not this repeat");
            new[] { 26, 28, 29 }.Select(i => bulk.Results[i]).Should().AllBeOfType<UsageEventResult.Accepted>()
                .And.OnlyContain(r => r.Event.ResourceId != closing.ResourceId);
        }

        h.Emulator.Requests.Should().HaveCount(2);
        SentEvents(h.Emulator.Requests[1]).Select(e => e.GetProperty("resourceId").GetGuid())
            .Should().Equal(sent.Select(i => events[i].ResourceId!.Value), "the event that left its window is not sent; the others are, in order");
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_ListCancelledWhileBatchesAreInFlight_ThrowsAndSendsNoFurtherBatch()
    {
        // 8 batches, 4 in flight (the default); the emulator holds the first 4 answers (its clock never reaches them).
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(Enumerable.Repeat(EmulatorFault.Latency(TimeSpan.FromMinutes(5)), 4).ToArray());
        using var cts = new CancellationTokenSource();

        var call = h.Client.SubmitUsageEventsAsync(TestEvents.Distinct(h.Clock, 200), cts.Token);
        await Eventually.HoldsAsync(() => h.Emulator.Requests.Count == 4, "the first 4 batches reach the emulator");
        await cts.CancelAsync();

        await FluentActions.Awaiting(() => call.WaitAsync(TimeSpan.FromSeconds(20))).Should().ThrowAsync<OperationCanceledException>();
        h.Emulator.Requests.Should().HaveCount(4, "no batch is sent after the cancel");
        h.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_CallerStopsReadingAfterFirstResult_SendsNoFurtherBatchAndEnds()
    {
        await using var h = await Harness.StartAsync();
        var events = TestEvents.Distinct(h.Clock, 200); // 8 batches, 4 in flight (the default)
        var (first, readWhenStopped, read) = await StopAfterFirstResultAsync(h, events);

        first.Should().BeOfType<UsageEventResult.Accepted>();

        // How far the submission had read when the caller saw the first answer is a race with 4 slots: the first batch's
        // answer may come after the others', and each answer frees a slot (bounds of 4 and 5 batches, and later of fewer
        // than all 8, each failed in runs). The bound is tested with one slot below. What must hold is that nothing is
        // read, so nothing sent, after the caller stops.
        read.Should().Be(readWhenStopped, "nothing is read from the source once the caller stops");
        h.Emulator.Ledger.Count.Should().BeLessThanOrEqualTo(readWhenStopped, "only events read before the caller stopped may land");
        h.Emulator.Ledger.Count.Should().BeGreaterThanOrEqualTo(UsageEventValidator.MaxBatchSize, "the first batch was answered");
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_OneSlotCallerStopsAfterFirstResult_HadReadOnlyTheNextBatch()
    {
        await using var h = await Harness.StartAsync(client: o => o.MaxConcurrency = 1);
        var events = TestEvents.Distinct(h.Clock, 200);
        var (first, readWhenStopped, read) = await StopAfterFirstResultAsync(h, events);

        first.Should().BeOfType<UsageEventResult.Accepted>();

        // With one slot the order is fixed: the first batch is answered while the second is planned, and the second takes
        // the freed slot; the source is not read further until a slot frees again.
        readWhenStopped.Should().Be(2 * UsageEventValidator.MaxBatchSize, "the submission reads ahead only as far as its slots allow");
        read.Should().Be(readWhenStopped, "nothing is read from the source once the caller stops");
        h.Emulator.Ledger.Count.Should().BeInRange(UsageEventValidator.MaxBatchSize, 2 * UsageEventValidator.MaxBatchSize);
    }

    /// <summary>Reads a bulk submission of <paramref name="events"/> until its first result, then stops.</summary>
    private static async Task<(UsageEventResult? First, int ReadWhenStopped, int Read)> StopAfterFirstResultAsync(Harness h, IReadOnlyList<UsageEvent> events)
    {
        var read = 0;
        async IAsyncEnumerable<UsageEvent> Counted()
        {
            await foreach (var e in Stream(events))
            {
                read++;
                yield return e;
            }
        }

        UsageEventResult? first = null;
        var readWhenStopped = 0;
        await foreach (var result in h.Client.SubmitUsageEventsAsync(Counted()))
        {
            first = result;
            readWhenStopped = read;
            break; // disposing the stream stops the batches in flight and waits for each to report back
        }

        return (first, readWhenStopped, read);
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_ConflictingFirstWrite_IsReportedAsConflictNotDelivered()
    {
        await using var h = await Harness.StartAsync();
        var firstWrite = h.HourAgo(quantity: 5, resource: TestEvents.ResourceNumber(2));
        await h.Client.SubmitUsageEventAsync(firstWrite);     // another instance, say, reported this hour first
        var events = TestEvents.Distinct(h.Clock, 6);          // event 2 is the same resource, dimension and hour, with quantity 3

        var bulk = await h.Client.SubmitUsageEventsAsync(events);

        var conflict = bulk.Results[2].Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        conflict.IsConflict.Should().BeTrue();
        conflict.IsDelivered.Should().BeFalse();
        conflict.Original!.Quantity.Should().Be(5);
        bulk.Summary.Conflicts.Should().Be(1);
        bulk.Summary.Delivered.Should().Be(5);
        bulk.Summary.NeedsAttention.Should().ContainSingle().Which.Should().BeSameAs(conflict);
        bulk.Summary.Retryable.Should().BeEmpty("resubmitting a conflict changes nothing");
        bulk.Summary.DeliveredQuantityByDimension["dim1"].Should().Be(events.Sum(e => e.Quantity) - events[2].Quantity);
        h.Emulator.Ledger.Entries.Single(e => e.ResourceId == TestEvents.ResourceNumber(2)).Quantity.Should().Be(5);
    }

    internal static async IAsyncEnumerable<UsageEvent> Stream(IEnumerable<UsageEvent> events)
    {
        foreach (var e in events)
        {
            await Task.Yield();
            yield return e;
        }
    }

    private sealed class ConcurrencyCountingHandler() : DelegatingHandler(new HttpClientHandler())
    {
        private int _current;
        private int _peak;
        private int _total;

        public int Peak => Volatile.Read(ref _peak);

        public int Total => Volatile.Read(ref _total);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _total);
            var now = Interlocked.Increment(ref _current);
            int peak;
            while (now > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak)
            {
            }

            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _current);
            }
        }
    }
}
