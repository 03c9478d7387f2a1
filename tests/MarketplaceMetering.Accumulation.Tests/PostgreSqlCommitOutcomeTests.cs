namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>
/// The connection to PostgreSQL breaks while an add commits (<see cref="CommitCuttingProxy"/>). Whether the usage was
/// committed is then unknown to the client; the ledger asks the server (<c>txid_status</c>) rather than fail, since a
/// failure makes the recorder put <see cref="UsageRecorder.Record"/>'s sums back, and a RecordAsync caller try again:
/// usage that was committed would be added twice.
/// </summary>
[Collection(AccumulationTelemetryGroup.Name)]
public sealed class PostgreSqlCommitOutcomeTests : IAsyncLifetime
{
    private static readonly Guid Resource = Guid.Parse("7c1d2f3a-4b5c-4d6e-8f7a-8b9c0d1e2f3b");
    private readonly string _schema = "t_" + Guid.NewGuid().ToString("N");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("MM_POSTGRES")))
        {
            await PostgresServer.DropAsync(_schema);
        }
    }

    [SkippableFact]
    public async Task SaveAsync_ConnectionBreaksAfterTheServerCommitted_SucceedsAndTheUsageIsAddedOnce()
    {
        await using var proxy = CommitCuttingProxy.Start(PostgresServer.ConnectionString());
        await using var ledger = new PostgreSqlUsageLedger(proxy.ConnectionString, _schema);
        await using var h = await AccumulationHarness.StartAsync(ledger: ledger);
        await h.Recorder.RecordAsync(Resource, "plan", "calls", 1m, h.HourAgo(2));

        h.Recorder.Record(Resource, "plan", "calls", 10m, h.HourAgo(2));
        proxy.CutAfterNextCommit();
        await h.Recorder.SaveAsync();
        await h.Recorder.SaveAsync();

        proxy.Cuts.Should().Be(1);
        (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(11m, "the server committed the 10 once; the recorder must not put it back and write it again");
    }

    [SkippableFact]
    public async Task RecordAsync_ConnectionBreaksAfterTheServerCommitted_ReturnsAsRecorded()
    {
        await using var proxy = CommitCuttingProxy.Start(PostgresServer.ConnectionString());
        await using var ledger = new PostgreSqlUsageLedger(proxy.ConnectionString, _schema);
        await using var h = await AccumulationHarness.StartAsync(ledger: ledger);
        await h.Recorder.RecordAsync(Resource, "plan", "calls", 1m, h.HourAgo(2));

        proxy.CutAfterNextCommit();
        await h.Recorder.RecordAsync(Resource, "plan", "calls", 10m, h.HourAgo(2));

        proxy.Cuts.Should().Be(1);
        (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(11m);
    }

    [SkippableFact]
    public async Task RecordAsync_ConnectionBreaksBeforeTheCommitReachesTheServer_WrittenAgainOnce()
    {
        await using var proxy = CommitCuttingProxy.Start(PostgresServer.ConnectionString());
        await using var ledger = new PostgreSqlUsageLedger(proxy.ConnectionString, _schema);
        await using var h = await AccumulationHarness.StartAsync(ledger: ledger);
        await h.Recorder.RecordAsync(Resource, "plan", "calls", 1m, h.HourAgo(2));

        proxy.CutBeforeNextCommit();
        await h.Recorder.RecordAsync(Resource, "plan", "calls", 10m, h.HourAgo(2));

        proxy.Cuts.Should().Be(1);
        (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(11m, "the server aborted the first try, so the usage is written by the second");
    }
}
