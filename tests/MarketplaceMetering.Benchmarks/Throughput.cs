using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace MarketplaceMetering.Benchmarks;

/// <summary>
/// The end-to-end throughput program: N events (200,000 by default) through <c>SubmitUsageEventsAsync</c> to the
/// metering emulator running in another process, the same events through the minimal sender (4 batches in flight, as
/// the client's default) and through <c>SubmitBatchUsageEventAsync</c> by 4 callers; then M events (60,000 by default)
/// one per call through <c>SubmitUsageEventAsync</c> and the minimal sender, 4 callers each. The minimal sender runs
/// twice in each group: with pooled bodies, and with allocated bodies as issue 9 measured it. Each run is a fresh child
/// process against a fresh emulator, warmed up before it is measured; the senders are interleaved over R rounds (3 by
/// default) and each ratio is taken within its round. Prints events/s, bytes allocated per event, CPU time per event of
/// the sending process and of the emulator, and peak working set side by side, then the median ratio of the rounds.
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
        var singles = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60_000;
        var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        Console.WriteLine($"Throughput: {count:N0} events in batches (4 in flight) and {singles:N0} single-event calls (4 callers), emulator in another process, on {Environment.ProcessorCount} cores, {DateTimeOffset.UtcNow:yyyy-MM-dd}.");
        Console.WriteLine($"{rounds} rounds; in each, every sender runs once in a fresh process after a warm-up of {WarmUpCount(count):N0} (bulk) or {WarmUpCount(singles):N0} (single) events, the order alternating from round to round.");

        // The machine is shared and noisy: one pair of runs can differ by more than the margin being measured. The runs
        // are interleaved, the order rotating from round to round, so that a slow spell hits every sender, and each ratio
        // is taken against the baseline of its own round. The verdict is the median of the rounds' ratios.
        // "SubmitBatchUsageEventAsync" sends the same batches by 4 callers, as the minimal sender does: it tells the
        // batch call's own cost from that of the bulk planner above it.
        // Each group has two references: the minimal sender with pooled bodies (the stricter one, "minimal sender") and
        // the same sender as issue 9 measured it, which copies its request body into an array of its own and lets
        // HttpClient buffer the answer ("minimal sender, allocated bodies"). Every client is compared with both.
        var groups = new[]
        {
            new Group("bulk", count, ["baseline", "baseline-allocated"], ["client", "client-batches"]),
            new Group("single", singles, ["baseline-single", "baseline-allocated-single"], ["client-single"]),
        }.Where(g => g.Count > 0).ToArray(); // 0 skips a group
        var ok = true;
        Console.WriteLine();
        Console.WriteLine($"{"round",-7}{"sender",-44}{"events/s",12}{"B/event",12}{"CPU us/event",14}{"emulator CPU",14}{"peak WS MiB",14}{"accepted",12}");
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var group in groups)
            {
                var senders = group.Baselines.Concat(group.Clients).ToList();
                var figures = new Dictionary<string, Figures>();
                for (var k = 0; k < senders.Count; k++)
                {
                    var sender = senders[(k + round - 1) % senders.Count];
                    var f = await MeasureAsync(sender, group.Count);
                    figures[sender] = f;
                    ok &= f.Accepted == group.Count && f.LedgerProblem is null;
                    Console.WriteLine($"{round,-7}{f.Sender,-44}{f.EventsPerSecond,12:N0}{f.BytesPerEvent,12:N0}{f.CpuMicrosecondsPerEvent,14:N1}{f.EmulatorCpuMicrosecondsPerEvent,14:N1}{f.PeakWorkingSet / 1048576.0,14:N1}{f.Accepted,12:N0}");
                    if (f.LedgerProblem is { } problem)
                    {
                        Console.WriteLine($"       {f.Sender}: the emulator's ledger is not what the sender was to send: {problem}");
                    }
                }

                foreach (var baseline in group.Baselines)
                {
                    foreach (var client in group.Clients)
                    {
                        group.Ratios[(client, baseline)].Add(figures[client].EventsPerSecond / figures[baseline].EventsPerSecond);
                        Compare($"{group.Name}, round {round}", figures[baseline], figures[client]);
                    }
                }
            }
        }

        Console.WriteLine();
        foreach (var group in groups)
        {
            foreach (var ((client, baseline), ratios) in group.Ratios)
            {
                Console.WriteLine($"{group.Name}: {Name(client)} / {Reference(baseline)}, events/s by round: {string.Join(", ", ratios.Select(r => r.ToString("N2", CultureInfo.InvariantCulture) + "x"))}; median {Median(ratios):N2}x");
            }
        }

        return ok ? 0 : 1;
    }

    private sealed record Group(string Name, int Count, string[] Baselines, string[] Clients)
    {
        /// <summary>Each client's ratio to each baseline, by round; the pooled baseline's first.</summary>
        public Dictionary<(string Client, string Baseline), List<double>> Ratios { get; } =
            Baselines.SelectMany(b => Clients.Select(c => (c, b))).ToDictionary(p => p, _ => new List<double>());
    }

    private static string Name(string sender) => sender switch
    {
        "client" => "SubmitUsageEventsAsync",
        "client-single" => "SubmitUsageEventAsync",
        "client-batches" => "SubmitBatchUsageEventAsync",
        "baseline-single" => "minimal sender, single",
        "baseline-allocated-single" => "minimal sender, single, allocated bodies",
        "baseline-allocated" => "minimal sender, batches, allocated bodies",
        "baseline" => "minimal sender, batches",
        _ => throw new ArgumentException("Unknown sender: " + sender, nameof(sender)),
    };

    /// <summary>A baseline's name in the medians' lines.</summary>
    private static string Reference(string baseline) =>
        baseline.Contains("allocated", StringComparison.Ordinal) ? "minimal sender with allocated bodies (issue 9's baseline)" : "minimal sender";

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static void Compare(string what, Figures baseline, Figures client) =>
        Console.WriteLine($"       {what}: {client.Sender} / {baseline.Sender}: {client.EventsPerSecond / baseline.EventsPerSecond:N2}x events/s, {client.BytesPerEvent / baseline.BytesPerEvent:N2}x bytes per event, {client.CpuMicrosecondsPerEvent / baseline.CpuMicrosecondsPerEvent:N2}x CPU per event (sender's process), {(double)client.PeakWorkingSet / baseline.PeakWorkingSet:N2}x peak working set");

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
            emulator.Refresh();
            var emulatorCpuBefore = emulator.TotalProcessorTime;
            var self = Environment.ProcessPath!;
            var start = self.EndsWith("dotnet", StringComparison.Ordinal) || self.EndsWith("dotnet.exe", StringComparison.Ordinal)
                ? new ProcessStartInfo(self, [typeof(Throughput).Assembly.Location, "throughput", "child", sender, endpoint.ToString(), count.ToString(CultureInfo.InvariantCulture)])
                : new ProcessStartInfo(self, ["throughput", "child", sender, endpoint.ToString(), count.ToString(CultureInfo.InvariantCulture)]);
            start.RedirectStandardOutput = true;
            using var child = Process.Start(start)!;
            var output = await child.StandardOutput.ReadToEndAsync();
            await child.WaitForExitAsync();
            var line = output.Split('\n').Last(l => l.StartsWith('{'));
            emulator.Refresh();

            // The emulator's CPU covers the warm-up events too, so it is divided by all the events it answered.
            var emulatorCpu = (emulator.TotalProcessorTime - emulatorCpuBefore).TotalMicroseconds / (count + WarmUpCount(count));
            return JsonSerializer.Deserialize<Figures>(line)! with
            {
                EmulatorCpuMicrosecondsPerEvent = emulatorCpu,
                LedgerProblem = await LedgerProblemAsync(endpoint, count),
            };
        }
        finally
        {
            emulator.Kill(entireProcessTree: true);
        }
    }

    private static async Task<int> ChildAsync(string sender, Uri endpoint, int count)
    {
        var hour = TimeProvider.System.GetUtcNow().AddHours(-1);
        var warmUp = WarmUpCount(count);
        var all = Enumerable.Range(0, warmUp + count)
            .Select(i => UsageEvent.ForResourceId(Workload.Resource(i), Workload.Plan, Workload.Dimension, 1 + (i % 97), hour))
            .ToArray();
        var credential = new Azure.Core.AccessToken(Token, DateTimeOffset.UtcNow.AddHours(1));
        using var client = new MeteringClient(new FixedCredential(credential), new MeteringClientOptions { Endpoint = endpoint });
        using var baseline = new MinimalSender(
            endpoint,
            Token,
            sender.Contains("allocated", StringComparison.Ordinal) ? MinimalSender.Bodies.Allocated : MinimalSender.Bodies.Pooled);
        Func<UsageEvent[], Task<int>> send = sender switch
        {
            "client" => async events => (await client.SubmitUsageEventsAsync(events).ConfigureAwait(false)).Summary.Delivered,
            "client-single" => events => EachAsync(events, e => client.SubmitUsageEventAsync(e), static result => result is UsageEventResult.Accepted),
            "baseline-single" or "baseline-allocated-single" => events => EachAsync(events, baseline.SendAsync, static accepted => accepted),
            "client-batches" => events => BatchesAsync(events, batch => client.SubmitBatchUsageEventAsync(batch), static result => result.Results.Count(r => r is UsageEventResult.Accepted)),
            "baseline" or "baseline-allocated" => events => baseline.SendBulkAsync(events, concurrency: 4),
            _ => throw new ArgumentException("Unknown sender: " + sender, nameof(sender)),
        };

        // Warm up first, as a long-lived publisher's process is: the runtime compiles the code it runs, and the connections
        // are opened. Tiered compilation then recompiles hot methods in the background (instrumented, then optimized), in
        // steps that each wait for calls and a quiet 100 ms; a perf profile of a cold 200,000-event run put a third of the
        // sending process's CPU in the background compiler thread and the JIT. The client has more code than the minimal
        // sender, so a cold run measures the JIT as much as the sender. Hence several warm-up rounds with a pause after each.
        // The warm-up events are distinct from the measured ones.
        var warmedUp = 0;
        for (var round = 0; round < WarmUpRounds; round++)
        {
            warmedUp += await send(all[(warmUp * round / WarmUpRounds)..(warmUp * (round + 1) / WarmUpRounds)]);
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }

        var events = all[warmUp..];
        GC.Collect();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var jitBefore = System.Runtime.JitInfo.GetCompilationTime();
        var methodsBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var workItemsBefore = ThreadPool.CompletedWorkItemCount;
        var clock = Stopwatch.StartNew();
        var accepted = await send(events);
        clock.Stop();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        var jit = System.Runtime.JitInfo.GetCompilationTime() - jitBefore;
        var methods = System.Runtime.JitInfo.GetCompiledMethodCount() - methodsBefore;
        var workItems = ThreadPool.CompletedWorkItemCount - workItemsBefore;
        Console.Error.WriteLine($"{sender}: JIT during the measured run: {methods} methods, {jit.TotalMilliseconds:N0} ms ({jit.TotalMicroseconds / count:N2} us/event) of {cpu.TotalMilliseconds:N0} ms CPU; {(double)workItems / count:N2} thread-pool work items per event");
        using var self = Process.GetCurrentProcess();
        Console.WriteLine(JsonSerializer.Serialize(new Figures(
            Name(sender),
            count / clock.Elapsed.TotalSeconds,
            (double)allocated / count,
            self.PeakWorkingSet64,
            warmedUp == warmUp ? accepted : -1,
            cpu.TotalMicroseconds / count)));
        return 0;
    }

    /// <summary>
    /// Checks what the emulator recorded against what the child was to send (read after the measured run): every warm-up
    /// and measured event once, with its own resource, plan, dimension and quantity, all at one start time. The accepted
    /// count alone would not see a sender that wrote other events: this emulator takes any plan and dimension.
    /// </summary>
    private static async Task<string?> LedgerProblemAsync(Uri endpoint, int count)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(endpoint, "emulator/ledger"));
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Token);
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            return "the ledger could not be read (HTTP " + (int)response.StatusCode + ")";
        }

        using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
        var seen = new bool[count + WarmUpCount(count)];
        string? start = null;
        foreach (var entry in document.RootElement.EnumerateArray())
        {
            var resource = entry.GetProperty("resourceId").GetGuid();
            var at = Workload.ResourceIndex(resource);
            if (at < 0 || at >= seen.Length)
            {
                return "an event for resource " + resource + ", which the sender was not to send";
            }

            if (seen[at])
            {
                return "resource " + resource + " recorded twice";
            }

            seen[at] = true;
            var time = entry.GetProperty("effectiveStartTime").GetString();
            start ??= time;
            if (entry.GetProperty("planId").GetString() != Workload.Plan
                || entry.GetProperty("dimension").GetString() != Workload.Dimension
                || entry.GetProperty("quantity").GetDecimal() != 1 + (at % 97)
                || time != start)
            {
                return "resource " + resource + " recorded as " + entry.GetRawText();
            }
        }

        var missing = Array.IndexOf(seen, false);
        return missing < 0 ? null : seen.Count(s => !s) + " events never recorded, the first for resource " + Workload.Resource(missing);
    }

    /// <summary>In how many rounds the warm-up events are sent, each followed by a pause for the background compiler.</summary>
    private const int WarmUpRounds = 6;

    /// <summary>How many events each child sends before it starts measuring: a twentieth of the run, at least 3,000.</summary>
    private static int WarmUpCount(int count) => Math.Max(3_000, count / 20);

    /// <summary>Sends the events in batches of 25, 4 calls at a time, as the minimal sender does; returns how many were accepted.</summary>
    private static async Task<int> BatchesAsync<T>(UsageEvent[] events, Func<ArraySegment<UsageEvent>, Task<T>> send, Func<T, int> accepted)
    {
        var next = -1;
        var count = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            int k;
            while ((k = Interlocked.Increment(ref next)) * 25 < events.Length)
            {
                Interlocked.Add(ref count, accepted(await send(new ArraySegment<UsageEvent>(events, k * 25, Math.Min(25, events.Length - (k * 25)))).ConfigureAwait(false)));
            }
        }));
        return count;
    }

    /// <summary>Sends each event in its own call, 4 callers at a time; returns how many were accepted.</summary>
    /// <remarks>
    /// Each sender's own method is awaited directly, with its answer judged by <paramref name="accepted"/>: a wrapping
    /// async lambda would add an async layer to one sender's calls and not to the other's.
    /// </remarks>
    private static async Task<int> EachAsync<T>(UsageEvent[] events, Func<UsageEvent, Task<T>> send, Func<T, bool> accepted)
    {
        var next = -1;
        var count = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < events.Length)
            {
                if (accepted(await send(events[i]).ConfigureAwait(false)))
                {
                    Interlocked.Increment(ref count);
                }
            }
        }));
        return count;
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

    internal sealed record Figures(string Sender, double EventsPerSecond, double BytesPerEvent, long PeakWorkingSet, int Accepted, double CpuMicrosecondsPerEvent)
    {
        /// <summary>The emulator process's CPU per event it answered (warm-up included), filled in by the parent.</summary>
        public double EmulatorCpuMicrosecondsPerEvent { get; init; }

        /// <summary>What the emulator recorded that the sender was not to send, or did not record; null when it all matches.</summary>
        public string? LedgerProblem { get; init; }
    }

    private sealed class FixedCredential(Azure.Core.AccessToken token) : Azure.Core.TokenCredential
    {
        public override Azure.Core.AccessToken GetToken(Azure.Core.TokenRequestContext requestContext, CancellationToken cancellationToken) => token;

        public override ValueTask<Azure.Core.AccessToken> GetTokenAsync(Azure.Core.TokenRequestContext requestContext, CancellationToken cancellationToken) => new(token);
    }
}
