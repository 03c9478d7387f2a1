namespace MarketplaceMetering;

/// <summary>Which ledger <c>AddMarketplaceMeteringAccumulation</c> registers.</summary>
public enum UsageLedgerKind
{
    /// <summary>A <see cref="SqliteUsageLedger"/>: one file; the connection string is its path.</summary>
    Sqlite = 0,

    /// <summary>A <c>PostgreSqlUsageLedger</c> from MarketplaceMetering.Accumulation.PostgreSql (call <c>UsePostgreSqlLedger()</c> on the builder); the connection string is an Npgsql one.</summary>
    PostgreSql = 1,
}
