using System.Globalization;
using Azure.Core;

namespace MarketplaceMetering.Accumulation.TestHost;

/// <summary>What each process of the scale-out test records: the same 50 resources, 2 dimensions and 3 past hours for every process.</summary>
public static class ScaleOutWork
{
    public const int Resources = 50;
    public const int Hours = 3;
    public static readonly string[] Dimensions = ["cpu", "storage"];

    public static Guid Resource(int seed, int r) => new(seed, (short)r, 0x4d4d, 1, 2, 3, 4, 5, 6, 7, 8);

    /// <summary>The quantity process <paramref name="process"/> records for a resource, dimension and hour, in three calls.</summary>
    public static decimal Quantity(int process, int r, int d, int hoursAgo) => 1 + ((process * 7 + r * 3 + d * 5 + hoursAgo * 11) % 13) + 0.25m;

    public static IEnumerable<(Guid Resource, string Dimension, int HoursAgo, decimal Quantity)> For(int seed, int process)
    {
        for (var r = 0; r < Resources; r++)
        {
            for (var d = 0; d < Dimensions.Length; d++)
            {
                for (var h = 1; h <= Hours; h++)
                {
                    yield return (Resource(seed, r), Dimensions[d], h, Quantity(process, r, d, h));
                }
            }
        }
    }
}

/// <summary>
/// One instance of a scaled-out backend sharing a PostgreSQL ledger: records its share, waits until every instance has
/// (a barrier of files), then flushes until no row is left to send. With <c>die</c> it instead claims rows, prints
/// "claimed N" and waits to be killed, holding them.
/// </summary>
internal static class ScaleOutChild
{
    // scale-child <connection> <schema> <endpoint> <token> <seed> <process> <processes> <barrier-folder> <normal|die> <current-hour-unix-seconds>
    public static async Task<int> RunAsync(string[] args)
    {
        var (connection, schema, endpoint, token) = (args[1], args[2], new Uri(args[3]), args[4]);
        var seed = int.Parse(args[5], CultureInfo.InvariantCulture);
        var process = int.Parse(args[6], CultureInfo.InvariantCulture);
        var processes = int.Parse(args[7], CultureInfo.InvariantCulture);
        var barrier = args[8];
        var die = args[9] == "die";

        var credential = DelegatedTokenCredential.Create((_, _) => new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1)));
        var clientOptions = new MeteringClientOptions { Endpoint = endpoint };
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(10);
        using var client = new MeteringClient(credential, clientOptions);
        var options = new UsageAccumulationOptions
        {
            Grace = TimeSpan.Zero,
            LeaseDuration = TimeSpan.FromSeconds(3),
            MaxRowsPerClaim = 40,
            InstanceName = "process-" + process.ToString(CultureInfo.InvariantCulture),
        };
        await using var ledger = new PostgreSqlUsageLedger(connection, schema);
        await using var recorder = new UsageRecorder(ledger, options);
        using var flusher = new UsageFlusher(ledger, client, options);

        // The test fixes the hour for every process, so that an hour turning between their starts cannot split the keys.
        var currentHour = DateTimeOffset.FromUnixTimeSeconds(long.Parse(args[10], CultureInfo.InvariantCulture));
        DateTimeOffset now;
        var work = ScaleOutWork.For(seed, process).ToList();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(lane => Task.Run(async () =>
        {
            for (var i = lane; i < work.Count; i += 4)
            {
                var (resource, dimension, hoursAgo, quantity) = work[i];
                var at = currentHour.AddHours(-hoursAgo).AddMinutes(i % 60);
                recorder.Record(resource, "plan", dimension, quantity / 4, at);
                await recorder.RecordAsync(resource, "plan", dimension, quantity / 4, at.AddSeconds(1));
                recorder.GetMeter(resource, "plan", dimension).Add(quantity / 2, at.AddSeconds(2));
            }
        })));
        await recorder.SaveAsync();

        await File.WriteAllTextAsync(Path.Combine(barrier, "recorded-" + process.ToString(CultureInfo.InvariantCulture)), "");
        var waitUntil = DateTimeOffset.UtcNow.AddMinutes(1);
        while (Directory.GetFiles(barrier, "recorded-*").Length < processes)
        {
            if (DateTimeOffset.UtcNow > waitUntil)
            {
                Console.Error.WriteLine("the other processes never finished recording");
                return 4;
            }

            await Task.Delay(20);
        }

        if (die)
        {
            now = DateTimeOffset.UtcNow;
            var claimed = await ((UsageLedger)ledger).ClaimAsync(options.InstanceName, now - TimeSpan.FromHours(1), now, now + options.LeaseDuration, 60, CancellationToken.None);
            Console.WriteLine("claimed " + claimed.Count.ToString(CultureInfo.InvariantCulture));
            await Task.Delay(Timeout.Infinite);
        }

        var deadline = DateTimeOffset.UtcNow.AddMinutes(2);
        while (DateTimeOffset.UtcNow < deadline)
        {
            await flusher.FlushAsync();
            var pending = await ledger.GetEntriesAsync(DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue);
            if (pending.All(e => e.State is not (UsageLedgerState.Open or UsageLedgerState.Submitting)))
            {
                Console.WriteLine("done");
                return 0;
            }

            await Task.Delay(200);
        }

        Console.Error.WriteLine("rows still unsent after two minutes");
        return 3;
    }
}
