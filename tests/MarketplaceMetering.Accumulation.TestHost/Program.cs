using System.Globalization;
using Azure.Core;
using MarketplaceMetering;
using MarketplaceMetering.Accumulation.TestHost;

if (args[0] == "scale-child")
{
    return await ScaleOutChild.RunAsync(args);
}

// The crash test's child process. Usage: crash-child <ledger> <endpoint> <token> <log> <seed> <items> <workers> <clock-offset-minutes>
// Each worker records its share of a seeded list of items with RecordAsync, writing "b <i>" to the log before the call
// and "e <i>" after it returns, while a flusher sends closed hours to the endpoint. Items a previous run finished or
// began are skipped (a begun item may or may not be in the ledger: the test allows either). When every item is done,
// it flushes until nothing is left to send, prints "done" and exits 0.
var ledgerPath = args[1];
var endpoint = new Uri(args[2]);
var token = args[3];
var logPath = args[4];
var seed = int.Parse(args[5], CultureInfo.InvariantCulture);
var itemCount = int.Parse(args[6], CultureInfo.InvariantCulture);
var workers = int.Parse(args[7], CultureInfo.InvariantCulture);
var clock = new OffsetClock(TimeSpan.FromMinutes(int.Parse(args[8], CultureInfo.InvariantCulture)));

var started = File.Exists(logPath) ? File.ReadAllLines(logPath).Where(l => l.Length > 2).Select(l => int.Parse(l[2..], CultureInfo.InvariantCulture)).ToHashSet() : [];
using var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
var logGate = new object();
void Note(string line)
{
    lock (logGate)
    {
        log.WriteLine(line); // AutoFlush: in the OS's hands before the call returns, so a SIGKILL does not lose it.
    }
}

var credential = DelegatedTokenCredential.Create((_, _) => new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1)));
var clientOptions = new MeteringClientOptions { Endpoint = endpoint, TimeProvider = clock };
clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(10);
using var client = new MeteringClient(credential, clientOptions);
var options = new UsageAccumulationOptions
{
    TimeProvider = clock,
    Grace = TimeSpan.Zero,
    DurabilityInterval = TimeSpan.FromMilliseconds(50),
    LeaseDuration = TimeSpan.FromSeconds(2),
    InstanceName = "child-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
};
var ledger = new SqliteUsageLedger(ledgerPath);
await using var recorder = new UsageRecorder(ledger, options);
using var flusher = new UsageFlusher(ledger, client, options);
await ledger.InitializeAsync();
Console.WriteLine("ready");

using var stop = new CancellationTokenSource();
var flushing = Task.Run(async () =>
{
    while (!stop.IsCancellationRequested)
    {
        await flusher.FlushAsync();
        await Task.Delay(100);
    }
});

var items = CrashItems.Create(seed, itemCount, workers);
await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
{
    foreach (var item in items.Where(i => i.Worker == w && !started.Contains(i.Index)))
    {
        var now = clock.GetUtcNow();
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(-item.HoursAgo);
        Note("b " + item.Index.ToString(CultureInfo.InvariantCulture));
        await recorder.RecordAsync(item.Resource, "plan", item.Dimension, item.Quantity, hour.AddMinutes(item.Minute));
        Note("e " + item.Index.ToString(CultureInfo.InvariantCulture));
    }
})));

await stop.CancelAsync();
await flushing;
while ((await flusher.FlushAsync()).Claimed > 0)
{
}

Console.WriteLine("done");
return 0;
