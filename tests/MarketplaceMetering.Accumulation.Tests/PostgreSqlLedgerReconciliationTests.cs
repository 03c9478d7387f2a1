using MarketplaceMetering.Emulator;
using MarketplaceMetering.Testing;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>Every test of <see cref="LedgerReconciliationTests"/>, over a PostgreSQL ledger (a schema per test).</summary>
public sealed class PostgreSqlLedgerReconciliationTests : LedgerReconciliationTests, IAsyncLifetime
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

    private protected override Task<AccumulationHarness> StartAsync(TestClock? clock = null, Action<MeteringEmulatorOptions>? emulatorOptions = null)
    {
        var ledger = PostgresServer.NewLedger(out var schema);
        _schemas.Add(schema);
        return AccumulationHarness.StartAsync(clock: clock, ledger: ledger, emulatorOptions: emulatorOptions);
    }
}
