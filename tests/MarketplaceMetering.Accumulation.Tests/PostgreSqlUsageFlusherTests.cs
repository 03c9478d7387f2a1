namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>Every flusher test of <see cref="UsageFlusherTests"/>, over a PostgreSQL ledger (a schema per test).</summary>
[Collection(AccumulationTelemetryGroup.Name)]
public sealed class PostgreSqlUsageFlusherTests : UsageFlusherTests, IAsyncLifetime
{
    private readonly List<string> _schemas = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var schema in _schemas)
        {
            await PostgresServer.DropAsync(schema);
        }
    }

    private protected override Task<AccumulationHarness> StartAsync(Action<UsageAccumulationOptions>? configure = null)
    {
        var ledger = PostgresServer.NewLedger(out var schema);
        _schemas.Add(schema);
        return AccumulationHarness.StartAsync(configure, ledger: ledger);
    }

    private protected override UsageLedger OpenAgain(AccumulationHarness h) => new PostgreSqlUsageLedger(PostgresServer.ConnectionString(), ((PostgreSqlUsageLedger)h.Ledger).Schema);
}
