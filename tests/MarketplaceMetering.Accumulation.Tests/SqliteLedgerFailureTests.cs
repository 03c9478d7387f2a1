using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>The recorder over a SQLite ledger file that cannot be written for a while (its permissions, a read-only volume).</summary>
[Collection(AccumulationTelemetryGroup.Name)]
public sealed class SqliteLedgerFailureTests
{
    private static readonly Guid Resource = Guid.Parse("7f2e3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b");

    [SkippableFact]
    public async Task RecordAsync_LedgerFileReadOnlyAtStartThenWritable_FailsWhileReadOnlyAndWritesAgainOnceWritable()
    {
        var folder = Directory.CreateTempSubdirectory("mm-readonly-").FullName;
        var path = Path.Combine(folder, "usage.db");
        await using (var created = new SqliteUsageLedger(path))
        {
            await created.InitializeAsync();
        }

        SqliteConnection.ClearAllPools();
        Skip.IfNot(SetReadOnly(path, true), "the file cannot be made read-only here (as root, chattr +i is needed)");
        try
        {
            await using var h = await AccumulationHarness.StartAsync(ledger: new SqliteUsageLedger(path));

            var whileReadOnly = () => h.Recorder.RecordAsync(Resource, "plan", "calls", 10m, h.HourAgo(2));
            (await whileReadOnly.Should().ThrowAsync<Exception>("the caller learns that its usage was not recorded")).Which.Message.Should().Contain("readonly");
            h.Recorder.Record(Resource, "plan", "calls", 100m, h.HourAgo(2));
            await h.Recorder.Invoking(r => r.SaveAsync()).Should().ThrowAsync<Exception>();
            h.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 100 && r.Level == LogLevel.Error);

            SetReadOnly(path, false).Should().BeTrue();
            await h.Recorder.SaveAsync(); // the connection opened read-only is not used again
            await h.Recorder.RecordAsync(Resource, "plan", "calls", 1000m, h.HourAgo(2));

            (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(1100m, "what Record took while the file was read-only was kept in memory and written once it could be; the RecordAsync that failed was not recorded");
        }
        finally
        {
            SetReadOnly(path, false);
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [SkippableFact]
    public async Task RecordSaveAndFlush_LedgerFileReadOnly_ThrowTheLedgersOwnSqliteExceptionAsDocumented()
    {
        // docs/accumulation.md: a RecordAsync whose commit fails throws the ledger's error, today the provider's own
        // exception. What each caller gets, so that a change to it is a decision, not an accident.
        var (folder, path) = await CreateLedgerFileAsync();
        await using (var ledger = new SqliteUsageLedger(path))
        await using (var recorder = new UsageRecorder(ledger, new UsageAccumulationOptions { TimeProvider = new MarketplaceMetering.Testing.TestClock() }))
        {
            await recorder.RecordAsync(Resource, "plan", "calls", 1m, MarketplaceMetering.Testing.TestClock.DefaultStart.AddHours(-3)); // a closed hour for the flush to claim
        }

        SqliteConnection.ClearAllPools();
        Skip.IfNot(SetReadOnly(path, true), "the file cannot be made read-only here (as root, chattr +i is needed)");
        try
        {
            await using var h = await AccumulationHarness.StartAsync(o => o.DurabilityInterval = TimeSpan.FromHours(1), ledger: new SqliteUsageLedger(path));

            var recordAsync = (await h.Recorder.Invoking(r => r.RecordAsync(Resource, "plan", "calls", 10m, h.HourAgo(2))).Should().ThrowExactlyAsync<SqliteException>()).Which;
            recordAsync.SqliteErrorCode.Should().Be(8, "SQLITE_READONLY");
            recordAsync.Message.Should().Contain("readonly database");
            h.Recorder.Record(Resource, "plan", "calls", 100m, h.HourAgo(2));
            (await h.Recorder.Invoking(r => r.SaveAsync()).Should().ThrowExactlyAsync<SqliteException>()).Which.SqliteErrorCode.Should().Be(8);
            (await h.Flusher.Invoking(f => f.FlushAsync()).Should().ThrowExactlyAsync<SqliteException>()).Which.SqliteErrorCode.Should().Be(8);
            SetReadOnly(path, false).Should().BeTrue();
        }
        finally
        {
            SetReadOnly(path, false);
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [SkippableFact]
    public async Task SaveAsync_LedgerFileReadOnlyForAWhile_LogsTheFirstFailureThenOnceAMinuteWithTheCountAndOnceWhenWritesSucceedAgain()
    {
        var (folder, path) = await CreateLedgerFileAsync();
        Skip.IfNot(SetReadOnly(path, true), "the file cannot be made read-only here (as root, chattr +i is needed)");
        try
        {
            await using var h = await AccumulationHarness.StartAsync(o => o.DurabilityInterval = TimeSpan.FromHours(1), ledger: new SqliteUsageLedger(path));
            var failed = () => h.Logs.GetSnapshot().Where(r => r.Id.Id == 100).ToList();
            var recovered = () => h.Logs.GetSnapshot().Where(r => r.Id.Id == 119).ToList();
            async Task FailingSaveAsync() => await h.Recorder.Invoking(r => r.SaveAsync()).Should().ThrowAsync<SqliteException>();
            var start = h.Clock.GetUtcNow();
            h.Recorder.Record(Resource, "plan", "calls", 100m, h.HourAgo(2));

            await FailingSaveAsync();
            await FailingSaveAsync();
            await FailingSaveAsync();
            var first = failed().Should().ContainSingle("the first failure of an outage is logged, the next ones within a minute are not").Subject;
            first.Level.Should().Be(LogLevel.Error);
            first.Exception.Should().BeOfType<SqliteException>();
            first.GetStructuredStateValue("Failures").Should().Be("1");
            DateTimeOffset.Parse(first.GetStructuredStateValue("OutageStart")!, CultureInfo.InvariantCulture).Should().Be(start);

            h.Clock.Advance(TimeSpan.FromSeconds(59));
            await FailingSaveAsync();
            failed().Should().HaveCount(1);

            h.Clock.Advance(TimeSpan.FromSeconds(1));
            await FailingSaveAsync();
            var second = failed().Should().HaveCount(2, "a minute after the previous entry, the next failure is logged").And.Subject.Last();
            second.GetStructuredStateValue("Failures").Should().Be("4", "two more at the start, one at 59 seconds, and this one");
            DateTimeOffset.Parse(second.GetStructuredStateValue("OutageStart")!, CultureInfo.InvariantCulture).Should().Be(start);
            recovered().Should().BeEmpty();

            h.Clock.Advance(TimeSpan.FromSeconds(10));
            SetReadOnly(path, false).Should().BeTrue();
            await h.Recorder.SaveAsync();
            var back = recovered().Should().ContainSingle("the end of the outage is logged once").Subject;
            back.Level.Should().Be(LogLevel.Information);
            back.GetStructuredStateValue("Duration").Should().Be(TimeSpan.FromSeconds(70).ToString());
            back.GetStructuredStateValue("Failures").Should().Be("5");
            h.Recorder.Record(Resource, "plan", "calls", 1m, h.HourAgo(2));
            await h.Recorder.SaveAsync();
            recovered().Should().HaveCount(1);

            // A later outage is a new one: its first failure is logged at once, though less than a minute has passed.
            SqliteConnection.ClearAllPools(); // a connection opened while the file was writable would still write its log
            SetReadOnly(path, true).Should().BeTrue();
            h.Recorder.Record(Resource, "plan", "calls", 10m, h.HourAgo(2));
            await FailingSaveAsync();
            var third = failed().Should().HaveCount(3).And.Subject.Last();
            third.GetStructuredStateValue("Failures").Should().Be("1");
            DateTimeOffset.Parse(third.GetStructuredStateValue("OutageStart")!, CultureInfo.InvariantCulture).Should().Be(start.AddSeconds(70));

            SetReadOnly(path, false).Should().BeTrue();
            await h.Recorder.SaveAsync();
            recovered().Should().HaveCount(2);
            (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(111m);
        }
        finally
        {
            SetReadOnly(path, false);
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [SkippableFact]
    public async Task DisposeAsync_LedgerFileReadOnly_LogsEachLostSumSoThatItCanBeRecordedAgain()
    {
        const string Application = "/subscriptions/0c6f3a5e-1b2d-4e8f-9a0b-1c2d3e4f5a6b/resourceGroups/rg/providers/Microsoft.Solutions/applications/app1";
        var (folder, path) = await CreateLedgerFileAsync();
        Skip.IfNot(SetReadOnly(path, true), "the file cannot be made read-only here (as root, chattr +i is needed)");
        try
        {
            await using var h = await AccumulationHarness.StartAsync(o => o.DurabilityInterval = TimeSpan.FromHours(1), ledger: new SqliteUsageLedger(path));
            var recorded = new (UsageResource Resource, string Plan, string Dimension, DateTimeOffset Hour, decimal Quantity)[]
            {
                (Resource, "plan", "calls", h.HourAgo(2), 100m),
                (Resource, "plan", "calls", h.HourAgo(1), 5.5m),
                (UsageResource.FromUri(Application), "gold", "gigabytes", h.HourAgo(0), 0.25m),
            };
            foreach (var (resource, plan, dimension, hour, quantity) in recorded)
            {
                h.Recorder.Record(resource, plan, dimension, quantity, hour.AddMinutes(10));
            }

            await h.Recorder.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));

            var logs = h.Logs.GetSnapshot();
            var stopped = logs.Where(r => r.Id.Id == 101).Should().ContainSingle().Subject;
            stopped.Level.Should().Be(LogLevel.Critical);
            stopped.GetStructuredStateValue("Count").Should().Be("3");
            stopped.Exception.Should().BeOfType<SqliteException>("the entry says why the usage could not be written");
            var lost = logs.Where(r => r.Id.Id == 118).ToList();
            lost.Should().OnlyContain(r => r.Level == LogLevel.Critical);
            var fromLog = lost.Select(r => (
                Resource: r.GetStructuredStateValue("Resource")!,
                Plan: r.GetStructuredStateValue("Plan")!,
                Dimension: r.GetStructuredStateValue("Dimension")!,
                Hour: DateTimeOffset.Parse(r.GetStructuredStateValue("Hour")!, CultureInfo.InvariantCulture),
                Quantity: decimal.Parse(r.GetStructuredStateValue("Quantity")!, CultureInfo.InvariantCulture))).ToList();
            fromLog.Should().BeEquivalentTo(recorded.Select(x => (Resource: x.Resource.ToString(), x.Plan, x.Dimension, x.Hour, x.Quantity)), "each lost sum is logged with what recording it again needs");
            lost.Should().OnlyContain(r => r.Message.Contains(AccumulationRules.DeadlineOf(DateTimeOffset.Parse(r.GetStructuredStateValue("Hour")!, CultureInfo.InvariantCulture)).ToString("o", CultureInfo.InvariantCulture), StringComparison.Ordinal), "the message says until when it can still be billed");

            // The operator records them again from the log, once the file can be written.
            SetReadOnly(path, false).Should().BeTrue();
            await using (var again = new UsageRecorder(h.Ledger, h.Options))
            {
                foreach (var (resource, plan, dimension, hour, quantity) in fromLog)
                {
                    await again.RecordAsync(resource.StartsWith('/') ? UsageResource.FromUri(resource) : Guid.Parse(resource), plan, dimension, quantity, hour);
                }
            }

            (await h.EntriesAsync()).Select(e => (e.Resource, e.PlanId, e.Dimension, e.Hour, e.Quantity)).Should().BeEquivalentTo(recorded);
        }
        finally
        {
            SetReadOnly(path, false);
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [SkippableFact]
    public async Task DisposeAsync_LedgerFileWritableAgainAfterTheLastWriteFailed_TriesOnceMoreAndLosesNothing()
    {
        var (folder, path) = await CreateLedgerFileAsync();
        Skip.IfNot(SetReadOnly(path, true), "the file cannot be made read-only here (as root, chattr +i is needed)");
        try
        {
            // The outage ends just as the recorder stops: its last write fails, and the file can be written right after.
            var ledger = new WritableAfterFirstFailureLedger(path, () => SetReadOnly(path, false));
            await using var h = await AccumulationHarness.StartAsync(o => o.DurabilityInterval = TimeSpan.FromHours(1), ledger: ledger);
            h.Recorder.Record(Resource, "plan", "calls", 100m, h.HourAgo(2));

            await h.Recorder.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));

            ledger.Failures.Should().Be(1, "the last write failed once (the file was read-only)");
            (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(100m, "the last write is tried again before the usage is given up");
            h.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 100).And.NotContain(r => r.Id.Id == 101 || r.Id.Id == 118);
        }
        finally
        {
            SetReadOnly(path, false);
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<(string Folder, string Path)> CreateLedgerFileAsync()
    {
        var folder = Directory.CreateTempSubdirectory("mm-readonly-").FullName;
        var path = Path.Combine(folder, "usage.db");
        await using (var created = new SqliteUsageLedger(path))
        {
            await created.InitializeAsync();
        }

        SqliteConnection.ClearAllPools();
        return (folder, path);
    }

    /// <summary>A SQLite ledger whose file becomes writable again (by the given action) right after the first write that fails.</summary>
    private sealed class WritableAfterFirstFailureLedger(string path, Func<bool> makeWritable) : MarketplaceMetering.Testing.DelegatingUsageLedger(path)
    {
        public int Failures { get; private set; }

        protected internal override async Task<IReadOnlyList<UsageCarryForward>> AddAsync(IReadOnlyList<UsageDelta> deltas, DateTimeOffset now, CancellationToken cancellationToken)
        {
            try
            {
                return await base.AddAsync(deltas, now, cancellationToken);
            }
            catch (SqliteException) when (Failures++ == 0)
            {
                makeWritable().Should().BeTrue();
                throw;
            }
        }
    }

    /// <summary>Makes the file read-only or writable again: its mode or attribute, or (for root, whom the mode does not stop) its immutable attribute.</summary>
    private static bool SetReadOnly(string path, bool readOnly)
    {
        if (OperatingSystem.IsWindows())
        {
            File.SetAttributes(path, readOnly ? FileAttributes.ReadOnly : FileAttributes.Normal);
            return true;
        }

        if (Environment.UserName != "root")
        {
            File.SetUnixFileMode(path, readOnly ? UnixFileMode.UserRead | UnixFileMode.GroupRead : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
            return true;
        }

        try
        {
            using var chattr = Process.Start(new ProcessStartInfo("chattr", [readOnly ? "+i" : "-i", path]) { RedirectStandardError = true, UseShellExecute = false })!;
            chattr.WaitForExit();
            return chattr.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no chattr
        }
    }
}
