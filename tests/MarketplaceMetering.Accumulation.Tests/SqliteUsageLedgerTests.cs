namespace MarketplaceMetering.Accumulation.Tests;

public sealed class SqliteUsageLedgerTests
{
    [Fact]
    public async Task Ledger_SchemaFromANewerVersion_RefusedWithAClearMessage()
    {
        await using var h = await AccumulationHarness.StartAsync();
        await h.Ledger.InitializeAsync();
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + h.SqlitePath))
        {
            await connection.OpenAsync();
            var command = connection.CreateCommand();
            command.CommandText = "UPDATE mm_schema SET version = 99;";
            await command.ExecuteNonQueryAsync();
        }

        await using var newer = new SqliteUsageLedger(h.SqlitePath);
        var act = () => newer.InitializeAsync();

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("schema version 99").And.Contain(h.SqlitePath);
    }

    [Fact]
    public async Task InitializeAsync_ManyCallersAtOnce_TheWorkRunsOnce()
    {
        await using var ledger = new CountingLedger(Path.Combine(Directory.CreateTempSubdirectory("mm-init-").FullName, "usage.db"));

        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => ledger.InitializeAsync())));
        await ledger.InitializeAsync();

        ledger.Runs.Should().Be(1);
    }

    [Fact]
    public async Task InitializeAsync_FirstAttemptFails_TheNextCallTriesAgain()
    {
        await using var ledger = new CountingLedger(Path.Combine(Directory.CreateTempSubdirectory("mm-init-").FullName, "usage.db")) { FailuresLeft = 1 };

        await ledger.Invoking(l => l.InitializeAsync()).Should().ThrowAsync<IOException>();
        await ledger.InitializeAsync();
        await ledger.InitializeAsync();

        ledger.Runs.Should().Be(2, "the failed run is not remembered as done, and the successful one is");
    }

    /// <summary>A ledger whose initialization counts its runs and can fail first, as a locked file or a lost connection would.</summary>
    private sealed class CountingLedger(string path) : MarketplaceMetering.Testing.DelegatingUsageLedger(path)
    {
        private int _runs;

        public int Runs => Volatile.Read(ref _runs);

        public int FailuresLeft { get; set; }

        protected override async Task InitializeCoreAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _runs);
            await Task.Delay(20, cancellationToken); // long enough for the other callers to arrive
            if (FailuresLeft-- > 0)
            {
                throw new IOException("The ledger file is locked.");
            }

            await base.InitializeCoreAsync(cancellationToken);
        }
    }
}
