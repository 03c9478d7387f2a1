using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MarketplaceMetering.Tests.Docs;

/// <summary>The C# of docs/accumulation.md.</summary>
internal static class AccumulationDocSnippets
{
    /// <summary>Records usage three ways and flushes; returns what the flush did.</summary>
    public static async Task<UsageFlushResult> QuickStartAsync(MeteringClient meteringClient, Guid subscriptionId, string folder, TimeProvider clock)
    {
        var options = new UsageAccumulationOptions { TimeProvider = clock, Grace = TimeSpan.Zero };
        #region accumulation-quickstart
        await using var ledger = new SqliteUsageLedger(Path.Combine(folder, "usage.db")); // created on first use
        await using var recorder = new UsageRecorder(ledger, options);
        using var flusher = new UsageFlusher(ledger, meteringClient, options); // an IHostedService, or call FlushAsync

        recorder.Record(subscriptionId, "silver", "api-calls", 1m);            // hot path: in memory, never waits for I/O
        await recorder.RecordAsync(subscriptionId, "silver", "exports", 1m);   // returns once committed to the ledger

        UsageMeter gigabytes = recorder.GetMeter(subscriptionId, "silver", "gigabytes");
        gigabytes.Add(0.25m);                                                  // a pre-resolved handle: no allocation
        await recorder.SaveAsync();                                            // (Record's usage is saved every second anyway)

        var flushed = await flusher.FlushAsync();                              // sends hours closed longer than the grace
        #endregion
        return flushed;
    }

    /// <summary>Registers the client and the accumulation layer from <paramref name="builder"/>'s configuration.</summary>
    public static void Register(IHostApplicationBuilder builder)
    {
        #region accumulation-di
        builder.Services.AddMarketplaceMeteringClient(builder.Configuration.GetSection("MarketplaceMetering"));
        builder.Services.AddMarketplaceMeteringAccumulation(builder.Configuration.GetSection("MarketplaceMetering:Accumulation"))
            .UsePostgreSqlLedger(useIt: false); // only with MarketplaceMetering.Accumulation.PostgreSql, to allow Ledger: PostgreSql
        #endregion
    }

    /// <summary>Reconciles the ledger in <paramref name="path"/> with what the marketplace recorded.</summary>
    public static async Task<UsageReconciliationReport> ReconcileLedgerAsync(MeteringClient client, string path, DateTimeOffset from, DateTimeOffset to)
    {
        #region reconcile-ledger
        await using var ledger = new SqliteUsageLedger(path);   // or new PostgreSqlUsageLedger(connectionString)
        var report = await new UsageReconciler(client).ReconcileAsync(ledger.GetSentUsageAsync(from, to), from, to);
        #endregion
        return report;
    }
}
