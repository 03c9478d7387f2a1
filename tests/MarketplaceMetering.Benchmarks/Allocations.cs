using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace MarketplaceMetering.Benchmarks;

/// <summary>
/// Where the bytes go: sends many calls of one kind (client or minimal sender) to the canned server and prints the
/// runtime's allocation samples (one GCAllocationTick per ~100 KB allocated) grouped by type, so the largest
/// allocators show up by name. Server and client share the process: compare a client run with the baseline's.
/// <c>dotnet run -c Release --project tests/MarketplaceMetering.Benchmarks -- allocations single|batch|bulk client|baseline [calls]</c>
/// </summary>
internal static class Allocations
{
    public static async Task<int> RunAsync(string[] args)
    {
        var kind = args.Length > 0 ? args[0] : "single";
        var who = args.Length > 1 ? args[1] : "client";
        var calls = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 20_000;

        var workload = Workload.Create();
        await using var server = await CannedServer.StartAsync(workload);
        using var client = new MeteringClient(Workload.Credential, new MeteringClientOptions { Endpoint = server.Endpoint });
        using var baseline = new MinimalSender(server.Endpoint, Workload.Token);
        Func<Task> send = (kind, who) switch
        {
            ("single", "client") => () => client.SubmitUsageEventAsync(workload.Single),
            ("single", _) => () => baseline.SendAsync(workload.Single),
            ("batch", "client") => () => client.SubmitBatchUsageEventAsync(workload.Batch),
            ("batch", _) => () => baseline.SendBatchAsync(workload.Batch),
            ("bulk", "client") => () => client.SubmitUsageEventsAsync(workload.Bulk),
            _ => () => baseline.SendBulkAsync(workload.Bulk, 4),
        };
        var perCall = kind switch { "single" => 1, "batch" => 25, _ => Workload.BulkCount };
        if (kind == "bulk")
        {
            calls = Math.Max(1, calls / 400);
        }

        for (var i = 0; i < Math.Min(calls, 200); i++)
        {
            await send();
        }

        using var listener = new AllocationListener();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            for (var i = 0; i < calls / 4; i++)
            {
                await send().ConfigureAwait(false);
            }
        }));
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        var events = (double)(calls / 4 * 4) * perCall;
        Console.WriteLine($"{kind} {who}: {allocated / events:N0} B/event over {events:N0} events (process-wide)");
        var total = listener.Samples.Values.Sum();
        foreach (var (type, bytes) in listener.Samples.OrderByDescending(p => p.Value).Take(40))
        {
            Console.WriteLine($"{bytes * (double)allocated / total / events,10:N1} B/event  {type}");
        }

        return 0;
    }

    private sealed class AllocationListener : EventListener
    {
        public ConcurrentDictionary<string, long> Samples { get; } = new();

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || eventData.Payload is null)
            {
                return;
            }

            var type = eventData.PayloadNames!.IndexOf("TypeName") is var t and >= 0 ? eventData.Payload[t] as string ?? "?" : "?";
            var amount = eventData.PayloadNames!.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(eventData.Payload[a], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
            Samples.AddOrUpdate(type, amount, (_, n) => n + amount);
        }
    }
}
