using System.Diagnostics;
using System.Globalization;
using MarketplaceMetering.Accumulation.TestHost;
using MarketplaceMetering.Emulator;
using Xunit.Abstractions;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>
/// The scale-out proof on a real PostgreSQL server: 4 processes record concurrently against the same 50 resources,
/// 2 dimensions and 3 hours, then flush together; the emulator (here, in the test's process) receives each resource +
/// dimension + hour once, with the exact total of all four. A variant kills one process while it holds claimed rows;
/// another delivers them after the lease.
/// </summary>
public sealed class ScaleOutTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Seed = 4242;
    private const int Processes = 4;
    private readonly string _schema = "t_" + Guid.NewGuid().ToString("N");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => Environment.GetEnvironmentVariable("MM_POSTGRES") is null ? Task.CompletedTask : PostgresServer.DropAsync(_schema);

    [SkippableFact]
    public Task FourProcesses_RecordAndFlushTogether_EachHourOnceWithTheExactTotal() => RunAsync(dying: null);

    [SkippableFact]
    public Task FourProcesses_OneKilledHoldingClaims_AnotherDeliversThemAfterTheLease() => RunAsync(dying: 0);

    private async Task RunAsync(int? dying)
    {
        var connection = PostgresServer.ConnectionString();
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { Seed = Seed });
        var barrier = Directory.CreateTempSubdirectory("mm-scale-").FullName;
        var now = DateTimeOffset.UtcNow;
        var currentHour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);

        // The schema exists before the processes start, as it would after the first deployment.
        await using (var ledger = new PostgreSqlUsageLedger(connection, _schema))
        {
            await ledger.InitializeAsync();
        }

        var children = Enumerable.Range(0, Processes).Select(p => TestHostProcess.Start(
            "scale-child", connection, _schema, emulator.Endpoint.ToString(), emulator.Token, Seed.ToString(CultureInfo.InvariantCulture),
            p.ToString(CultureInfo.InvariantCulture), Processes.ToString(CultureInfo.InvariantCulture), barrier, p == dying ? "die" : "normal",
            currentHour.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture))).ToList();
        try
        {
            var claimedByTheDead = 0;
            if (dying is { } d)
            {
                var line = await children[d].StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2));
                line.Should().StartWith("claimed ", await children[d].StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(1)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : ""));
                claimedByTheDead = int.Parse(line!["claimed ".Length..], CultureInfo.InvariantCulture);
                children[d].Kill();
                output.WriteLine($"process {d} killed holding {claimedByTheDead} claimed rows");
                claimedByTheDead.Should().BeGreaterThan(0);
            }

            foreach (var (child, p) in children.Select((c, p) => (c, p)).Where(x => x.p != dying))
            {
                var stdout = child.StandardOutput.ReadToEndAsync();
                var stderr = child.StandardError.ReadToEndAsync();
                await child.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
                child.ExitCode.Should().Be(0, $"process {p} delivers everything: {await stderr}");
                (await stdout).Should().Contain("done");
            }

            // Each resource + dimension + hour once, with the sum of what all four processes recorded.
            var expected = Enumerable.Range(0, Processes)
                .SelectMany(p => ScaleOutWork.For(Seed, p))
                .GroupBy(w => (w.Resource, w.Dimension, Hour: currentHour.AddHours(-w.HoursAgo)))
                .ToDictionary(g => g.Key, g => g.Sum(w => w.Quantity));
            var held = emulator.Ledger.Entries;
            held.Should().HaveCount(ScaleOutWork.Resources * ScaleOutWork.Dimensions.Length * ScaleOutWork.Hours);
            held.Select(e => (e.ResourceId, e.Dimension, e.EffectiveStartTime)).Should().OnlyHaveUniqueItems();
            held.ToDictionary(e => (e.ResourceId, e.Dimension, e.EffectiveStartTime), e => e.Quantity).Should().Equal(expected);

            await using var check = new PostgreSqlUsageLedger(connection, _schema);
            var rows = await check.GetEntriesAsync(DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue);
            rows.Should().OnlyContain(r => r.IsDelivered);
            if (dying is not null)
            {
                rows.Count(r => r.Attempts >= 2).Should().BeGreaterThanOrEqualTo(claimedByTheDead, "the dead process's rows were claimed again after its lease");
            }
        }
        finally
        {
            foreach (var child in children)
            {
                if (!child.HasExited)
                {
                    child.Kill();
                }

                child.Dispose();
            }

            Directory.Delete(barrier, recursive: true);
        }
    }
}
