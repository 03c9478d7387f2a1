using MarketplaceMetering.Testing;
using Microsoft.Extensions.Logging;
using MarketplaceMetering.Tests;

namespace MarketplaceMetering.Accumulation.Tests;

public sealed class UsageRecorderTests
{
    private static readonly Guid Resource = Guid.Parse("0b1f43e4-7c3a-4d8e-9a57-3c2f6a1d9e01");

    [Fact]
    public async Task RecordAsync_AfterTheWriterStoppedOnAnUnexpectedError_FailsSayingSoInsteadOfWaitingForever()
    {
        // Not a failed write (those are retried): the writer itself fails. Here the app's TimeProvider refuses the timer
        // the writer needs for its next durability interval.
        var folder = Directory.CreateTempSubdirectory("mm-writer-").FullName;
        var clock = new TimersRefusedOnDemand();
        var logs = new Microsoft.Extensions.Logging.Testing.FakeLogCollector();
        using var loggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(new Microsoft.Extensions.Logging.Testing.FakeLoggerProvider(logs)));
        await using var ledger = new SqliteUsageLedger(Path.Combine(folder, "usage.db"));
        var recorder = new UsageRecorder(ledger, new UsageAccumulationOptions { TimeProvider = clock, LoggerFactory = loggerFactory, DurabilityInterval = TimeSpan.FromSeconds(1) });
        await recorder.RecordAsync(Resource, "plan", "calls", 1m);

        clock.RefuseTimers = true;
        clock.Advance(TimeSpan.FromSeconds(1));
        await MarketplaceMetering.Tests.Eventually.HoldsAsync(() => logs.GetSnapshot().Any(r => r.Id.Id == 113 && r.Level == Microsoft.Extensions.Logging.LogLevel.Critical), "the writer says it stopped");

        var later = () => recorder.RecordAsync(Resource, "plan", "calls", 2m).WaitAsync(TimeSpan.FromSeconds(30));
        (await later.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("writer stopped");
        var inMemory = () => recorder.Record(Resource, "plan", "calls", 3m);
        inMemory.Should().Throw<InvalidOperationException>("usage that could never be written is refused, not kept in memory to be lost");
        await recorder.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        (await ledger.GetEntriesAsync(clock.GetUtcNow().AddDays(-1), clock.GetUtcNow().AddDays(1))).Single().Quantity.Should().Be(1m, "what was written before stays");
    }

    [Fact]
    public async Task DisposeAsync_AfterTheWriterStoppedWithUsageInMemory_LogsEachLostSum()
    {
        // Record's usage lands in memory while the writer writes (after it took the meter's sums), and the writer then
        // stops on an unexpected error (the clock refuses the next interval's timer): that usage can never be written.
        var clock = new TimersRefusedOnDemand();
        var logs = new Microsoft.Extensions.Logging.Testing.FakeLogCollector();
        using var loggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(new Microsoft.Extensions.Logging.Testing.FakeLoggerProvider(logs)));
        await using var ledger = new HookedLedger(Path.Combine(Path.GetTempPath(), "mm-lost-" + Guid.NewGuid().ToString("N") + ".db"));
        var recorder = new UsageRecorder(ledger, new UsageAccumulationOptions { TimeProvider = clock, LoggerFactory = loggerFactory, DurabilityInterval = TimeSpan.FromSeconds(1) });
        ledger.OnAdd = call =>
        {
            if (call == 1)
            {
                recorder.Record(Resource, "plan", "calls", 7m);
                recorder.Record(Resource, "plan", "exports", 2m);
                clock.RefuseTimers = true;
            }

            return Task.CompletedTask;
        };
        await recorder.RecordAsync(Resource, "plan", "calls", 1m);
        recorder.Record(Resource, "plan", "calls", 3m);

        clock.Advance(TimeSpan.FromSeconds(1));
        await MarketplaceMetering.Tests.Eventually.HoldsAsync(() => logs.GetSnapshot().Any(r => r.Id.Id == 113), "the writer says it stopped");
        await recorder.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        var lost = logs.GetSnapshot().Where(r => r.Id.Id == 101).Should().ContainSingle("the usage left in memory is lost, and the stop says how much").Subject;
        lost.Level.Should().Be(Microsoft.Extensions.Logging.LogLevel.Critical);
        lost.GetStructuredStateValue("Count").Should().Be("2");
        logs.GetSnapshot().Where(r => r.Id.Id == 118).Select(r => (r.Level, r.GetStructuredStateValue("Dimension"), r.GetStructuredStateValue("Quantity")))
            .Should().BeEquivalentTo(new[] { (Microsoft.Extensions.Logging.LogLevel.Critical, "calls", "7"), (Microsoft.Extensions.Logging.LogLevel.Critical, "exports", "2") }, "each lost sum is named, to be recorded again by hand");
        (await ledger.GetEntriesAsync(clock.GetUtcNow().AddDays(-1), clock.GetUtcNow().AddDays(1))).Single().Quantity.Should().Be(4m, "what was written before the stop stays");
    }

    [Fact]
    public async Task Dispose_FromALoggerTheWriterCalls_ReturnsAndTheWriterStillWritesWhatIsLeft()
    {
        // An app that stops recording on the first failed write, from its logging: the writer logs event 100 and the
        // logger disposes the recorder on the writer's own thread. Waiting there for the writer would wait for itself.
        var folder = Directory.CreateTempSubdirectory("mm-reentrant-").FullName;
        await using var ledger = new HookedLedger(Path.Combine(folder, "usage.db"));
        ledger.OnAdd = call => call == 0 ? throw new IOException("disk full (simulated)") : Task.CompletedTask;
        UsageRecorder? recorder = null;
        var disposedByLogger = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var loggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(new ActingLoggerProvider(100, () =>
        {
            recorder!.Dispose();
            disposedByLogger.TrySetResult();
        })));
        var clock = new TestClock(TestClock.DefaultStart);
        recorder = new UsageRecorder(ledger, new UsageAccumulationOptions { TimeProvider = clock, LoggerFactory = loggerFactory });
        recorder.Record(Resource, "plan", "calls", 5m);

        var failed = () => recorder.RecordAsync(Resource, "plan", "calls", 1m).WaitAsync(TimeSpan.FromSeconds(30));
        await failed.Should().ThrowAsync<IOException>();
        await disposedByLogger.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await recorder.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        (await ledger.GetEntriesAsync(clock.GetUtcNow().AddDays(-1), clock.GetUtcNow().AddDays(1))).Single().Quantity.Should().Be(5m, "Record's usage is written by the last write, after the logger returns");
    }

    [Fact]
    public async Task Dispose_FromTheLedgerDuringTheLastWriteOfADisposeFromOutside_BothReturnAndTheUsageIsWritten()
    {
        // The host disposes the recorder; its last write calls the ledger, which (a custom ledger, or a call-back it
        // raises) disposes the recorder again. That second call came from inside the writer but, finding a dispose
        // already under way, waited for the writer to stop: the writer waited for itself, and so did the host.
        var folder = Directory.CreateTempSubdirectory("mm-reentrant-").FullName;
        await using var ledger = new HookedLedger(Path.Combine(folder, "usage.db"));
        UsageRecorder? recorder = null;
        var innerReturned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ledger.OnAdd = _ =>
        {
            recorder!.Dispose();
            innerReturned.TrySetResult();
            return Task.CompletedTask;
        };
        var clock = new TestClock(TestClock.DefaultStart);
        recorder = new UsageRecorder(ledger, new UsageAccumulationOptions { TimeProvider = clock });
        recorder.Record(Resource, "plan", "calls", 5m);

        var outside = Task.Run(recorder.Dispose);

        await innerReturned.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await outside.WaitAsync(TimeSpan.FromSeconds(30));
        (await ledger.GetEntriesAsync(clock.GetUtcNow().AddDays(-1), clock.GetUtcNow().AddDays(1))).Single().Quantity.Should().Be(5m);
    }

    /// <summary>Runs an action, once, from the first log entry with the given event id (an action that throws stands for a failing logging provider).</summary>
    private sealed class ActingLoggerProvider(int eventId, Action action) : Microsoft.Extensions.Logging.ILoggerProvider, Microsoft.Extensions.Logging.ILogger
    {
        private int _acted;

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId id, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (id.Id == eventId && Interlocked.Exchange(ref _acted, 1) == 0)
            {
                action();
            }
        }

        public void Dispose()
        {
        }
    }

    /// <summary>A clock that, once told to, refuses to make timers.</summary>
    private sealed class TimersRefusedOnDemand() : Microsoft.Extensions.Time.Testing.FakeTimeProvider(MarketplaceMetering.Testing.TestClock.DefaultStart)
    {
        private int _refuse;

        public bool RefuseTimers
        {
            get => Volatile.Read(ref _refuse) != 0;
            set => Volatile.Write(ref _refuse, value ? 1 : 0);
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            RefuseTimers ? throw new NotSupportedException("No timers today.") : base.CreateTimer(callback, state, dueTime, period);
    }

    [Fact]
    public async Task Record_AMillionTenthsFromFourThreads_SumsToExactlyOneHundredThousand()
    {
        await using var h = await AccumulationHarness.StartAsync();
        var meter = h.Recorder.GetMeter(Resource, "plan", "calls");

        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 250_000; i++)
            {
                if (i % 2 == 0)
                {
                    meter.Add(0.1m);
                }
                else
                {
                    h.Recorder.Record(Resource, "plan", "calls", 0.1m);
                }
            }
        })));
        await h.Recorder.SaveAsync();

        var entry = (await h.EntriesAsync()).Should().ContainSingle().Subject;
        entry.Quantity.Should().Be(100000.0m);
        entry.State.Should().Be(UsageLedgerState.Open);
        entry.Hour.Should().Be(h.HourAgo(0));
    }

    [Fact]
    public async Task MeterAdd_WholeAndFractionalQuantitiesFromFourThreadsWhileSaving_SumsExactly()
    {
        await using var h = await AccumulationHarness.StartAsync();
        var meter = h.Recorder.GetMeter(Resource, "plan", "calls");
        using var stop = new CancellationTokenSource();
        var saving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await h.Recorder.SaveAsync(); // drains race with the adds
            }
        });

        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 200_000; i++)
            {
                meter.Add(i % 4 == 0 ? 0.25m : 1m); // whole units take the lock-free path, quarters the locked one
            }
        })));
        await stop.CancelAsync();
        await saving;
        await h.Recorder.SaveAsync();

        (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(4 * (150_000m + 50_000 * 0.25m));
    }

    [Fact]
    public async Task MeterAdd_AcrossAnHourBoundary_EachHourKeepsItsOwnUsage()
    {
        await using var h = await AccumulationHarness.StartAsync();
        var meter = h.Recorder.GetMeter(Resource, "plan", "calls");
        meter.Add(2m);
        meter.Add(0.5m);

        h.Clock.Advance(h.HourAgo(-1) - h.Clock.GetUtcNow()); // the hour turns: the recorder's boundary timer fires
        meter.Add(3m);
        meter.Add(0.25m);
        await h.Recorder.SaveAsync();

        (await h.EntriesAsync()).Select(e => (e.Hour, e.Quantity)).Should().Equal((h.HourAgo(1), 2.5m), (h.HourAgo(0), 3.25m));
    }

    [Fact]
    public async Task MeterAdd_SteadyState_AllocatesNothing()
    {
        await using var h = await AccumulationHarness.StartAsync();
        var meter = h.Recorder.GetMeter(Resource, "plan", "calls");
        meter.Add(1m); // first use marks the meter dirty once

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            meter.Add(1m);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        allocated.Should().Be(0);
    }

    [Fact]
    public async Task GetMeter_SameNamesInAnotherCase_SameMeterAndOneLedgerRow()
    {
        await using var h = await AccumulationHarness.StartAsync();

        h.Recorder.GetMeter(Resource, "Plan", "Calls").Should().BeSameAs(h.Recorder.GetMeter(Resource, "plan", "CALLS"));
        h.Recorder.Record(Resource, "Plan", "Calls", 2m);
        h.Recorder.Record(Resource, "plan", "calls", 3m);
        await h.Recorder.SaveAsync();
        await h.Recorder.RecordAsync(Resource, "PLAN", "calls", 4m);

        (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(9m);
    }

    [Fact]
    public async Task RecordAsync_WhenItReturns_IsCommittedToTheFile()
    {
        await using var h = await AccumulationHarness.StartAsync();

        await h.Recorder.RecordAsync(Resource, "plan", "calls", 1.25m);

        // Another ledger instance over the same file (as a restarted process would open it) sees the usage.
        await using var reopened = new SqliteUsageLedger(h.SqlitePath);
        (await reopened.GetEntriesAsync(h.From, h.To)).Should().ContainSingle().Which.Quantity.Should().Be(1.25m);
    }

    [Fact]
    public async Task RecordAsync_SixtyFourConcurrentCallers_ShareFewerTransactionsThanCallers()
    {
        var counting = new CountingLedger(Path.Combine(Path.GetTempPath(), "mm-count-" + Guid.NewGuid().ToString("N") + ".db"));
        await using var recorder = new UsageRecorder(counting, new UsageAccumulationOptions { DurabilityInterval = TimeSpan.FromHours(1) });
        await counting.InitializeAsync();

        await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() => recorder.RecordAsync(Resource, "plan", "d" + (i % 8), 1m))));

        counting.Adds.Should().BeLessThan(64);
        counting.DeltasAdded.Should().Be(64);
        (await counting.GetEntriesAsync(DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue)).Sum(e => e.Quantity).Should().Be(64m);
    }

    [Fact]
    public async Task Record_IsWrittenWhenTheDurabilityIntervalPasses_NotBefore()
    {
        await using var h = await AccumulationHarness.StartAsync(o => o.DurabilityInterval = TimeSpan.FromSeconds(1));

        h.Recorder.Record(Resource, "plan", "calls", 5m);
        await h.Clock.WaitForTimerAsync(d => d == TimeSpan.FromSeconds(1));
        (await h.EntriesAsync()).Should().BeEmpty("the interval has not passed");

        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await Eventually.HoldsAsync(() => h.EntriesAsync().GetAwaiter().GetResult().Count == 1, "the sum reaches the ledger");
        (await h.EntriesAsync()).Single().Quantity.Should().Be(5m);
    }

    [Fact]
    public async Task Record_DurabilityIntervalPassesWhileRecordAsyncCallersKeepComing_WrittenWithTheNextTransaction()
    {
        // A steady stream of RecordAsync callers: each transaction finds the next caller already waiting.
        var ledger = new HookedLedger(Path.Combine(Path.GetTempPath(), "mm-steady-" + Guid.NewGuid().ToString("N") + ".db"));
        await using var h = await AccumulationHarness.StartAsync(o => o.DurabilityInterval = TimeSpan.FromSeconds(1), ledger: ledger);
        await h.Clock.WaitForTimerAsync(d => d == TimeSpan.FromSeconds(1));
        var callers = new System.Collections.Concurrent.ConcurrentQueue<Task>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ledger.OnAdd = async call =>
        {
            if (call < 20)
            {
                callers.Enqueue(h.Recorder.RecordAsync(Resource, "plan", "exports", 1m));
            }

            if (call == 0)
            {
                await gate.Task;
            }
        };

        var first = h.Recorder.RecordAsync(Resource, "plan", "exports", 1m);
        await Eventually.HoldsAsync(() => ledger.Calls.Count == 1, "the first caller's transaction has begun");
        h.Recorder.Record(Resource, "plan", "calls", 5m);
        h.Clock.Advance(TimeSpan.FromSeconds(1)); // the durability interval passes during that transaction
        gate.SetResult();
        await first;
        await Eventually.HoldsAsync(() => callers.Count == 20 && callers.All(c => c.IsCompleted), "the callers are committed");

        var written = ledger.Calls.FindIndex(deltas => deltas.Any(d => d.Dimension == "calls"));
        written.Should().Be(1, "Record's usage goes with the first transaction after its durability interval passed, however busy RecordAsync keeps the writer");
    }

    [Fact]
    public async Task RecordAsync_TokenAlreadyCancelled_ThrowsAndRecordsNothing()
    {
        await using var h = await AccumulationHarness.StartAsync();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var act = () => h.Recorder.RecordAsync(Resource, "plan", "calls", 3m, cancellationToken: cancelled.Token);
        await act.Should().ThrowAsync<OperationCanceledException>();
        var meter = () => h.Recorder.GetMeter(Resource, "plan", "calls").AddAsync(4m, cancellationToken: cancelled.Token);
        await meter.Should().ThrowAsync<OperationCanceledException>();
        await h.Recorder.SaveAsync();

        (await h.EntriesAsync()).Should().BeEmpty("a caller told its call was cancelled before it began may record it again: nothing was recorded");
    }

    [Fact]
    public async Task DisposeAsync_WhileAddsRace_EveryAddThatReturnedIsWritten()
    {
        for (var round = 0; round < 10; round++)
        {
            await using var h = await AccumulationHarness.StartAsync(o => o.DurabilityInterval = TimeSpan.FromHours(1));
            var meter = h.Recorder.GetMeter(Resource, "plan", "calls");
            using var started = new CountdownEvent(8);
            var adders = Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            {
                started.Signal();
                long added = 0;
                try
                {
                    while (true)
                    {
                        meter.Add(1m);
                        added++;
                    }
                }
                catch (ObjectDisposedException)
                {
                    return added;
                }
            })).ToArray();
            started.Wait();
            await Task.Delay(5);

            await h.Recorder.DisposeAsync();
            var returned = (await Task.WhenAll(adders)).Sum();

            (await h.EntriesAsync()).Sum(e => e.Quantity).Should().Be(returned, "round {0}: every Add that returned was written on dispose", round);
        }
    }

    [Fact]
    public async Task Save_LoggingTheCarryForwardThrows_UsageWrittenOnce()
    {
        // A logging provider that fails once (a full disk under a file logger, say) after the commit has succeeded.
        using var loggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(new ActingLoggerProvider(102, () => throw new IOException("log file: disk full (simulated)"))));
        await using var h = await AccumulationHarness.StartAsync(o => (o.LoggerFactory, o.DurabilityInterval) = (loggerFactory, TimeSpan.FromHours(1)));
        await h.Recorder.RecordAsync(Resource, "plan", "calls", 5m, h.HourAgo(1));
        await h.Flusher.FlushAsync();

        h.Recorder.Record(Resource, "plan", "calls", 2m, h.HourAgo(1).AddMinutes(30)); // carried forward: the hour was sent
        await h.Recorder.SaveAsync();
        await h.Recorder.SaveAsync();

        (await h.EntriesAsync()).Single(e => e.Hour == h.HourAgo(0)).Quantity.Should().Be(2m, "the committed usage is not put back to be written again");
    }

    public static TheoryData<string, Action<UsageRecorder, DateTimeOffset>> BadInputs => new()
    {
        { "quantity", (r, now) => r.Record(Resource, "plan", "calls", 0m) },
        { "quantity", (r, now) => r.Record(Resource, "plan", "calls", -1m) },
        { "planId", (r, now) => r.Record(Resource, " ", "calls", 1m) },
        { "dimension", (r, now) => r.Record(Resource, "plan", "", 1m) },
        { "resourceId", (r, now) => r.Record(Guid.Empty, "plan", "calls", 1m) },
        { "resource", (r, now) => r.Record(default, "plan", "calls", 1m) },
        { "resourceUri", (r, now) => r.Record(UsageResource.FromUri("not-a-resource-id"), "plan", "calls", 1m) },
        { "resourceUri", (r, now) => r.Record(UsageResource.FromUri("/subscriptions/0/resourceGroups/g/providers/Microsoft.Solutions/applications/a\0"), "plan", "calls", 1m) },
        { "dimension", (r, now) => r.Record(Resource, "plan", "calls\0", 1m) },
        { "dimension", (r, now) => r.GetMeter(Resource, "plan", "calls\u0007") },
        { "planId", (r, now) => r.Record(Resource, "pl\uD800an", "calls", 1m) },
        { "dimension", (r, now) => r.Record(Resource, "plan", new string('d', 257), 1m) },
        { "planId", (r, now) => r.GetMeter(Resource, new string('\u00e9', 129), "calls") },
        { "resourceUri", (r, now) => r.Record(UsageResource.FromUri("/subscriptions/0/resourceGroups/g/providers/Microsoft.Solutions/applications/" + new string('a', 1000)), "plan", "calls", 1m) },
        { "at", (r, now) => r.Record(Resource, "plan", "calls", 1m, now.AddMinutes(6)) },
        { "at", (r, now) => r.Record(Resource, "plan", "calls", 1m, now.AddHours(-24)) },
        { "at", (r, now) => r.GetMeter(Resource, "plan", "calls").Add(1m, now.AddDays(-2)) },
        { "quantity", (r, now) => r.GetMeter(Resource, "plan", "calls").Add(0m) },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Record_BadInput_ThrowsNamingTheFieldAndKeepsWhatWasRecorded(string field, Action<UsageRecorder, DateTimeOffset> record)
    {
        await using var h = await AccumulationHarness.StartAsync();
        h.Recorder.Record(Resource, "plan", "calls", 7m);
        await h.Recorder.SaveAsync();
        h.Recorder.Record(Resource, "plan", "calls", 1m); // still only in memory

        var act = () => record(h.Recorder, h.Clock.GetUtcNow());

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be(field);
        await h.Recorder.SaveAsync();
        (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(8m);
    }

    [Fact]
    public async Task RecordAsync_BadInput_ThrowsBeforeAnythingIsQueued()
    {
        await using var h = await AccumulationHarness.StartAsync();

        var act = () => h.Recorder.RecordAsync(Resource, "plan", "calls", -0.5m);

        (await act.Should().ThrowAsync<ArgumentOutOfRangeException>()).Which.ParamName.Should().Be("quantity");
        await h.Recorder.SaveAsync();
        (await h.EntriesAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Add_SumWouldOverflow_RefusedAndTheSumKept()
    {
        await using var h = await AccumulationHarness.StartAsync();
        var meter = h.Recorder.GetMeter(Resource, "plan", "calls");
        meter.Add(decimal.MaxValue - 1m);

        var act = () => meter.Add(2m);

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("quantity");
        await h.Recorder.SaveAsync();
        (await h.EntriesAsync()).Single().Quantity.Should().Be(decimal.MaxValue - 1m);
    }

    [Fact]
    public async Task Save_SumTheLedgersRowCannotHold_MovedToALaterHourAndOtherMetersStillWritten()
    {
        await using var h = await AccumulationHarness.StartAsync();
        var other = Guid.Parse("6e2d0a41-8b3c-4f5e-9d17-2a4c6e8f0b13");
        await h.Recorder.RecordAsync(Resource, "plan", "calls", decimal.MaxValue - 1m);

        // Each fits in memory; the ledger's row for the hour cannot take the 2 on top of what it holds.
        h.Recorder.Record(Resource, "plan", "calls", 2m);
        h.Recorder.Record(other, "plan", "calls", 5m);
        await h.Recorder.SaveAsync();
        await h.Recorder.RecordAsync(other, "plan", "calls", 1m);

        var rows = await h.EntriesAsync();
        rows.Where(r => r.Resource == other).Sum(r => r.Quantity).Should().Be(6m, "one meter's sum must not hold every other meter's usage back");
        rows.Where(r => r.Resource == Resource).Select(r => (r.Hour, r.Quantity)).Should().Equal((h.HourAgo(0), decimal.MaxValue - 1m), (h.HourAgo(-1), 2m));
        (await h.Ledger.GetCarryForwardsAsync(h.From, h.To)).Should().ContainSingle().Which.Quantity.Should().Be(2m);
    }

    [Fact]
    public async Task Record_TimeWithinTheClockSkewAllowance_GoesIntoTheCurrentHour()
    {
        await using var h = await AccumulationHarness.StartAsync();
        var now = h.Clock.GetUtcNow();
        h.Clock.Advance(h.HourAgo(-1) - now - TimeSpan.FromMinutes(1)); // one minute before the hour turns

        h.Recorder.Record(Resource, "plan", "calls", 1m, h.Clock.GetUtcNow().AddMinutes(4));
        await h.Recorder.SaveAsync();

        (await h.EntriesAsync()).Single().Hour.Should().Be(h.HourAgo(0));
    }

    [Fact]
    public async Task Record_TimesInSeveralHours_OneRowPerHour()
    {
        await using var h = await AccumulationHarness.StartAsync();

        h.Recorder.Record(Resource, "plan", "calls", 1m, h.HourAgo(3).AddMinutes(10));
        h.Recorder.Record(Resource, "plan", "calls", 2m, h.HourAgo(3).AddMinutes(59));
        h.Recorder.Record(Resource, "plan", "calls", 4m, h.HourAgo(1));
        h.Recorder.Record(Resource, "plan", "calls", 8m);
        await h.Recorder.SaveAsync();

        (await h.EntriesAsync()).Select(e => (e.Hour, e.Quantity)).Should().Equal((h.HourAgo(3), 3m), (h.HourAgo(1), 4m), (h.HourAgo(0), 8m));
    }

    [Fact]
    public async Task Save_LedgerFailsOnce_RecordAsyncFailsAndInMemorySumsAreWrittenNextTime()
    {
        var ledger = new CountingLedger(Path.Combine(Path.GetTempPath(), "mm-fail-" + Guid.NewGuid().ToString("N") + ".db")) { FailNextAdds = 1 };
        await using var recorder = new UsageRecorder(ledger, new UsageAccumulationOptions { DurabilityInterval = TimeSpan.FromHours(1) });
        recorder.Record(Resource, "plan", "calls", 3m);

        var first = () => recorder.SaveAsync();
        await first.Should().ThrowAsync<IOException>();
        await recorder.RecordAsync(Resource, "plan", "calls", 4m);
        await recorder.SaveAsync();

        (await ledger.GetEntriesAsync(DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue)).Single().Quantity.Should().Be(7m);
    }

    [Fact]
    public async Task RecordAsync_AfterAFailedWriteWhoseSumCannotGoBackOnTopOfNewUsage_CompletesAndNothingIsLost()
    {
        var ledger = new GatedFailingLedger(Path.Combine(Path.GetTempPath(), "mm-restore-" + Guid.NewGuid().ToString("N") + ".db"));
        var clock = new TestClock();
        var recorder = new UsageRecorder(ledger, new UsageAccumulationOptions { DurabilityInterval = TimeSpan.FromMinutes(1), TimeProvider = clock });
        recorder.Record(Resource, "plan", "calls", decimal.MaxValue - 1m);

        // The write of that sum fails, and while it is under way the meter takes 2 more: the sum put back in memory and
        // the 2 together pass decimal.MaxValue.
        var save = recorder.SaveAsync();
        await ledger.AddEntered.WaitAsync(TimeSpan.FromSeconds(10));
        recorder.Record(Resource, "plan", "calls", 1m);
        recorder.Record(Resource, "plan", "calls", 1m);
        ledger.FailEnteredAdd();
        var failedSave = () => save.WaitAsync(TimeSpan.FromSeconds(10));
        await failedSave.Should().ThrowAsync<IOException>("the awaiting caller learns the write failed");
        clock.Advance(TimeSpan.FromMinutes(1)); // the durability interval: the writer takes what memory holds

        // Liveness, not timing: each must complete.
        await recorder.RecordAsync(Resource, "plan", "exports", 1m).WaitAsync(TimeSpan.FromSeconds(10));
        await recorder.SaveAsync().WaitAsync(TimeSpan.FromSeconds(10));

        var rows = await ledger.GetEntriesAsync(DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue);
        rows.Where(r => r.Dimension == "exports").Should().ContainSingle().Which.Quantity.Should().Be(1m);
        rows.Where(r => r.Dimension == "calls").Select(r => r.Quantity).Should().BeEquivalentTo([decimal.MaxValue - 1m, 2m], "both sums reach the ledger, each in a row that can hold it");
        var hour = AccumulationRules.HourOf(clock.GetUtcNow());
        (await ledger.GetCarryForwardsAsync(hour, hour.AddHours(1))).Should().ContainSingle("the part the hour's row could not hold moved on, and the move is kept")
            .Which.IntoHour.Should().Be(hour.AddHours(1));
        await recorder.DisposeAsync();
        await ledger.DisposeAsync();
    }

    [Fact]
    public async Task MeterAdd_SumWouldOverflowWithWholeUnitsAddedWithoutALock_RefusedAndSaveStillCompletes()
    {
        var h = await AccumulationHarness.StartAsync();
        var meter = h.Recorder.GetMeter(Resource, "plan", "calls");
        meter.Add(1m);
        meter.Add(1m); // the lock-free path: counted apart from the decimal sum

        var act = () => meter.Add(decimal.MaxValue - 1m);

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("quantity");
        await h.Recorder.SaveAsync().WaitAsync(TimeSpan.FromSeconds(10)); // liveness
        (await h.EntriesAsync()).Single().Quantity.Should().Be(2m);
        await h.DisposeAsync();
    }

    [Fact]
    public async Task DisposeAsync_WritesWhatIsStillInMemory_ThenRefusesMore()
    {
        await using var h = await AccumulationHarness.StartAsync(o => o.DurabilityInterval = TimeSpan.FromHours(1));
        h.Recorder.Record(Resource, "plan", "calls", 6m);

        await h.Recorder.DisposeAsync();

        (await h.EntriesAsync()).Single().Quantity.Should().Be(6m);
        var act = () => h.Recorder.Record(Resource, "plan", "calls", 1m);
        act.Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public async Task Dispose_Synchronously_WritesWhatIsStillInMemory_ThenRefusesMore()
    {
        var ledger = new CountingLedger(Path.Combine(Path.GetTempPath(), "mm-dispose-" + Guid.NewGuid().ToString("N") + ".db"));
        var recorder = new UsageRecorder(ledger, new UsageAccumulationOptions { DurabilityInterval = TimeSpan.FromHours(1), TimeProvider = new TestClock() });
        recorder.Record(Resource, "plan", "calls", 6m);

        recorder.Dispose();

        (await ledger.GetEntriesAsync(DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue)).Single().Quantity.Should().Be(6m);
        var act = () => recorder.Record(Resource, "plan", "calls", 1m);
        act.Should().Throw<ObjectDisposedException>();
        await ledger.DisposeAsync();
    }

    [Fact]
    public async Task Dispose_TwiceThenDisposeAsync_WritesOnceAndEachReturns()
    {
        var ledger = new CountingLedger(Path.Combine(Path.GetTempPath(), "mm-dispose-" + Guid.NewGuid().ToString("N") + ".db"));
        var recorder = new UsageRecorder(ledger, new UsageAccumulationOptions { DurabilityInterval = TimeSpan.FromHours(1), TimeProvider = new TestClock() });
        recorder.Record(Resource, "plan", "calls", 6m);

        recorder.Dispose();
        recorder.Dispose();
        await recorder.DisposeAsync();

        ledger.Adds.Should().Be(1);
        (await ledger.GetEntriesAsync(DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue)).Single().Quantity.Should().Be(6m);
        await ledger.DisposeAsync();
    }

    [Fact]
    public async Task Dispose_AfterDisposeAsync_WritesOnceAndReturns()
    {
        var ledger = new CountingLedger(Path.Combine(Path.GetTempPath(), "mm-dispose-" + Guid.NewGuid().ToString("N") + ".db"));
        var recorder = new UsageRecorder(ledger, new UsageAccumulationOptions { DurabilityInterval = TimeSpan.FromHours(1), TimeProvider = new TestClock() });
        recorder.Record(Resource, "plan", "calls", 6m);

        await recorder.DisposeAsync();
        recorder.Dispose();

        ledger.Adds.Should().Be(1);
        (await ledger.GetEntriesAsync(DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue)).Single().Quantity.Should().Be(6m);
        await ledger.DisposeAsync();
    }

    [Fact]
    public async Task Dispose_OnAThreadWithASingleThreadedSynchronizationContext_ReturnsWithoutNeedingThatThread()
    {
        var ledger = new CountingLedger(Path.Combine(Path.GetTempPath(), "mm-dispose-" + Guid.NewGuid().ToString("N") + ".db"));
        var recorder = new UsageRecorder(ledger, new UsageAccumulationOptions { DurabilityInterval = TimeSpan.FromHours(1), TimeProvider = new TestClock() });
        recorder.Record(Resource, "plan", "calls", 6m);
        var context = new BlockedThreadContext();
        var disposed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // A UI thread or a classic ASP.NET request: posted work runs only on this thread, which is blocked in Dispose. Any
        // continuation of the disposal that came back to the context would wait for it forever.
        var thread = new Thread(() =>
        {
            SynchronizationContext.SetSynchronizationContext(context);
            try
            {
                recorder.Dispose();
                disposed.SetResult();
            }
            catch (Exception e)
            {
                disposed.SetException(e);
            }
        });
        thread.Start();

        await disposed.Task.WaitAsync(TimeSpan.FromSeconds(30)); // liveness: completes, however slow the machine
        context.Posted.Should().Be(0);
        (await ledger.GetEntriesAsync(DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue)).Single().Quantity.Should().Be(6m);
        await ledger.DisposeAsync();
    }

    [Fact]
    public async Task Ledger_UnwritableFolder_ErrorNamesThePath()
    {
        var path = Path.Combine(Path.GetTempPath(), "mm-missing-" + Guid.NewGuid().ToString("N"), "usage.db");
        await using var ledger = new SqliteUsageLedger(path);
        await using var recorder = new UsageRecorder(ledger);

        var act = () => recorder.RecordAsync(Resource, "plan", "calls", 1m);

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain(path);
    }

    /// <summary>A SQLite ledger that notes each write transaction's deltas and lets a test act inside it.</summary>
    private sealed class HookedLedger(string path) : DelegatingUsageLedger(path)
    {
        private readonly Lock _lock = new();
        private readonly List<UsageDelta[]> _calls = [];

        public Func<int, Task>? OnAdd { get; set; }

        public List<UsageDelta[]> Calls
        {
            get
            {
                lock (_lock)
                {
                    return [.. _calls];
                }
            }
        }

        protected internal override async Task<IReadOnlyList<UsageCarryForward>> AddAsync(IReadOnlyList<UsageDelta> deltas, DateTimeOffset now, CancellationToken cancellationToken)
        {
            int call;
            lock (_lock)
            {
                call = _calls.Count;
                _calls.Add([.. deltas]);
            }

            if (OnAdd is { } hook)
            {
                await hook(call);
            }

            return await base.AddAsync(deltas, now, cancellationToken);
        }
    }

    /// <summary>The context of a thread that runs posted work only when it is free: here, never (it is blocked in Dispose).</summary>
    private sealed class BlockedThreadContext : SynchronizationContext
    {
        private int _posted;

        public int Posted => Volatile.Read(ref _posted);

        public override void Post(SendOrPostCallback d, object? state) => Interlocked.Increment(ref _posted);

        public override void Send(SendOrPostCallback d, object? state) => Interlocked.Increment(ref _posted);
    }

    /// <summary>A SQLite ledger whose first write waits until the test fails it (a disk that fills during the write).</summary>
    private sealed class GatedFailingLedger(string path) : DelegatingUsageLedger(path)
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _fail = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _adds;

        public Task AddEntered => _entered.Task;

        public void FailEnteredAdd() => _fail.SetException(new IOException("disk full (simulated)"));

        protected internal override async Task<IReadOnlyList<UsageCarryForward>> AddAsync(IReadOnlyList<UsageDelta> deltas, DateTimeOffset now, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _adds) == 1)
            {
                _entered.SetResult();
                await _fail.Task;
            }

            return await base.AddAsync(deltas, now, cancellationToken);
        }
    }
}
