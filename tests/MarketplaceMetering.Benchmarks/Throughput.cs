using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace MarketplaceMetering.Benchmarks;

/// <summary>
/// The end-to-end throughput program: N events (200,000 by default) through <c>SubmitUsageEventsAsync</c> to the
/// metering emulator running in another process, and the same events through the minimal sender (4 batches in
/// flight, as the client's default); then M events (20,000 by default) one per call through <c>SubmitUsageEventAsync</c>
/// and the minimal sender, 4 callers each. Each run is a fresh child process against a fresh emulator, so each one's
/// peak working set is its own. Prints events/s, bytes allocated per event, CPU time of the sending process per event
/// and peak working set side by side.
/// </summary>
internal static class Throughput
{
    private const string Token = "throughput-emulator-token-0123456789";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == "child")
        {
            return await ChildAsync(args[1], new Uri(args[2]), int.Parse(args[3], CultureInfo.InvariantCulture));
        }

        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200_000;
        var singles = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000;
        Console.WriteLine($"Throughput: {count:N0} events in batches (4 in flight) and {singles:N0} single-event calls (4 callers), emulator in another process, on {Environment.ProcessorCount} cores, {DateTimeOffset.UtcNow:yyyy-MM-dd}.");
        var bulk = new List<Figures>();
        foreach (var sender in new[] { "baseline", "client" })
        {
            bulk.Add(await MeasureAsync(sender, count));
        }

        var single = new List<Figures>();
        foreach (var sender in new[] { "baseline-single", "client-single" })
        {
            single.Add(await MeasureAsync(sender, singles));
        }

        Console.WriteLine();
        Console.WriteLine($"{"sender",-24}{"events/s",12}{"B/event",12}{"CPU us/event",14}{"peak WS MiB",14}{"accepted",12}");
        foreach (var f in bulk.Concat(single))
        {
            Console.WriteLine($"{f.Sender,-24}{f.EventsPerSecond,12:N0}{f.BytesPerEvent,12:N0}{f.CpuMicrosecondsPerEvent,14:N1}{f.PeakWorkingSet / 1048576.0,14:N1}{f.Accepted,12:N0}");
        }

        Console.WriteLine();
        Compare("bulk", bulk[0], bulk[1]);
        Compare("single", single[0], single[1]);
        return bulk.All(r => r.Accepted == count) && single.All(r => r.Accepted == singles) ? 0 : 1;
    }

    private static void Compare(string what, Figures baseline, Figures client) =>
        Console.WriteLine($"{what}: client / baseline: {client.EventsPerSecond / baseline.EventsPerSecond:N2}x events/s, {client.BytesPerEvent / baseline.BytesPerEvent:N2}x bytes per event, {client.CpuMicrosecondsPerEvent / baseline.CpuMicrosecondsPerEvent:N2}x CPU per event (sender's process), {(double)client.PeakWorkingSet / baseline.PeakWorkingSet:N2}x peak working set");

    private static async Task<Figures> MeasureAsync(string sender, int count)
    {
        var port = FreePort();
        var emulatorDll = Path.Combine(AppContext.BaseDirectory, "MarketplaceMetering.Emulator.dll");
        using var emulator = Process.Start(new ProcessStartInfo("dotnet", [emulatorDll, "--port", port.ToString(CultureInfo.InvariantCulture), "--token", Token])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        _ = emulator.StandardOutput.ReadToEndAsync();
        _ = emulator.StandardError.ReadToEndAsync();
        var endpoint = new Uri($"http://127.0.0.1:{port}/");
        try
        {
            await WaitUntilUpAsync(endpoint);
            var self = Environment.ProcessPath!;
            var start = self.EndsWith("dotnet", StringComparison.Ordinal) || self.EndsWith("dotnet.exe", StringComparison.Ordinal)
                ? new ProcessStartInfo(self, [typeof(Throughput).Assembly.Location, "throughput", "child", sender, endpoint.ToString(), count.ToString(CultureInfo.InvariantCulture)])
                : new ProcessStartInfo(self, ["throughput", "child", sender, endpoint.ToString(), count.ToString(CultureInfo.InvariantCulture)]);
            start.RedirectStandardOutput = true;
            using var child = Process.Start(start)!;
            var output = await child.StandardOutput.ReadToEndAsync();
            await child.WaitForExitAsync();
            var line = output.Split('\n').Last(l => l.StartsWith('{'));
            return JsonSerializer.Deserialize<Figures>(line)!;
        }
        finally
        {
            emulator.Kill(entireProcessTree: true);
        }
    }

    private static async Task<int> ChildAsync(string sender, Uri endpoint, int count)
    {
        var hour = TimeProvider.System.GetUtcNow().AddHours(-1);
        var events = Enumerable.Range(0, count)
            .Select(i => UsageEvent.ForResourceId(Workload.Resource(i), Workload.Plan, Workload.Dimension, 1 + (i % 97), hour))
            .ToArray();
        var credential = new Azure.Core.AccessToken(Token, DateTimeOffset.UtcNow.AddHours(1));
        GC.Collect();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        int accepted;
        if (sender == "client")
        {
            using var client = new MeteringClient(new FixedCredential(credential), new MeteringClientOptions { Endpoint = endpoint });
            accepted = (await client.SubmitUsageEventsAsync(events)).Summary.Delivered;
        }
        else if (sender == "client-single")
        {
            using var client = new MeteringClient(new FixedCredential(credential), new MeteringClientOptions { Endpoint = endpoint });
            accepted = await EachAsync(events, async e => await client.SubmitUsageEventAsync(e).ConfigureAwait(false) is UsageEventResult.Accepted);
        }
        else if (sender == "baseline-single")
        {
            using var baseline = new MinimalSender(endpoint, Token);
            accepted = await EachAsync(events, baseline.SendAsync);
        }
        else
        {
            using var baseline = new MinimalSender(endpoint, Token);
            accepted = await baseline.SendBulkAsync(events, concurrency: 4);
        }

        clock.Stop();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        using var self = Process.GetCurrentProcess();
        Console.WriteLine(JsonSerializer.Serialize(new Figures(
            sender switch
            {
                "client" => "SubmitUsageEventsAsync",
                "client-single" => "SubmitUsageEventAsync",
                "baseline-single" => "minimal sender, single",
                _ => "minimal sender, batches",
            },
            count / clock.Elapsed.TotalSeconds,
            (double)allocated / count,
            self.PeakWorkingSet64,
            accepted,
            cpu.TotalMicroseconds / count)));
        return 0;
    }

    /// <summary>Sends each event in its own call, 4 callers at a time; returns how many were accepted.</summary>
    private static async Task<int> EachAsync(UsageEvent[] events, Func<UsageEvent, Task<bool>> send)
    {
        var next = -1;
        var accepted = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < events.Length)
            {
                if (await send(events[i]).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref accepted);
                }
            }
        }));
        return accepted;
    }

    private static async Task WaitUntilUpAsync(Uri endpoint)
    {
        using var http = new HttpClient();
        for (var i = 0; i < 200; i++)
        {
            try
            {
                using var _ = await http.GetAsync(new Uri(endpoint, "api/usageEvents?api-version=2018-08-31"));
                return;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100);
            }
        }

        throw new InvalidOperationException("The emulator did not start at " + endpoint);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal sealed record Figures(string Sender, double EventsPerSecond, double BytesPerEvent, long PeakWorkingSet, int Accepted, double CpuMicrosecondsPerEvent);

    private sealed class FixedCredential(Azure.Core.AccessToken token) : Azure.Core.TokenCredential
    {
        public override Azure.Core.AccessToken GetToken(Azure.Core.TokenRequestContext requestContext, CancellationToken cancellationToken) => token;

        public override ValueTask<Azure.Core.AccessToken> GetTokenAsync(Azure.Core.TokenRequestContext requestContext, CancellationToken cancellationToken) => new(token);
    }
}
