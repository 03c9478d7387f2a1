using System.Diagnostics;
using System.Globalization;

namespace MarketplaceMetering.Benchmarks;

/// <summary>
/// <c>recordasync [N] [callers]</c>: N records through <see cref="UsageRecorder.RecordAsync"/> from concurrent callers
/// (default 20,000 and 64) into a SQLite ledger on this disk, each awaiting durability; prints records/s, commits
/// (transactions, each one WAL fsync with synchronous=FULL) and records per commit. For the fsync syscalls themselves,
/// run it under <c>strace -f -c -e trace=fsync,fdatasync</c>. The baseline in the same run: one caller (no group
/// commit possible).
/// </summary>
internal static class DurableRecording
{
    public static async Task<int> RunAsync(string[] args)
    {
        var records = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
        var callers = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 64;
        Console.WriteLine($"RecordAsync, SQLite (WAL, synchronous=FULL), {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}");
        Console.WriteLine("callers  records  seconds  records/s  commits  records/commit");
        await MeasureAsync(records / 20, 1);
        await MeasureAsync(records, callers);
        return 0;
    }

    private static async Task MeasureAsync(int records, int callers)
    {
        var folder = Directory.CreateTempSubdirectory("mm-durable-").FullName;
        var ledger = new CommitCountingLedger(Path.Combine(folder, "usage.db"));
        await ledger.InitializeAsync();
        var recorder = new UsageRecorder(ledger, new UsageAccumulationOptions { DurabilityInterval = TimeSpan.FromHours(1) });
        var resources = Enumerable.Range(0, 500).Select(i => new Guid(i, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)).ToArray();
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            for (var i = c; i < records; i += callers)
            {
                await recorder.RecordAsync(resources[i % resources.Length], "plan", "calls", 1m);
            }
        })));
        stopwatch.Stop();
        await recorder.DisposeAsync();
        Console.WriteLine($"{callers,7}  {records,7}  {stopwatch.Elapsed.TotalSeconds,7:F2}  {records / stopwatch.Elapsed.TotalSeconds,9:F0}  {ledger.Commits,7}  {(double)records / ledger.Commits,14:F1}");
        await ledger.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>The SQLite ledger, counting its write transactions.</summary>
    private sealed class CommitCountingLedger(string path) : MarketplaceMetering.Testing.DelegatingUsageLedger(path)
    {
        public int Commits { get; private set; }

        protected internal override Task<IReadOnlyList<UsageCarryForward>> AddAsync(IReadOnlyList<UsageDelta> deltas, DateTimeOffset now, CancellationToken cancellationToken)
        {
            Commits++; // one writer loop: never concurrent
            return base.AddAsync(deltas, now, cancellationToken);
        }
    }
}
