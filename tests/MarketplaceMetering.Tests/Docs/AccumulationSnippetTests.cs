using MarketplaceMetering.Emulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MarketplaceMetering.Tests.Docs;

public sealed class AccumulationSnippetTests
{
    [Fact]
    public async Task QuickStartSnippet_RecordedLastHour_FlushBillsEachDimensionOnceAndTheLedgerReconciles()
    {
        await using var h = await Harness.StartAsync();
        var folder = Directory.CreateTempSubdirectory("mm-doc-").FullName;
        try
        {
            // The snippet records "now"; an hour later (and a grace of zero) that hour is closed and sent.
            var flushed = await AccumulationDocSnippets.QuickStartAsync(h.Client, TestEvents.Resource, folder, new ShiftedClock(h.Clock, TimeSpan.Zero));
            flushed.Claimed.Should().Be(0, "the hour is still open");

            var later = await AccumulationDocSnippets.QuickStartAsync(h.Client, TestEvents.Resource, folder, new ShiftedClock(h.Clock, TimeSpan.FromHours(1)));

            later.Delivered.Should().Be(3);
            h.Emulator.Ledger.Entries.Select(e => (e.Dimension, e.Quantity)).Should().BeEquivalentTo([("api-calls", 1m), ("exports", 1m), ("gigabytes", 0.25m)]);

            // The reconcile-ledger snippet: the sent hour agrees; the hour the second run recorded is still open.
            var day = new DateTimeOffset(h.Clock.GetUtcNow().UtcDateTime.Date, TimeSpan.Zero);
            var report = await AccumulationDocSnippets.ReconcileLedgerAsync(h.Client, Path.Combine(folder, "usage.db"), day, day.AddDays(1));
            report.Rows.Select(r => (r.Dimension, r.SentQuantity, r.DeliveredQuantity, r.Recorded?.SubmittedQuantity, r.Differences)).Should().BeEquivalentTo(
            [
                ("api-calls", 2m, 1m, (decimal?)1m, UsageDifferences.Undelivered),
                ("exports", 2m, 1m, 1m, UsageDifferences.Undelivered),
                ("gigabytes", 0.5m, 0.25m, 0.25m, UsageDifferences.Undelivered),
            ]);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task RegistrationSnippet_FromConfiguration_ResolvesTheSqliteLedgerAndPassesTheLeaseCheck()
    {
        await using var emulator = await MeteringEmulator.StartAsync();
        var folder = Directory.CreateTempSubdirectory("mm-doc-").FullName;
        try
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["MarketplaceMetering:Endpoint"] = emulator.Endpoint.ToString(),
                ["MarketplaceMetering:Credential:Kind"] = "TokenCredential",
                ["MarketplaceMetering:Accumulation:Ledger"] = "Sqlite",
                ["MarketplaceMetering:Accumulation:ConnectionString"] = Path.Combine(folder, "usage.db"),
                ["MarketplaceMetering:Accumulation:Grace"] = "00:05:00",
            });
            builder.Services.AddSingleton(emulator.Credential);
            AccumulationDocSnippets.Register(builder);
            using var host = builder.Build();

            // The start-up validation, the lease check against the client's defaults included, passes.
            host.Services.GetRequiredService<IOptions<UsageAccumulationOptions>>().Value.LeaseDuration.Should().Be(TimeSpan.FromMinutes(20));
            host.Services.GetRequiredService<UsageLedger>().Should().BeOfType<SqliteUsageLedger>();
            host.Services.GetRequiredService<UsageRecorder>().Should().NotBeNull();
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The test clock seen some time later (the emulator keeps the unshifted clock: the hour sent is in its past).</summary>
    private sealed class ShiftedClock(TimeProvider inner, TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow() + shift;
    }
}
