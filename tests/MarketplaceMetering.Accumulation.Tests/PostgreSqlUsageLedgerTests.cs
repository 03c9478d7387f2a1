using Npgsql;

namespace MarketplaceMetering.Accumulation.Tests;

public sealed class PostgreSqlUsageLedgerTests : IAsyncLifetime
{
    private static readonly Guid Resource = Guid.Parse("5d0c1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f");
    private readonly List<string> _schemas = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var schema in _schemas)
        {
            await PostgresServer.DropAsync(schema);
        }
    }

    [SkippableFact]
    public async Task Record_DimensionTooLongForTheLedgersIndex_RefusedAtOnceAndOtherUsageStillWritten()
    {
        var ledger = PostgresServer.NewLedger(out var schema);
        _schemas.Add(schema);
        await using var _ = ledger;
        await using var recorder = new UsageRecorder(ledger, new UsageAccumulationOptions { DurabilityInterval = TimeSpan.FromHours(1) });
        var random = new Random(3);
        var longDimension = new string(Enumerable.Range(0, 4000).Select(_ => (char)random.Next('a', 'z' + 1)).ToArray());

        recorder.Record(Resource, "plan", "calls", 1m);
        var act = () => recorder.Record(Resource, "plan", longDimension, 1m);

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("dimension");
        await recorder.SaveAsync();
        (await ledger.GetEntriesAsync(DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue)).Should().ContainSingle().Which.Quantity.Should().Be(1m);
    }

    [SkippableFact]
    public async Task InitializeAsync_EightInstancesAtOnce_OneSchemaAtTheCurrentVersion()
    {
        var schema = NewSchema();
        var ledgers = Enumerable.Range(0, 8).Select(_ => new PostgreSqlUsageLedger(PostgresServer.ConnectionString(), schema)).ToList();

        await Task.WhenAll(ledgers.Select(l => Task.Run(() => l.InitializeAsync())));

        (await ScalarAsync($"SELECT string_agg(version::text, ',') FROM {schema}.schema_version;")).Should().Be(PostgreSqlUsageLedger.SchemaVersion.ToString());
        foreach (var ledger in ledgers)
        {
            await ledger.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task InitializeAsync_SchemaFromANewerVersion_RefusedWithAClearMessage()
    {
        var schema = NewSchema();
        await using (var ledger = new PostgreSqlUsageLedger(PostgresServer.ConnectionString(), schema))
        {
            await ledger.InitializeAsync();
        }

        await ScalarAsync($"UPDATE {schema}.schema_version SET version = 42, compatible_from = 41;");
        await using var newer = new PostgreSqlUsageLedger(PostgresServer.ConnectionString(), schema);

        var act = () => newer.InitializeAsync();

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("schema version 42").And.Contain("needs schema version 41").And.Contain(schema);
    }

    [SkippableFact]
    public async Task InitializeAsync_NewerSchemaThatThisVersionCanStillUse_UsedAsItIsAndNotDowngraded()
    {
        // A rolling upgrade: a newer instance has migrated the ledger with a change older code can live with.
        var schema = NewSchema();
        await using (var ledger = new PostgreSqlUsageLedger(PostgresServer.ConnectionString(), schema))
        {
            await ledger.InitializeAsync();
        }

        var known = PostgreSqlUsageLedger.SchemaVersion;
        await ScalarAsync($"UPDATE {schema}.schema_version SET version = {known + 1}, compatible_from = {known};");
        await using var older = new PostgreSqlUsageLedger(PostgresServer.ConnectionString(), schema);
        var hour = new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);

        await older.AddAsync([new UsageDelta(Resource, "plan", "calls", hour, 2m)], hour.AddHours(1), CancellationToken.None);

        (await older.GetEntriesAsync(hour, hour.AddHours(1))).Should().ContainSingle().Which.Quantity.Should().Be(2m);
        (await ScalarAsync($"SELECT version || '/' || compatible_from FROM {schema}.schema_version;")).Should().Be($"{known + 1}/{known}");
    }

    [SkippableFact]
    public async Task RecordAsync_FourInstancesIntoTheSameRows_SumsExactly()
    {
        var schema = NewSchema();
        var clock = new MarketplaceMetering.Testing.TestClock();
        var recorders = Enumerable.Range(0, 4)
            .Select(_ => new UsageRecorder(new PostgreSqlUsageLedger(PostgresServer.ConnectionString(), schema), new UsageAccumulationOptions { TimeProvider = clock }))
            .ToList();

        await Task.WhenAll(recorders.Select(r => Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await r.RecordAsync(Resource, "plan", i % 2 == 0 ? "calls" : "CALLS", 0.1m);
                r.Record(Resource, "Plan", "bytes", 0.01m);
            }

            await r.SaveAsync();
        })));

        var rows = await recorders[0].Ledger.GetEntriesAsync(DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue);
        rows.Select(r => (r.Dimension.ToUpperInvariant(), r.Quantity)).Should().BeEquivalentTo([("CALLS", 40.0m), ("BYTES", 4.00m)]);
        foreach (var recorder in recorders)
        {
            await recorder.DisposeAsync();
            await recorder.Ledger.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task Save_SumTheRowCannotHoldAsADecimal_MovedToALaterHourAndReadableNotFailed()
    {
        // numeric holds any sum, but the library reads rows as decimal: a row past decimal.MaxValue could not be read.
        var ledger = PostgresServer.NewLedger(out var schema);
        _schemas.Add(schema);
        await using var h = await AccumulationHarness.StartAsync(ledger: ledger);
        await h.Recorder.RecordAsync(Resource, "plan", "calls", decimal.MaxValue - 1m, h.HourAgo(1));
        await h.Recorder.RecordAsync(Resource, "plan", "calls", 2m, h.HourAgo(1));

        var rows = await h.EntriesAsync();
        rows.Select(r => (r.Hour, r.Quantity)).Should().Equal((h.HourAgo(1), decimal.MaxValue - 1m), (h.HourAgo(0), 2m));
        (await h.Flusher.FlushAsync()).Failed.Should().Be(0);
    }

    [SkippableFact]
    public async Task Record_DimensionWithANulCharacter_RefusedSoEveryOtherMeterStillSaves()
    {
        // PostgreSQL text cannot hold NUL: had it reached a save, that save and every later one would fail, for every meter.
        var ledger = PostgresServer.NewLedger(out var schema);
        _schemas.Add(schema);
        await using var h = await AccumulationHarness.StartAsync(ledger: ledger);

        var act = () => h.Recorder.Record(Resource, "plan", "calls\0", 1m);

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("dimension");
        h.Recorder.Record(Resource, "plan", "calls", 2m);
        await h.Recorder.SaveAsync();
        (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(2m);
    }

    [SkippableFact]
    public void Constructor_MalformedConnectionString_NamesTheProblemButNotThePassword()
    {
        PostgresServer.ConnectionString();

        var act = () => new PostgreSqlUsageLedger("Host=127.0.0.1;Password=hunter2-secret;Bogus Keyword=1");

        var error = act.Should().Throw<ArgumentException>().Which;
        error.ParamName.Should().Be("connectionString");
        error.ToString().Should().NotContain("hunter2-secret");
    }

    [SkippableFact]
    public async Task RecordAsync_ServerUnreachable_FailsClearlyWithoutThePassword()
    {
        PostgresServer.ConnectionString();
        await using var ledger = new PostgreSqlUsageLedger("Host=127.0.0.1;Port=1;Username=mm;Password=hunter2-secret;Timeout=2");
        await using var recorder = new UsageRecorder(ledger);

        var act = () => recorder.RecordAsync(Resource, "plan", "calls", 1m);

        var error = (await act.Should().ThrowAsync<InvalidOperationException>()).Which;
        error.Message.Should().Contain("Cannot open the PostgreSQL usage ledger");
        error.ToString().Should().NotContain("hunter2-secret");
    }

    [Fact]
    public void Constructor_SchemaNameThatIsNotAPlainIdentifier_Refused()
    {
        var act = () => new PostgreSqlUsageLedger("Host=127.0.0.1", "x; DROP TABLE y");

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("schema");
    }

    [SkippableFact]
    public async Task InitializeAsync_LedgerAtSchemaVersion1_MigratedKeepingItsRows()
    {
        // A ledger written by schema version 1, as that version created it (frozen here on purpose).
        var schema = NewSchema();
        var hour = new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);
        var eventId = Guid.NewGuid();
        await ScalarAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, "CREATE SCHEMA {0}; CREATE TABLE {0}.schema_version (version integer NOT NULL); INSERT INTO {0}.schema_version VALUES (1);" + Version1, schema));
        await ScalarAsync(
            $"INSERT INTO {schema}.usage (resource, resource_is_uri, plan_id, dimension, hour, quantity, state, usage_event_id, attempts, created_at, updated_at, completed_at) " +
            $"VALUES ('{Resource:D}', false, 'plan', 'calls', '{hour:O}', 2.5, {(int)UsageLedgerState.Accepted}, '{eventId:D}', 1, '{hour:O}', '{hour:O}', '{hour:O}');");

        await using var ledger = new PostgreSqlUsageLedger(PostgresServer.ConnectionString(), schema);
        var rows = await ledger.GetEntriesAsync(hour, hour.AddHours(1));

        var row = rows.Should().ContainSingle().Subject;
        (row.Quantity, row.State, row.UsageEventId, row.ResourceUsageId).Should().Be((2.5m, UsageLedgerState.Accepted, (Guid?)eventId, (Guid?)null));
        (await ScalarAsync($"SELECT string_agg(version::text, ',') FROM {schema}.schema_version;")).Should().Be("2").And.Be(PostgreSqlUsageLedger.SchemaVersion.ToString());
    }

    [SkippableFact]
    public async Task GetEntriesAsync_RoleThatMayOnlyRead_ReadsACurrentLedger()
    {
        // An operator reconciling with read-only credentials: nothing is created, migrated or locked for a current ledger.
        var schema = NewSchema();
        var hour = new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);
        await using (var owner = new PostgreSqlUsageLedger(PostgresServer.ConnectionString(), schema))
        {
            await owner.AddAsync([new UsageDelta(Resource, "plan", "calls", hour, 2m)], hour.AddHours(1), CancellationToken.None);
        }

        var role = "mm_reader_" + Guid.NewGuid().ToString("N")[..8];
        await ScalarAsync($"CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA {schema} TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role};");
        try
        {
            var readOnly = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString()) { Username = role, Pooling = false }.ConnectionString;
            await using var reader = new PostgreSqlUsageLedger(readOnly, schema);

            var rows = await reader.GetEntriesAsync(hour, hour.AddHours(1));

            rows.Should().ContainSingle().Which.Quantity.Should().Be(2m);
            await reader.Invoking(r => r.AddAsync([new UsageDelta(Resource, "plan", "calls", hour, 1m)], hour.AddHours(1), CancellationToken.None))
                .Should().ThrowAsync<Exception>("the role may not write, and the ledger does not pretend it can");
        }
        finally
        {
            await ScalarAsync($"DROP OWNED BY {role}; DROP ROLE {role};");
        }
    }

    private const string Version1 = """
        CREATE TABLE {0}.usage (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        resource text NOT NULL,
        resource_is_uri boolean NOT NULL,
        plan_id text NOT NULL,
        dimension text NOT NULL,
        hour timestamptz NOT NULL,
        quantity numeric NOT NULL,
        state smallint NOT NULL,
        usage_event_id uuid NULL,
        detail text NULL,
        attempts integer NOT NULL DEFAULT 0,
        claim_owner text NULL,
        claim_id uuid NULL,
        lease_until timestamptz NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        submitted_at timestamptz NULL,
        completed_at timestamptz NULL
        );
        CREATE UNIQUE INDEX usage_key ON {0}.usage (lower(resource), lower(plan_id), lower(dimension), hour);
        CREATE INDEX usage_state_hour ON {0}.usage (state, hour);
        CREATE INDEX usage_hour ON {0}.usage (hour);
        CREATE TABLE {0}.carry_forward (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        resource text NOT NULL,
        resource_is_uri boolean NOT NULL,
        plan_id text NOT NULL,
        dimension text NOT NULL,
        from_hour timestamptz NOT NULL,
        into_hour timestamptz NOT NULL,
        quantity numeric NOT NULL,
        recorded_at timestamptz NOT NULL
        );
        CREATE INDEX carry_forward_from ON {0}.carry_forward (from_hour);
        """;

    private string NewSchema()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        _schemas.Add(schema);
        return schema;
    }

    private static async Task<object?> ScalarAsync(string sql)
    {
        await using var source = NpgsqlDataSource.Create(PostgresServer.ConnectionString());
        await using var command = source.CreateCommand(sql);
        return await command.ExecuteScalarAsync();
    }
}
