using Npgsql;

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

    [SkippableFact]
    public async Task SaveAsync_PartitionLeavesTheTransactionInProgress_EndsItsBackendAndTheUsageIsAddedOnce()
    {
        var proxy = CommitCuttingProxy.Start(PostgresServer.ConnectionString());
        await using var ledger = new PostgreSqlUsageLedger(proxy.ConnectionString, _schema);
        await using var h = await AccumulationHarness.StartAsync(ledger: ledger);
        await using var relay = proxy; // disposed first: a partition left by a failing test must not hold the harness's last write on its row locks
        await h.Recorder.RecordAsync(Resource, "plan", "calls", 1m, h.HourAgo(2));

        h.Recorder.Record(Resource, "plan", "calls", 10m, h.HourAgo(2));
        proxy.PartitionAtNextCommit();
        await h.Recorder.SaveAsync();
        var lateCommitAnswered = await proxy.HealAsync();
        await h.Recorder.SaveAsync();

        proxy.Cuts.Should().Be(1);
        lateCommitAnswered.Should().BeFalse("the ledger ended the backend that held the transaction, so the COMMIT the partition delivers late finds no session to commit");
        (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(11m, "the first try was aborted when its backend was ended and the 10 written once more, never twice");
    }

    [SkippableFact]
    public async Task RecordAsync_PartitionLeavesTheTransactionInProgress_ReturnsAsRecordedAndTheUsageIsAddedOnce()
    {
        var proxy = CommitCuttingProxy.Start(PostgresServer.ConnectionString());
        await using var ledger = new PostgreSqlUsageLedger(proxy.ConnectionString, _schema);
        await using var h = await AccumulationHarness.StartAsync(ledger: ledger);
        await using var relay = proxy; // disposed first: a partition left by a failing test must not hold the harness's last write on its row locks
        await h.Recorder.RecordAsync(Resource, "plan", "calls", 1m, h.HourAgo(2));

        proxy.PartitionAtNextCommit();
        await h.Recorder.RecordAsync(Resource, "plan", "calls", 10m, h.HourAgo(2));
        var lateCommitAnswered = await proxy.HealAsync();

        lateCommitAnswered.Should().BeFalse("the ledger ended the backend that held the transaction");
        (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(11m);
    }

    [SkippableFact]
    public async Task SaveAsync_PartitionedCommitArrivesJustBeforeTheBackendIsEnded_ReturnsAsCommittedAndTheUsageIsAddedOnce()
    {
        var proxy = CommitCuttingProxy.Start(PostgresServer.ConnectionString());
        await using var ledger = new PostgreSqlUsageLedger(proxy.ConnectionString, _schema);
        await using var h = await AccumulationHarness.StartAsync(ledger: ledger);
        await using var relay = proxy; // disposed first: a partition left by a failing test must not hold the harness's last write on its row locks
        await h.Recorder.RecordAsync(Resource, "plan", "calls", 1m, h.HourAgo(2));

        h.Recorder.Record(Resource, "plan", "calls", 10m, h.HourAgo(2));
        proxy.PartitionAtNextCommit();
        proxy.HealBeforeTermination();
        await h.Recorder.SaveAsync();
        await h.Recorder.SaveAsync();

        proxy.HealedBeforeTermination.Should().BeTrue("the transaction was in progress at the first question, and the late COMMIT committed it before the order to end its backend");
        (await proxy.ProbePartitionedSessionAsync()).Should().BeTrue("the order ends a backend only while it runs the transaction, and this one no longer did");
        (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(11m, "ending the backend does not mean the transaction aborted: the ledger asks again, learns it committed, and does not write the 10 a second time");
    }

    [SkippableFact]
    public async Task SaveAsync_PartitionAndTheRoleMayNotEndBackends_AsksUntilTheServerAbortsAndTheUsageIsAddedOnce()
    {
        await using var database = await RestrictedDatabase.CreateAsync(PostgresServer.ConnectionString());
        var proxy = CommitCuttingProxy.Start(database.ConnectionString);
        await using var ledger = new PostgreSqlUsageLedger(proxy.ConnectionString, _schema);
        await using var h = await AccumulationHarness.StartAsync(ledger: ledger);
        await using var relay = proxy; // disposed first: a partition left by a failing test must not hold the harness's last write on its row locks
        await h.Recorder.RecordAsync(Resource, "plan", "calls", 1m, h.HourAgo(2));

        h.Recorder.Record(Resource, "plan", "calls", 10m, h.HourAgo(2));
        proxy.PartitionAtNextCommit();
        proxy.EndPartitionsAtStatusQuestion(3);
        await h.Recorder.SaveAsync();

        proxy.StatusQuestions.Should().BeGreaterThanOrEqualTo(3, "pg_terminate_backend was refused, so the ledger went on asking until the server noticed the partition and aborted");
        (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(11m);
    }

    /// <summary>
    /// A database of its own, owned by a login role that is not a superuser, with <c>pg_terminate_backend</c> revoked
    /// from PUBLIC (as some locked-down servers have it): the role may not end even its own backends.
    /// </summary>
    private sealed class RestrictedDatabase : IAsyncDisposable
    {
        private readonly string _adminConnectionString;
        private readonly string _name;

        private RestrictedDatabase(string adminConnectionString, string name)
        {
            _adminConnectionString = adminConnectionString;
            _name = name;
            ConnectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Username = name, Database = name }.ConnectionString;
        }

        public string ConnectionString { get; }

        public static async Task<RestrictedDatabase> CreateAsync(string adminConnectionString)
        {
            var database = new RestrictedDatabase(adminConnectionString, "mm_t_" + Guid.NewGuid().ToString("N")[..12]);
            await using (var admin = NpgsqlDataSource.Create(adminConnectionString))
            {
                await admin.CreateCommand("CREATE ROLE " + database._name + " LOGIN NOSUPERUSER;").ExecuteNonQueryAsync();
                await admin.CreateCommand("CREATE DATABASE " + database._name + " OWNER " + database._name + ";").ExecuteNonQueryAsync();
            }

            await using (var inside = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = database._name }.ConnectionString))
            {
                await inside.CreateCommand("REVOKE EXECUTE ON FUNCTION pg_terminate_backend FROM PUBLIC;").ExecuteNonQueryAsync();
            }

            return database;
        }

        public async ValueTask DisposeAsync()
        {
            NpgsqlConnection.ClearAllPools();
            await using var admin = NpgsqlDataSource.Create(_adminConnectionString);
            await admin.CreateCommand("DROP DATABASE IF EXISTS " + _name + " WITH (FORCE);").ExecuteNonQueryAsync();
            await admin.CreateCommand("DROP ROLE IF EXISTS " + _name + ";").ExecuteNonQueryAsync();
        }
    }
}
