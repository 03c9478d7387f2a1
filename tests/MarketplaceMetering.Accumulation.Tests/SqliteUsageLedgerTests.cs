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
            command.CommandText = "UPDATE mm_schema SET version = 99, compatible_from = 98;";
            await command.ExecuteNonQueryAsync();
        }

        await using var newer = new SqliteUsageLedger(h.SqlitePath);
        var act = () => newer.InitializeAsync();

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("schema version 99").And.Contain("needs schema version 98").And.Contain(h.SqlitePath);
    }

    [Fact]
    public async Task Ledger_NewerSchemaThatThisVersionCanStillUse_UsedAsItIsAndNotDowngraded()
    {
        // A rolling upgrade: a newer instance has migrated the ledger with a change older code can live with.
        await using var h = await AccumulationHarness.StartAsync();
        await h.Ledger.InitializeAsync();
        await Sqlite(h.SqlitePath, $"UPDATE mm_schema SET version = {SqliteUsageLedger.SchemaVersion + 1}, compatible_from = {SqliteUsageLedger.SchemaVersion};");

        await using var older = new SqliteUsageLedger(h.SqlitePath);
        await older.AddAsync([new UsageDelta(Guid.NewGuid(), "plan", "calls", h.HourAgo(1), 2m)], h.Clock.GetUtcNow(), CancellationToken.None);

        (await older.GetEntriesAsync(h.From, h.To)).Should().ContainSingle().Which.Quantity.Should().Be(2m);
        (await Sqlite(h.SqlitePath, "SELECT version || '/' || compatible_from FROM mm_schema;")).Should().Be($"{SqliteUsageLedger.SchemaVersion + 1}/{SqliteUsageLedger.SchemaVersion}");
    }

    private static async Task<object?> Sqlite(string path, string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + path + ";Pooling=False");
        await connection.OpenAsync();
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    [SkippableFact]
    public async Task RecordAsync_LedgerFileDeletedWhileRunning_FailsNamingThePathInsteadOfCommittingToTheDeletedFile()
    {
        // Linux and macOS let a file that is open be deleted (Windows refuses); a cleanup job or a volume swap can do it.
        Skip.If(OperatingSystem.IsWindows(), "an open file cannot be deleted on Windows");
        await using var h = await AccumulationHarness.StartAsync();
        var resource = Guid.Parse("2c4e6a8b-1d3f-4a5b-9c7d-8e0f1a2b3c4d");
        await h.Recorder.RecordAsync(resource, "plan", "calls", 1m);
        foreach (var file in Directory.GetFiles(h.Folder))
        {
            File.Delete(file);
        }

        var act = () => h.Recorder.RecordAsync(resource, "plan", "calls", 2m);

        // RecordAsync promises that what it returned for is durable: a commit into a file no path reaches is not.
        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain(h.SqlitePath);
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

    [Fact]
    public async Task InitializeAsync_LedgerAtSchemaVersion1_MigratedKeepingItsRows()
    {
        // A ledger file written by schema version 1, as that version created it (frozen here on purpose).
        var path = Path.Combine(Directory.CreateTempSubdirectory("mm-v1-").FullName, "usage.db");
        var hour = new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);
        var eventId = Guid.NewGuid();
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + path + ";Pooling=False"))
        {
            await connection.OpenAsync();
            var command = connection.CreateCommand();
            command.CommandText = Version1 + """

                CREATE TABLE mm_schema (version INTEGER NOT NULL);
                INSERT INTO mm_schema (version) VALUES (1);
                INSERT INTO mm_usage (resource, resource_is_uri, plan_id, dimension, hour, quantity, state, usage_event_id, attempts, created_at, updated_at, completed_at)
                VALUES ('3f1c2b4a-0d5e-4b6f-8a7c-9e0d1f2a3b4c', 0, 'plan', 'calls', $hour, '2.5', $state, $event, 1, $hour, $hour, $hour);
                """;
            command.Parameters.AddWithValue("$hour", hour.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$state", (int)UsageLedgerState.Accepted);
            command.Parameters.AddWithValue("$event", eventId.ToString("D"));
            await command.ExecuteNonQueryAsync();
        }

        await using var ledger = new SqliteUsageLedger(path);
        var rows = await ledger.GetEntriesAsync(hour, hour.AddHours(1));

        var row = rows.Should().ContainSingle().Subject;
        (row.Quantity, row.State, row.UsageEventId, row.ResourceUsageId).Should().Be((2.5m, UsageLedgerState.Accepted, (Guid?)eventId, (Guid?)null));
        await using var check = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + path + ";Pooling=False");
        await check.OpenAsync();
        var version = check.CreateCommand();
        version.CommandText = "SELECT version FROM mm_schema;";
        Convert.ToInt32(await version.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture).Should().Be(SqliteUsageLedger.SchemaVersion).And.Be(2);
    }

    private const string Version1 = """
        CREATE TABLE mm_usage (
        id INTEGER PRIMARY KEY,
        resource TEXT NOT NULL COLLATE NOCASE,
        resource_is_uri INTEGER NOT NULL,
        plan_id TEXT NOT NULL COLLATE NOCASE,
        dimension TEXT NOT NULL COLLATE NOCASE,
        hour INTEGER NOT NULL,
        quantity TEXT NOT NULL,
        state INTEGER NOT NULL,
        usage_event_id TEXT NULL,
        detail TEXT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        claim_owner TEXT NULL,
        claim_id TEXT NULL,
        lease_until INTEGER NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        submitted_at INTEGER NULL,
        completed_at INTEGER NULL,
        UNIQUE (resource, plan_id, dimension, hour)
        );
        CREATE INDEX mm_usage_state_hour ON mm_usage (state, hour);
        CREATE INDEX mm_usage_hour ON mm_usage (hour);
        CREATE TABLE mm_carry_forward (
        id INTEGER PRIMARY KEY,
        resource TEXT NOT NULL,
        resource_is_uri INTEGER NOT NULL,
        plan_id TEXT NOT NULL,
        dimension TEXT NOT NULL,
        from_hour INTEGER NOT NULL,
        into_hour INTEGER NOT NULL,
        quantity TEXT NOT NULL,
        recorded_at INTEGER NOT NULL
        );
        CREATE INDEX mm_carry_forward_from ON mm_carry_forward (from_hour);
        """;

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
