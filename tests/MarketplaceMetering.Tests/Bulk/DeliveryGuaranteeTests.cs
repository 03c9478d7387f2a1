using System.Text.Json;
using MarketplaceMetering.Emulator;
using MarketplaceMetering.Testing;
using Xunit.Abstractions;

namespace MarketplaceMetering.Tests.Bulk;

/// <summary>Issue 4's proofs: exactly-once delivery under injected faults, and no send past a deadline.</summary>
public class DeliveryGuaranteeTests(ITestOutputHelper output)
{
    /// <summary>
    /// The client options of the chaos run, as docs/reliability.md must quote them beside its figures (set
    /// CHAOS_DEFAULT_OPTIONS=1 to measure the same run with the default options).
    /// </summary>
    internal const string ChaosOptions = "MaxConcurrency = 8, NetworkTimeout = 10 s, Retry.MaxRetries = 6, Retry.Delay = 5 ms, Retry.MaxDelay = 2 s";

    internal static void ConfigureChaosClient(MeteringClientOptions options)
    {
        options.MaxConcurrency = 8;
        options.NetworkTimeout = TimeSpan.FromSeconds(10);
        options.Retry.MaxRetries = 6;
        options.Retry.Delay = TimeSpan.FromMilliseconds(5);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(2);
    }

    [Fact]
    public async Task Chaos_10000EventsUnder5xxThrottlingDroppedAnswersAndLatency_LedgerEqualsSubmittedUsageExactly()
    {
        var random = new Random(20261121);
        var now = TimeProvider.System.GetUtcNow();
        var events = ChaosEvents(random, now);
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { Seed = 4242 });
        var faults = emulator.Faults.Settings;
        faults.ServerErrorProbability = 0.20;
        faults.ThrottleProbability = 0.10;
        faults.ThrottleRetryAfter = TimeSpan.FromSeconds(1);
        faults.DropAfterAcceptProbability = 0.10;
        faults.MinLatency = TimeSpan.Zero;
        faults.MaxLatency = TimeSpan.FromMilliseconds(15);
        var options = new MeteringClientOptions { Endpoint = emulator.Endpoint };
        if (Environment.GetEnvironmentVariable("CHAOS_DEFAULT_OPTIONS") != "1")
        {
            ConfigureChaosClient(options);
        }

        var started = TimeProvider.System.GetTimestamp();
        using var client = new MeteringClient(emulator.Credential, options);

        // Submit, then feed back what the summary says is retryable, as a user would.
        var delivered = new List<UsageEventResult>();
        var pending = (IReadOnlyList<UsageEvent>)events;
        var rounds = 0;
        while (pending.Count > 0)
        {
            rounds++;
            rounds.Should().BeLessThan(10, "every event must eventually be delivered");
            var bulk = await client.SubmitUsageEventsAsync(pending);
            output.WriteLine($"round {rounds}: {bulk.Summary}");
            bulk.Results.Should().OnlyContain(r => r.IsDelivered || r is UsageEventResult.Error, "nothing may be lost, conflicting or expired");
            delivered.AddRange(bulk.Results.Where(r => r.IsDelivered));
            pending = bulk.Summary.Retryable;
        }

        output.WriteLine($"{emulator.Requests.Count} requests in {TimeProvider.System.GetElapsedTime(started).TotalSeconds:F1} s with {(Environment.GetEnvironmentVariable("CHAOS_DEFAULT_OPTIONS") == "1" ? "the default options" : ChaosOptions)}; faults drawn by seed 4242");
        var ledger = emulator.Ledger.Entries;
        ledger.Should().HaveCount(events.Count, "every event is recorded once, none twice");
        var byKey = ledger.ToDictionary(e => (e.ResourceId, e.Dimension, Hour(e.EffectiveStartTime)));
        foreach (var e in events)
        {
            byKey[(e.ResourceId!.Value, e.Dimension, Hour(e.EffectiveStartTime))].Quantity.Should().Be(e.Quantity, "no quantity lost or doubled");
        }

        ledger.Sum(e => e.Quantity).Should().Be(events.Sum(e => e.Quantity));
        delivered.Should().HaveCount(events.Count);
        foreach (var result in delivered)
        {
            var entry = byKey[(result.Event.ResourceId!.Value, result.Event.Dimension, Hour(result.Event.EffectiveStartTime))];
            var id = result switch
            {
                UsageEventResult.Accepted a => a.UsageEventId,
                UsageEventResult.Duplicate d => d.Original!.UsageEventId,
                _ => Guid.Empty,
            };
            id.Should().Be(entry.UsageEventId, "what the client reports as delivered is what the ledger holds");
        }

        delivered.OfType<UsageEventResult.Duplicate>().Should().NotBeEmpty("dropped answers were retried and recognised as replays");
        emulator.Requests.Count(r => r.ResponseStatus is 429).Should().BeGreaterThan(0);
        emulator.Requests.Count(r => r.ResponseStatus is 500 or 503).Should().BeGreaterThan(0);
    }

    [Fact]
    public async Task Deadline_ServiceDownUntilEventsExpire_NothingSentPastItsDeadlineAndEachReported()
    {
        var clock = new TestClock();
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { TimeProvider = clock, Seed = 1 });
        emulator.Faults.Settings.ServerErrorProbability = 1.0;   // the service is down
        var options = new MeteringClientOptions { Endpoint = emulator.Endpoint, TimeProvider = clock, MaxConcurrency = 1 };
        options.Retry.MaxRetries = 100;
        options.Retry.Delay = TimeSpan.FromSeconds(4);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(15);
        using var client = new MeteringClient(emulator.Credential, options);
        var margin = UsageEventValidator.DeadlineSafetyMargin;
        DateTimeOffset DeadlineIn(TimeSpan left) => clock.GetUtcNow() - TimeSpan.FromHours(24) + margin + left;
        DateTimeOffset WindowClosesIn(TimeSpan left) => clock.GetUtcNow() - TimeSpan.FromHours(24) + left;
        // The first batch (25 events) has 60 s until its retry deadline; the second (5 events) has only 20 s left in its
        // 24-hour window, and must wait for the first (MaxConcurrency = 1).
        var events = Enumerable.Range(0, 25).Select(i => TestEvents.At(DeadlineIn(TimeSpan.FromSeconds(60)), resource: TestEvents.ResourceNumber(i)))
            .Concat(Enumerable.Range(25, 5).Select(i => TestEvents.At(WindowClosesIn(TimeSpan.FromSeconds(20)), resource: TestEvents.ResourceNumber(i))))
            .ToList();
        var deadlineOf = events.ToDictionary(e => e.ResourceId!.Value, e => e.EffectiveStartTime + TimeSpan.FromHours(24) - margin);

        var submission = client.SubmitUsageEventsAsync(events);
        while (!submission.IsCompleted)
        {
            var retryWait = clock.WaitForTimerAsync(d => d > TimeSpan.Zero && d <= TimeSpan.FromSeconds(15));
            if (await Task.WhenAny(submission, retryWait) == submission)
            {
                break;
            }

            clock.Advance(await retryWait);
        }

        var bulk = await submission;
        bulk.Results.Should().HaveCount(30).And.OnlyContain(r => !r.IsDelivered);
        bulk.Results.Take(25).Should().AllBeOfType<UsageEventResult.Error>()
            .Which.Should().OnlyContain(e => e.Message.Contains("deadline") && e.Message.Contains("HTTP 5"));
        bulk.Results.Skip(25).Should().AllBeOfType<UsageEventResult.Expired>()
            .Which.Should().OnlyContain(e => e.Code == "DeadlinePassed" && e.RequestId == null);
        var requests = emulator.Requests;
        requests.Should().HaveCountGreaterThan(3, "the first batch was retried while its deadline allowed");
        foreach (var request in requests)
        {
            using var body = JsonDocument.Parse(request.Body);
            foreach (var sent in body.RootElement.GetProperty("request").EnumerateArray())
            {
                request.ReceivedAt.Should().BeBefore(deadlineOf[sent.GetProperty("resourceId").GetGuid()], "no event is sent after its deadline");
            }
        }

        requests.SelectMany(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("request").EnumerateArray().Select(e => e.GetProperty("resourceId").GetGuid()))
            .Should().NotContain(events.Skip(25).Select(e => e.ResourceId!.Value), "the second batch's window closed while it waited");
    }

    [Fact]
    public async Task Stream_1000000Events_MemoryStaysBounded()
    {
        const int Count = 1_000_000;
        var clock = new TestClock();
        using var http = new HttpClient(new AcceptingHandler());
        using var client = new MeteringClient(http, new CountingCredential("tok", clock), new MeteringClientOptions
        {
            Endpoint = new Uri("https://metering.test/"),
            TimeProvider = clock,
            MaxConcurrency = 4,
        });
        var submission = client.CreateBulkSubmission();
        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        long midway = 0;
        long seen = 0;

        await foreach (var result in submission.RunAsync(Events(clock, Count)))
        {
            if (result is not UsageEventResult.Accepted)
            {
                throw new InvalidOperationException("Unexpected " + result);
            }

            if (++seen == Count / 2)
            {
                midway = GC.GetTotalMemory(forceFullCollection: true);
            }
        }

        seen.Should().Be(Count);
        var bound = (4 + BatchPlanner.MaxOpenBatches) * UsageEventValidator.MaxBatchSize;
        submission.PeakInFlight.Should().BeLessThanOrEqualTo(4);
        submission.PeakWaitingResults.Should().BeLessThanOrEqualTo(bound);
        submission.PeakTrackedKeys.Should().BeLessThanOrEqualTo(bound);
        (midway - before).Should().BeLessThan(32L * 1024 * 1024, "half a million results must not be retained");
        output.WriteLine($"heap before {before / 1024} KiB, midway {midway / 1024} KiB; peaks: in flight {submission.PeakInFlight}, waiting {submission.PeakWaitingResults}, keys {submission.PeakTrackedKeys}");
    }

    [Fact]
    public async Task Stream_OneBatchLagsWhileTheOthersAreAnswered_StopsSendingUntilItIsBackSoWaitingResultsStayBounded()
    {
        // Results are yielded in input order, so those of later batches wait for a batch that lags (a retry, a slow
        // answer). Sending must stop while it lags, or a long stream keeps every later result in memory.
        const int Count = 2_000;
        var clock = new TestClock();
        var handler = new HoldingHandler(holdRequest: 1);
        using var http = new HttpClient(handler);
        using var client = new MeteringClient(http, new CountingCredential("tok", clock), new MeteringClientOptions
        {
            Endpoint = new Uri("https://metering.test/"),
            TimeProvider = clock,
            MaxConcurrency = 4,
        });
        var submission = client.CreateBulkSubmission();
        var delivered = 0;
        var run = Task.Run(async () =>
        {
            await foreach (var result in submission.RunAsync(Events(clock, Count)))
            {
                delivered += result is UsageEventResult.Accepted ? 1 : 0;
            }
        });

        await Eventually.HoldsAsync(() => handler.Held, "the second batch is held");
        var sentWhileHeld = await handler.QuietAsync();
        handler.Release();
        await run.WaitAsync(TimeSpan.FromSeconds(60));

        var bound = (4 + BatchPlanner.MaxOpenBatches) * UsageEventValidator.MaxBatchSize;
        // Sending stops once the results of a few batches wait (at most the bound's worth, plus the batches then in
        // flight), not after the whole input (80 batches).
        sentWhileHeld.Should().BeLessThanOrEqualTo((bound / UsageEventValidator.MaxBatchSize) + 4);
        submission.PeakWaitingResults.Should().BeLessThanOrEqualTo(bound);
        submission.PeakInFlight.Should().BeLessThanOrEqualTo(4);
        delivered.Should().Be(Count);
    }

    private static async IAsyncEnumerable<UsageEvent> Events(TimeProvider clock, int count)
    {
        var hour = clock.GetUtcNow().AddHours(-2);
        for (var i = 0; i < count; i++)
        {
            if (i % 4096 == 0)
            {
                await Task.Yield();
            }

            yield return UsageEvent.ForResourceId(new Guid(i, 0, 0, [0, 0, 0, 0, 0, 0, 0, 1]), "plan1", "dim1", 1, hour);
        }
    }

    private static List<UsageEvent> ChaosEvents(Random random, DateTimeOffset now)
    {
        var resources = Enumerable.Range(0, 200).Select(i => new Guid(i + 1, 7, 7, [1, 2, 3, 4, 5, 6, 7, 8])).ToArray();
        string[] dimensions = ["emails", "sms", "storage"];
        var topOfHour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        var keys = (from r in resources from d in dimensions from h in Enumerable.Range(0, 24) select (r, d, h)).OrderBy(_ => random.Next()).Take(10_000);
        return keys.Select(k =>
        {
            var start = topOfHour.AddHours(-k.h);
            var earliest = start > now.AddHours(-23).AddMinutes(-50) ? start : now.AddHours(-23).AddMinutes(-50);
            var latest = start.AddMinutes(59) < now.AddMinutes(-1) ? start.AddMinutes(59) : now.AddMinutes(-1);
            var time = latest > earliest ? earliest.AddSeconds(random.Next((int)(latest - earliest).TotalSeconds)) : start;
            var quantity = Math.Round((decimal)random.NextDouble() * 1000m, 3) + 0.001m;
            return UsageEvent.ForResourceId(k.r, "plan1", k.d, quantity, time);
        }).ToList();
    }

    private static DateTimeOffset Hour(DateTimeOffset t) => UsageEventKey.HourOf(t);

    /// <summary>An in-memory service that accepts every event of a batch: the transport under a memory test, not a behaviour under test.</summary>
    /// <summary>Accepts everything at once, except one request, held until <see cref="Release"/>.</summary>
    private sealed class HoldingHandler(int holdRequest) : AcceptingHandler
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _requests;

        public bool Held => Volatile.Read(ref _requests) > holdRequest;

        public void Release() => _release.TrySetResult();

        /// <summary>Waits until no request has come for a while (at most 20 s); returns how many came after the held one.</summary>
        public async Task<int> QuietAsync()
        {
            var seen = -1;
            var deadline = Environment.TickCount64 + 20_000;
            while (Volatile.Read(ref _requests) != seen && Environment.TickCount64 < deadline)
            {
                seen = Volatile.Read(ref _requests);
                await Task.Delay(300);
            }

            return seen - holdRequest - 1;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _requests) - 1 == holdRequest)
            {
                await _release.Task.WaitAsync(cancellationToken);
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }

    private class AcceptingHandler : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            using var body = await JsonDocument.ParseAsync(await request.Content!.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            using var stream = new MemoryStream();
            using (var writer = new Utf8JsonWriter(stream))
            {
                writer.WriteStartObject();
                writer.WriteStartArray("result");
                foreach (var e in body.RootElement.GetProperty("request").EnumerateArray())
                {
                    writer.WriteStartObject();
                    writer.WriteString("usageEventId", Guid.NewGuid());
                    writer.WriteString("status", "Accepted");
                    writer.WriteString("messageTime", "2026-11-20T10:00:00Z");
                    foreach (var p in e.EnumerateObject())
                    {
                        p.WriteTo(writer);
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            return new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new ByteArrayContent(stream.ToArray()) };
        }
    }
}
