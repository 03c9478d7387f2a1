using System.Diagnostics;
using System.Globalization;
using MarketplaceMetering.Accumulation.TestHost;
using MarketplaceMetering.Emulator;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>
/// The crash proof: a child process records usage with RecordAsync and flushes it to the emulator (running here, in
/// the test's process); it is killed with SIGKILL at seeded random moments 20 times and restarted; at the end the
/// emulator holds exactly the usage whose RecordAsync returned. A call in flight at a kill may or may not have
/// committed (as with any database commit), so each such call counts either wholly or not at all; nothing else may
/// differ. Set CRASH_SEED to explore other kill points.
/// </summary>
public sealed class CrashTests(ITestOutputHelper output)
{
    private const int Items = 16000;
    private const int Workers = 4;
    private const int Kills = 20;

    [Fact]
    public async Task RecordAsyncAndFlush_KilledTwentyTimes_ServiceHoldsExactlyWhatReturned()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("CRASH_SEED"), out var s) ? s : 20261202;
        output.WriteLine($"CRASH_SEED={seed}");
        var random = new Random(seed);
        var folder = Directory.CreateTempSubdirectory("mm-crash-").FullName;
        var ledgerPath = Path.Combine(folder, "usage.db");
        var logPath = Path.Combine(folder, "calls.log");
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { Seed = seed });

        string[] Arguments(int clockOffsetMinutes) =>
        [
            "crash-child", ledgerPath, emulator.Endpoint.ToString(), emulator.Token, logPath,
            seed.ToString(CultureInfo.InvariantCulture), Items.ToString(CultureInfo.InvariantCulture), Workers.ToString(CultureInfo.InvariantCulture),
            clockOffsetMinutes.ToString(CultureInfo.InvariantCulture),
        ];

        var killedWhileWorking = 0;
        for (var kill = 0; kill < Kills; kill++)
        {
            using var child = TestHostProcess.Start(Arguments(0));
            await WaitForLineAsync(child, "ready");
            await Task.Delay(random.Next(20, 250));
            if (!child.HasExited)
            {
                killedWhileWorking++;
            }

            child.Kill(); // SIGKILL on Linux and macOS; TerminateProcess on Windows: no chance to clean up either way.
            await child.WaitForExitAsync();
        }

        // One run left alone records the rest and sends every closed hour; one more, two hours "later", sends the hour
        // that received usage carried forward from hours already sent.
        await RunToEndAsync(Arguments(0));
        await RunToEndAsync(Arguments(120));

        var lines = await File.ReadAllLinesAsync(logPath);
        var began = lines.Where(l => l.StartsWith("b ", StringComparison.Ordinal)).Select(l => int.Parse(l[2..], CultureInfo.InvariantCulture)).ToHashSet();
        var returned = lines.Where(l => l.StartsWith("e ", StringComparison.Ordinal)).Select(l => int.Parse(l[2..], CultureInfo.InvariantCulture)).ToHashSet();
        var items = CrashItems.Create(seed, Items, Workers);
        output.WriteLine($"{killedWhileWorking} kills while working; {returned.Count} calls returned; {began.Except(returned).Count()} in flight at a kill.");

        killedWhileWorking.Should().BeGreaterThan(Kills / 2, "most kills must land while the child works, or the test proves little");
        returned.Should().HaveCount(Items - began.Except(returned).Count(), "every item not in flight at a kill was recorded by some run");

        var held = emulator.Ledger.Entries;
        held.GroupBy(e => (e.ResourceId, e.Dimension.ToUpperInvariant(), e.EffectiveStartTime)).Should().OnlyContain(g => g.Count() == 1, "each hour is billed once");
        foreach (var key in items.Select(i => i.Key).Distinct())
        {
            var mine = items.Where(i => i.Key == key).ToList();
            var sure = mine.Where(i => returned.Contains(i.Index)).Sum(i => i.Quantity);
            var maybe = mine.Where(i => began.Contains(i.Index) && !returned.Contains(i.Index)).Select(i => i.Quantity).ToList();
            var total = held.Where(e => e.ResourceId == key.Resource && e.Dimension == key.Dimension).Sum(e => e.Quantity);
            SubsetSums(maybe).Should().Contain(total - sure, $"{key} holds {total}: the {sure} whose calls returned plus some of the calls in flight [{string.Join(", ", maybe)}], each once");
        }

        // Nothing stays behind in the ledger, and the ledger's total is what the service holds.
        await using (var ledger = new SqliteUsageLedger(ledgerPath))
        {
            var rows = await ledger.GetEntriesAsync(DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue);
            rows.Should().OnlyContain(r => r.IsDelivered);
            rows.Sum(r => r.Quantity).Should().Be(held.Sum(e => e.Quantity));
        }

        SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }

    private static HashSet<decimal> SubsetSums(IEnumerable<decimal> quantities)
    {
        var sums = new HashSet<decimal> { 0m };
        foreach (var quantity in quantities)
        {
            foreach (var sum in sums.ToList())
            {
                sums.Add(sum + quantity);
            }
        }

        return sums;
    }


    private static async Task WaitForLineAsync(Process child, string expected)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await child.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line == expected)
            {
                return;
            }
        }

        throw new InvalidOperationException($"The child exited ({child.ExitCode}) before printing '{expected}': {await child.StandardError.ReadToEndAsync()}");
    }

    private static async Task RunToEndAsync(string[] arguments)
    {
        using var child = TestHostProcess.Start(arguments);
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await child.WaitForExitAsync(timeout.Token);
        child.ExitCode.Should().Be(0, $"the child finishes its work: {await stderr}");
        (await stdout).Should().Contain("done");
    }
}
