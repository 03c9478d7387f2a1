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

        await ScalarAsync($"UPDATE {schema}.schema_version SET version = 42;");
        await using var newer = new PostgreSqlUsageLedger(PostgresServer.ConnectionString(), schema);

        var act = () => newer.InitializeAsync();

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("schema version 42").And.Contain(schema);
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
